#!/usr/bin/env bash
# Local stack without Docker: PostgreSQL and Redis from Debian packages, Apache Kafka (KRaft) from
# its Maven Central jars. Idempotent: `up` twice changes nothing the second time. Each variant
# lives in its own file under scripts/stack/ and on its own ports:
#   single.sh   the single-node stack of contract §7 (5432, 6379, 9092) and optional Jaeger
#   secure.sh   TLS/SASL-only engines for contract §9 (5443, 6380, 19093/19095), with --secure
#   cluster.sh  the clustered engines of contract §10 (Kafka 29092–29097, Redis Cluster 7000–7005,
#               PostgreSQL replica 5433), with --cluster
#
#   scripts/stack.sh up | down | status [--secure | --cluster]
#   scripts/stack.sh down --cluster --purge   (also deletes the clusters' data and the replica's slot)
#   scripts/stack.sh start|stop SERVICE   (outage tests and drills use these; SERVICE as listed
#                                          by `scripts/stack.sh services`)
#   scripts/stack.sh kill SERVICE         (SIGKILL, a crash, for the clustered services)
#
# State (pids, logs, Kafka data) lives in .stack/ inside the checkout (git-ignored); the Kafka jars
# and the Jaeger binary are cached outside it in $ORDERS_CACHE (default ~/.cache/order-pipeline)
# so fresh clones and CI reuse them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${STACK_STATE:-$ROOT/.stack}"
CACHE="${ORDERS_CACHE:-$HOME/.cache/order-pipeline}"
JARS="$CACHE/kafka-jars"
LOGS="$STATE/logs"
PARTITIONS="${STACK_PARTITIONS:-6}"
TOPICS=(orders orders.retry orders.dlq)
PG_VERSION=""
mkdir -p "$STATE" "$LOGS" "$CACHE"

# shellcheck source=scripts/stack/common.sh
source "$ROOT/scripts/stack/common.sh"
# shellcheck source=scripts/stack/single.sh
source "$ROOT/scripts/stack/single.sh"
# shellcheck source=scripts/stack/secure.sh
source "$ROOT/scripts/stack/secure.sh"
# shellcheck source=scripts/stack/cluster.sh
source "$ROOT/scripts/stack/cluster.sh"

# Services `start`/`stop` accept; each has <name>_start and <name>_stop functions (a name with
# dashes maps to underscores).
SERVICES=(postgres redis kafka jaeger postgres-secure redis-secure kafka-secure "${CLUSTER_SERVICES[@]}")

usage() {
  echo "usage: $0 up|down|status [--secure|--cluster] | down --cluster --purge | services | start|stop|kill SERVICE" >&2
  exit 2
}

service_fn() { # service action → function name
  local svc
  for svc in "${SERVICES[@]}"; do
    [ "$svc" = "$1" ] && { echo "${1//-/_}_$2"; return 0; }
  done
  die "unknown service '$1' (one of: ${SERVICES[*]})"
}

variant() { # flag → the prefix of that variant's up/down/status functions
  case "${1:-}" in
    "") echo single ;;
    --secure) echo secure ;;
    --cluster) echo cluster ;;
    *) usage ;;
  esac
}

case "${1:-}" in
  up | down)
    prefix="$(variant "${2:-}")"
    "${prefix}_$1" "${@:3}" ;;
  status)
    prefix="$(variant "${2:-}")"
    rc=0; "${prefix}_status" || rc=1
    # Clustered nodes that run show in the plain status too.
    if [ "$prefix" = single ] && cluster_running; then cluster_engines_status || rc=1; fi
    exit $rc ;;
  services) printf '%s\n' "${SERVICES[@]}" ;;
  start | stop | kill)
    [ -n "${2:-}" ] || usage
    fn="$(service_fn "$2" "$1")"
    declare -F "$fn" >/dev/null || die "'$1' does not apply to $2"
    "$fn" ;;
  *) usage ;;
esac
