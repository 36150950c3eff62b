#!/usr/bin/env bash
# Where query-api's CPU goes: flame graphs of the read path under wrk load, with Debian's `perf`
# (DWARF call graphs from the release build's line tables) rendered by inferno.
#
#   bench/flame.sh [OUT_DIR]     default OUT_DIR: docs/flamegraphs
#
#   deployed.svg   cache hits as shipped (RUST_LOG=info, LOG_FORMAT=json, near cache on),
#                  random picks — the path bench/http.sh's `deployed` pair measures
#   miss.svg       an order in neither cache (near cache off, Redis entries living 1 s, a scan
#                  over every uid) — the path bench/miss.sh measures
# Also prints each run's top functions by own time; FLAME_FOLDED=1 also keeps the folded stacks
# (OUT_DIR/<name>.folded, one line per stack) for grepping. Needs the local stack, wrk and perf (the
# Debian package `linux-perf`, installed when missing and running as root) and
# kernel.perf_event_paranoid <= 1 for a process you own. Not part of `make bench`: a profile
# is for reading, not a figure with a target.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/wrk.sh
source "$(dirname "${BASH_SOURCE[0]}")/wrk.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"
OUT="${1:-$ROOT/docs/flamegraphs}"
COUNT=20000
THREADS=2
CONNECTIONS=16
DURATION=12s
PROFILE_SECS=6

need_tools wrk
command -v perf >/dev/null || { [[ $(id -u) -eq 0 ]] && apt_get_install linux-perf; }
INFERNO="$(inferno_dir)"
mkdir -p "$OUT"

bench_workspace
seed_orders "$COUNT"
export WRK_UIDS="$WORK/uids.txt" WRK_THREADS="$THREADS"

profile() { # name pattern extra-env...: wrk load on a fresh instance, perf on it, an SVG
  local name="$1" pattern="$2"; shift 2
  PREFIX="${PREFIX%%:*}:$name:"
  start_api "$name" "$@"
  "$TARGET_DIR/release/examples/bench_seed" warm --url "$LAST_URL" --uids "$WORK/uids.txt"
  WRK_PATTERN="$pattern" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$ROOT/bench/http.lua" "$LAST_URL" \
    >"$WORK/wrk-$name.txt" &
  local load=$!
  sleep 2 # past wrk's connection set-up, into the steady state
  log "$name: perf record for ${PROFILE_SECS}s"
  perf record -q -F 299 --call-graph dwarf,16384 -p "$LAST_PID" -o "$WORK/$name.data" -- sleep "$PROFILE_SECS" 2>/dev/null
  wait "$load"
  log "$name: $(grep '^WRK' "$WORK/wrk-$name.txt")"
  perf script -i "$WORK/$name.data" 2>/dev/null | "$INFERNO/inferno-collapse-perf" >"$WORK/$name.folded"
  "$INFERNO/inferno-flamegraph" --minwidth 1 --title "query-api: $name (wrk -c$CONNECTIONS, $pattern)" \
    <"$WORK/$name.folded" >"$OUT/$name.svg"
  [[ "${FLAME_FOLDED:-0}" != 1 ]] || cp "$WORK/$name.folded" "$OUT/$name.folded"
  printf '\n== %s: top functions by own time (%s)\n' "$name" "$OUT/$name.svg"
  perf report -i "$WORK/$name.data" --no-children --sort dso,symbol -g none --percent-limit 1.5 2>/dev/null |
    grep -v '^#' | grep -v '^$' | cut -c1-110 | head -20
  kill "$LAST_PID"
}

# FLAME_ONLY=deployed or FLAME_ONLY=miss profiles that one path only.
if [[ "${FLAME_ONLY:-deployed}" == deployed ]]; then
  profile deployed random RUST_LOG=info LOG_FORMAT=json
fi
if [[ "${FLAME_ONLY:-miss}" == miss ]]; then
  profile miss scan NEAR_CACHE_ENTRIES=0 ORDER_CACHE_TTL_SECS=1
fi
PREFIX="${PREFIX%%:*}:"
