#!/usr/bin/env bash
# The measured inputs of docs/SCALING.md (bench/capacity.py): CPU time per order and per read of
# every process, and the bytes an order takes in Kafka, PostgreSQL and Redis. Run it on a quiet
# machine (nothing else building or benchmarking); it prints JSON, --json FILE keeps it.
#
#   bench/capacity.sh [--quick] [--orders N] [--json FILE] [--no-build]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

build=1
args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) args+=("$arg") ;;
  esac
done
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
  echo "[capacity] installing wrk" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
scripts/stack.sh up
if [ "$build" = 1 ]; then
  ensure_build_tools
  cargo build --release -q --bins
fi
exec python3 bench/capacity.py "${args[@]}"
