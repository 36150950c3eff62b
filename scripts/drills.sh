#!/usr/bin/env bash
# Reliability drills (docs/DRILLS.md): kill, clean stop, PostgreSQL/Redis/Kafka outages, scaling,
# DLQ replay, plus a robustness probe and schemathesis against query-api. Each drill runs its own
# pipeline (database, topics, group, Redis prefix, ports) on the local stack and checks that no
# order was lost, stored twice or dead-lettered wrongly.
#
#   scripts/drills.sh [--quick] [--only NAME,...] [--keep] [--list] [--no-build]
#
# Results: a table on stdout, .stack/drills/results.json, logs in .stack/drills/<run>/;
# exit code 1 when any check failed. Services a drill stops are always started again (also by
# the trap below if the runner itself dies).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh
# The runner is the package scripts/drills, next to the layer it shares with bench/ (scripts/pipelinekit).
export PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1

build=1
args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help | --list) exec python3 -m drills "$arg" ;;
    *) args+=("$arg") ;;
  esac
done

restore_stack() {
  local marker svc
  for marker in .stack/drills/stopped.*; do
    [ -e "$marker" ] || continue
    svc="${marker##*.}"
    echo "[drills] restarting $svc (stopped by a drill)" >&2
    scripts/stack.sh start "$svc" && rm -f "$marker"
  done
}
trap restore_stack EXIT

ensure_build_tools
scripts/stack.sh up
if [ "$build" = 1 ]; then
  echo "[drills] cargo build --release --bins" >&2
  cargo build --release --bins
fi
python3 -m drills "${args[@]}"
