# Sourced by the project's scripts: one place for the cache folder outside the clone (cargo's
# target folder, Kafka jars, tool venvs) so fresh clones and CI reuse builds.
# shellcheck shell=bash
export ORDERS_CACHE="${ORDERS_CACHE:-$HOME/.cache/order-pipeline}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ORDERS_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# No incremental compilation data: it grew to tens of GB in the shared target folder (one copy per
# source tree and profile) and filled the disk; clean builds of the workspace crates are cheap.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
mkdir -p "$ORDERS_CACHE"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
# PostgreSQL's client tools (psql, pgbench, pg_isready) from the newest server version's folder
# rather than through Debian's pg_wrapper: the wrapper reads every local cluster's configuration
# first and fails ("Invalid data directory for cluster 15 replica") while the clustered stack is
# still copying its replica, which happens next to the secure stack's checks in scripts/test.sh.
# Called again once the stack has installed PostgreSQL on a fresh machine.
use_pg_client_tools() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$bin" ] || return 0
  case ":$PATH:" in *":$bin:"*) ;; *) export PATH="$bin:$PATH" ;; esac
}
use_pg_client_tools
# Build tools librdkafka's bundled build needs (present on this kind of machine; installed if not):
# a C toolchain, and OpenSSL's headers, which its TLS and SASL (SCRAM, PLAIN) support links to.
ensure_build_tools() {
  local missing=()
  for tool in cc make perl pkg-config; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl || missing+=("libssl-dev")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "[env] installing build tools (${missing[*]})" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      apt-get install -y -qq build-essential perl pkg-config libssl-dev >/dev/null
  fi
}
