# Shared by bench/http.sh and bench/miss.sh (sourced, not run): query-api instances on free ports,
# wrk runs through bench/http.lua with the server's own CPU time per request, medians of rounds.
# QUERY_API_BIN runs another query-api build (e.g. a copy from before a change, for an A/B run).
# The caller sets COUNT and CONNECTIONS and calls wrk_args; bench_workspace and seed_orders set the
# rest.
# shellcheck shell=bash disable=SC2034 # the variables set here are read by the sourcing script

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=10s
ROUNDS=5 # odd: the median is a measured round
THREADS=2
wrk_args() { # target-group help-end quick-count "$@": bench_args, --quick's shorter runs of fewer
  # orders, and the group's TARGET_* variables
  local group="$1" help_end="$2" quick_count="$3"; shift 3
  bench_args "$help_end" "$@"
  if [ "$QUICK" = 1 ]; then COUNT="$quick_count"; DURATION=3s; ROUNDS=1; fi
  eval "$(kit targets --shell "$group")"
}

bench_workspace() { # WORK, a unique Redis key PREFIX, PIDS to stop and DB_NAME to drop on exit
  WORK="$(mktemp -d)"
  PREFIX="bench_$(date +%s)_$$:"
  PIDS=()
  DB_NAME=""
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  kit scratch drop ${DB_NAME:+--db "$DB_NAME"} --prefix "$PREFIX" || true
  rm -rf "$WORK"
}

seed_orders() { # count: sets DB_NAME, API_DB_URL, API_KEY, API_KEYS_FILE; $WORK/uids.txt, $WORK/www
  log "building query-api and the bench helper (release)"
  (cd "$ROOT" && cargo build --release -q -p query-api --bin query-api --example bench_seed)

  log "storing $1 synthetic orders in a fresh database"
  # The seeded database's URL goes to query-api only: DATABASE_URL itself stays the server's admin
  # URL, the one `kit` connects to when it drops that database.
  local seeded
  seeded="$("$TARGET_DIR/release/examples/bench_seed" seed --count "$1" --dir "$WORK")"
  DB_NAME="$(sed -n 's/^DB_NAME=//p' <<<"$seeded")"
  API_DB_URL="$(sed -n 's/^DATABASE_URL=//p' <<<"$seeded")"
  API_KEY="$(sed -n 's/^API_KEY=//p' <<<"$seeded")"
  API_KEYS_FILE="$(sed -n 's/^API_KEYS_FILE=//p' <<<"$seeded")"
  [[ -n "$DB_NAME" && -n "$API_DB_URL" ]] || { echo "bench_seed printed no database: $seeded" >&2; exit 1; }
}

need_tools() { # tool...: installed from Debian packages when missing and running as root
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null && [[ ! -x /usr/sbin/$tool ]]; then
      if [[ $(id -u) -eq 0 ]]; then
        log "installing $tool"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
      else
        echo "$tool is missing (apt-get install $tool)" >&2; exit 1
      fi
    fi
  done
}

free_port() { kit free-port; }

wait_ready() { # url
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "query-api at $1 did not become ready" >&2; exit 1
}

start_api() { # name, extra env... (later settings win): sets LAST_PID, LAST_URL, LAST_ADMIN
  local name="$1" port admin; shift
  port="$(free_port)"; admin="$(free_port)"
  env HTTP_ADDR="127.0.0.1:$port" ADMIN_ADDR="127.0.0.1:$admin" DATABASE_URL="$API_DB_URL" \
    ORDER_CACHE_KEY_PREFIX="$PREFIX" ORDER_CACHE_TTL_SECS=900 RUST_LOG=warn AUTH_MODE=off "$@" \
    "${QUERY_API_BIN:-$TARGET_DIR/release/query-api}" >>"$WORK/query-api-$name.log" 2>&1 &
  PIDS+=($!)
  LAST_PID=$!
  LAST_URL="http://127.0.0.1:$port"
  LAST_ADMIN="http://127.0.0.1:$admin"
  wait_ready "$LAST_URL"
}

cpu_ticks() { # pids... -> utime+stime summed, in clock ticks
  local total=0 pid
  for pid in "$@"; do
    total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") ))
  done
  echo "$total"
}

run_wrk() { # name url server-pids...: appends "rps p50 p99 cpu_us_per_request" to $WORK/res_<name>
  # and the number of requests to $WORK/requests_<name>
  # WRK_PATTERN and WRK_API_KEY from the caller's environment choose the uids and the credential.
  local name=$1 url=$2 out before after
  shift 2
  before="$(cpu_ticks "$@")"
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$ROOT/bench/http.lua" "$url" | grep '^WRK ')"
  after="$(cpu_ticks "$@")"
  log "$name: ${out#WRK }"
  local errors non2xx requests
  errors="$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out")"
  non2xx="$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")"
  requests="$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out")"
  if [[ "$errors" != 0 || "$non2xx" != 0 ]]; then
    echo "$name: $errors socket errors, $non2xx non-2xx answers" >&2; exit 1
  fi
  # The server's own CPU time (user + system, all its threads) per answered request: the figure
  # least disturbed by whatever else shares the machine.
  local cpu_us
  cpu_us="$(awk -v t=$(( after - before )) -v hz="$(getconf CLK_TCK)" -v r="$requests" 'BEGIN {printf "%.1f", t * 1e6 / hz / r}')"
  echo "$(sed -E 's/.*rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+).*/\1 \2 \3/' <<<"$out") $cpu_us" >>"$WORK/res_$name"
  echo "$requests" >>"$WORK/requests_$name"
}

median() { # name column -> prints the median of that column over the rounds
  awk -v c="$2" '{print $c}' "$WORK/res_$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

paired_ratio() { # ours column reference column -> the median over the rounds of ours / reference,
  # each round's pair taken back to back: the machine's drift (other tenants' CPU, steal, the
  # disk's writeback) moves both sides of a round together, so the ratio varies far less than
  # either figure does from round to round.
  paste -d ' ' "$WORK/res_$1" "$WORK/res_$3" |
    awk -v a="$2" -v b="$(( $4 + $(head -1 "$WORK/res_$1" | wc -w) ))" '{print $a / $b}' |
    sort -g | awk '{v[NR] = $1} END {printf "%.2f", v[int((NR + 1) / 2)]}'
}

in_turn() { # round first second: runs `first` then `second`, the other way round in even rounds,
  # so neither side of a pair always runs on the machine the other one just warmed or disturbed
  if (( $1 % 2 )); then "$2"; "$3"; else "$3"; "$2"; fi
}

medians() { # name -> "rps p50 p99 cpu", each the median over the rounds
  echo "$(median "$1" 1) $(median "$1" 2) $(median "$1" 3) $(median "$1" 4)"
}
