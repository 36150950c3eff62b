# The clustered engines of contract §10, beside the single-node stack and on their own ports:
# a 3-node Kafka KRaft cluster, a 6-node Redis Cluster and a streaming PostgreSQL replica. Drills
# stop, start or SIGKILL one node at a time through the services listed in CLUSTER_SERVICES.
# Sourced by scripts/stack.sh after common.sh and single.sh.
# shellcheck shell=bash

CL="$STATE/cluster"  # every node's data, pid files and logs
CL_LOGS="$CL/logs"

# shellcheck source=scripts/stack/cluster-kafka.sh
source "$ROOT/scripts/stack/cluster-kafka.sh"
# shellcheck source=scripts/stack/cluster-redis.sh
source "$ROOT/scripts/stack/cluster-redis.sh"
# shellcheck source=scripts/stack/cluster-pg.sh
source "$ROOT/scripts/stack/cluster-pg.sh"

CLUSTER_SERVICES=(kafka-1 kafka-2 kafka-3)
for _p in "${REDIS_CLUSTER_PORTS[@]}"; do CLUSTER_SERVICES+=("redis-$_p"); done
CLUSTER_SERVICES+=(postgres-replica)
unset _p

# ---------------------------------------------------------------- helpers the three files share
cluster_dirs() { mkdir -p "$CL" "$CL_LOGS"; }

port_pid() { # port → pid of the process listening on it (empty if none)
  ss -Htlnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

node_pid() { # pidfile port → the node's pid: the listener wins, since another checkout may own it
  local pid; pid="$(port_pid "$2")"
  if [ -z "$pid" ] && [ -f "$1" ] && alive "$(cat "$1")"; then pid="$(cat "$1")"; fi
  echo "$pid"
}

alive() { # pid: running (a zombie waiting for init to reap it counts as gone)
  local s; s="$(ps -o stat= -p "$1" 2>/dev/null)"
  [ -n "$s" ] && [ "${s:0:1}" != Z ]
}

sigkill_node() { # name pidfile port: what a crash looks like to the rest of the cluster
  local pid; pid="$(node_pid "$2" "$3")"
  [ -n "$pid" ] || die "$1 is not running (nothing listens on $3)"
  log "SIGKILL $1 (pid $pid, port $3) at $(date +%T.%3N)"
  kill -9 "$pid"
  for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
  rm -f "$2"
}

term_node() { # name pidfile port seconds: clean stop, SIGKILL only if it hangs past the limit
  local pid; pid="$(node_pid "$2" "$3")"
  [ -n "$pid" ] || { rm -f "$2"; return 0; }
  kill "$pid" 2>/dev/null || true
  for _ in $(seq $(($4 * 10))); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    log "$1 did not stop within $4 s: SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$2"
}

wait_for() { # description seconds command...: polls the command every 0.5 s
  local what="$1" secs="$2" i; shift 2
  for ((i = 0; i < secs * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$what not reached within $secs s (logs: $CL_LOGS)"
}

# ---------------------------------------------------------------- the clustered stack as a whole
# `up --cluster` brings up the single-node stack too (the replica needs its primary, and the
# contract puts the clustered engines beside it); `down --cluster` stops only the clustered ones.
cluster_up() {
  single_up
  cluster_dirs
  local t0=$SECONDS t
  # The Kafka JVMs boot (the slow part) while Redis comes up. The base backup waits for Kafka's
  # first election: its fsyncs stall the quorum's own.
  kafka_cluster_launch
  t=$SECONDS; redis_cluster_up; log "Redis Cluster ready ($((SECONDS - t)) s)"
  kafka_cluster_ready; log "Kafka cluster ready ($((SECONDS - t0)) s after launch)"
  t=$SECONDS; postgres_replica_start; log "PostgreSQL replica streaming ($((SECONDS - t)) s)"
  log "cluster is up in $((SECONDS - t0)) s: KAFKA_BROKERS=$KAFKA_CLUSTER_BROKERS" \
    "REDIS_CLUSTER_URLS=$(redis_cluster_urls)" \
    "DATABASE_READ_URL=postgres://orders:orders@localhost:$PG_REPLICA_PORT/orders"
}

cluster_stop_all() {
  kafka_cluster_down
  redis_cluster_down
  postgres_replica_stop
}

cluster_down() { # [--purge]
  if [ "${1:-}" = --purge ]; then cluster_purge; return; fi
  cluster_stop_all
  log "clustered engines are down (data kept under $CL; the replication slot keeps WAL for the replica)"
}

cluster_purge() { # down, then forget everything: data, the replica's cluster and its slot
  cluster_stop_all
  cluster_dirs # pg_replica_purge logs there, even in a checkout that never brought the clusters up
  pg_replica_purge
  rm -rf "$CL"
  log "clustered engines removed (next up --cluster starts from scratch)"
}

cluster_running() { # any clustered node up?
  local p
  for p in "${KAFKA_CLUSTER_PORTS[@]}" "${REDIS_CLUSTER_PORTS[@]}" "$PG_REPLICA_PORT"; do
    port_open "$p" && return 0
  done
  return 1
}

cluster_status() { # the single-node stack, then the clustered engines
  local rc=0
  single_status || rc=1
  cluster_engines_status || rc=1
  return $rc
}

cluster_engines_status() {
  cluster_dirs
  local rc=0
  echo "-- clustered engines (scripts/stack.sh up --cluster)"
  kafka_cluster_status || rc=1
  redis_cluster_status || rc=1
  pg_replica_status || rc=1
  return $rc
}
