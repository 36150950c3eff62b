#!/usr/bin/env bash
# HTTP read throughput of query-api against nginx serving the same JSON bytes as static files.
#
#   bench/http.sh            10,000 orders, 3 rounds of 10 s wrk runs
#   bench/http.sh --quick    2,000 orders, 1 round of 3 s runs
#
# Needs the local stack (scripts/stack.sh up), wrk and nginx (Debian packages; installed when
# missing and running as root). Runs, each with wrk -t2 -c64 over all stored uids (random pick):
#   hot    query-api with warm caches (near cache in memory, Redis behind it)
#   nginx  nginx serving D/www/order/<uid> (sendfile, keep-alive, no access log)
#   redis  a second query-api with its near cache off: every read goes to Redis
#   miss   a third query-api with its near cache off and no Redis: every read is a PostgreSQL read
# then checks that two instances (and nginx) serve identical bytes for the same uids, and reads
# the peak RSS of the hot instance. Targets (req/s and p99 against nginx, peak RSS, identical
# bodies): bench.http.* in scripts/pipelinekit/targets.py. Prints a table and one `BENCH_JSON` line.
#
# All processes share the machine's cores with wrk (and whatever else runs), so absolute numbers
# are low and drift; hot, nginx and redis runs therefore alternate for several rounds and the
# medians are reported. The miss run comes last because it loads PostgreSQL. query-api runs with
# RUST_LOG=warn (the per-request access log is at info).
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
COUNT=10000
DURATION=10s
ROUNDS=3
THREADS=2
CONNECTIONS=64

bench_args 20 "$@"
if [ "$QUICK" = 1 ]; then COUNT=2000; DURATION=3s; ROUNDS=1; fi
eval "$(kit targets --shell bench.http)" # TARGET_HOT_VS_NGINX_RPS, _P99, TARGET_PEAK_RSS_MB

for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null && [[ ! -x /usr/sbin/$tool ]]; then
    if [[ $(id -u) -eq 0 ]]; then
      log "installing $tool"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    else
      echo "$tool is missing (apt-get install $tool)" >&2; exit 1
    fi
  fi
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

WORK="$(mktemp -d)"
PREFIX="bench_$(date +%s)_$$:"
PIDS=()
DB_NAME=""
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  kit scratch drop ${DB_NAME:+--db "$DB_NAME"} --prefix "$PREFIX" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { kit free-port; }

wait_ready() { # url
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "query-api at $1 did not become ready" >&2; exit 1
}

start_api() { # port, extra env...
  local port="$1"; shift
  env HTTP_ADDR="127.0.0.1:$port" DATABASE_URL="$API_DB_URL" ORDER_CACHE_KEY_PREFIX="$PREFIX" \
    ORDER_CACHE_TTL_SECS=900 RUST_LOG=warn "$@" "$TARGET_DIR/release/query-api" \
    >>"$WORK/query-api.log" 2>&1 &
  PIDS+=($!)
  LAST_PID=$!
  wait_ready "http://127.0.0.1:$port"
}

log "building query-api and the bench helper (release)"
(cd "$ROOT" && cargo build --release -q -p query-api --bin query-api --example bench_seed)

log "storing $COUNT synthetic orders in a fresh database"
# The seeded database's URL goes to query-api only: DATABASE_URL itself stays the server's admin
# URL, the one `kit` connects to when it drops that database.
seeded="$("$TARGET_DIR/release/examples/bench_seed" seed --count "$COUNT" --dir "$WORK")"
DB_NAME="$(sed -n 's/^DB_NAME=//p' <<<"$seeded")"
API_DB_URL="$(sed -n 's/^DATABASE_URL=//p' <<<"$seeded")"
[[ -n "$DB_NAME" && -n "$API_DB_URL" ]] || { echo "bench_seed printed no database: $seeded" >&2; exit 1; }
# nginx workers run as an unprivileged user when started as root: let them read the files.
chmod 755 "$WORK" && chmod -R a+rX "$WORK/www"

cat >"$WORK/pick.lua" <<LUA
-- Each request asks for a random one of the stored uids.
local uids = {}
for line in io.lines("$WORK/uids.txt") do uids[#uids + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
request = function()
  return wrk.format("GET", "/order/" .. uids[math.random(#uids)])
end
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("WRK rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d errors=%d non2xx=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status))
end
LUA

cpu_ticks() { # pids... -> utime+stime summed, in clock ticks
  local total=0 pid
  for pid in "$@"; do
    total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") ))
  done
  echo "$total"
}

run_wrk() { # name url server-pids...: appends "rps p50 p99 cpu_us_per_request" to $WORK/res_<name>
  local name=$1 url=$2 out before after
  shift 2
  before="$(cpu_ticks "$@")"
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/pick.lua" "$url" | grep '^WRK ')"
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
}

median() { # name column -> prints the median of that column over the rounds
  awk -v c="$2" '{print $c}' "$WORK/res_$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

medians() { # name -> "rps p50 p99 cpu", each the median over the rounds
  echo "$(median "$1" 1) $(median "$1" 2) $(median "$1" 3) $(median "$1" 4)"
}

# nginx: foreground master, two workers like query-api's two runtime threads, same keep-alive.
NGINX_PORT="$(free_port)"
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location /order/ { default_type application/json; }
  }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
NGINX_PID=$!

HOT_PORT="$(free_port)"
start_api "$HOT_PORT"
HOT_PID=$LAST_PID
HOT="http://127.0.0.1:$HOT_PORT"
log "warming query-api's caches"
"$TARGET_DIR/release/examples/bench_seed" warm --url "$HOT" --uids "$WORK/uids.txt"
curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/order/$(head -1 "$WORK/uids.txt")"
mapfile -t NGINX_WORKERS < <(pgrep -P "$NGINX_PID")

REDIS_PORT="$(free_port)"
start_api "$REDIS_PORT" NEAR_CACHE_ENTRIES=0
REDIS_API="http://127.0.0.1:$REDIS_PORT"
REDIS_PID=$LAST_PID

for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  run_wrk hot "$HOT" "$HOT_PID"
  run_wrk nginx "http://127.0.0.1:$NGINX_PORT" "$NGINX_PID" "${NGINX_WORKERS[@]}"
  run_wrk redis "$REDIS_API" "$REDIS_PID"
done
read -r hot_rps hot_p50 hot_p99 hot_cpu < <(medians hot)
read -r nginx_rps nginx_p50 nginx_p99 nginx_cpu < <(medians nginx)
read -r redis_rps redis_p50 redis_p99 redis_cpu < <(medians redis)

MISS_PORT="$(free_port)"
start_api "$MISS_PORT" NEAR_CACHE_ENTRIES=0 REDIS_URL=redis://127.0.0.1:1
MISS_API="http://127.0.0.1:$MISS_PORT"
MISS_PID=$LAST_PID
# A few requests first, so Redis's breaker has opened: this run measures PostgreSQL reads, not
# how long it takes to notice that Redis is gone.
for uid in $(head -5 "$WORK/uids.txt"); do curl -fsS -o /dev/null "$MISS_API/order/$uid"; done
run_wrk miss "$MISS_API" "$MISS_PID"
read -r miss_rps miss_p50 miss_p99 miss_cpu < <(medians miss)
miss_db_reads="$(curl -fsS "$MISS_API/metrics" | awk '$1 ~ /^order_db_reads_total($|\{)/ {n += $2} END {print n + 0}')"

log "comparing bodies across instances and nginx"
compare="$("$TARGET_DIR/release/examples/bench_seed" compare --urls "$HOT,$REDIS_API,$MISS_API,http://127.0.0.1:$NGINX_PORT" \
  --uids "$WORK/uids.txt" --dir "$WORK" --sample 200)"
checked="$(sed -E 's/.*checked=([0-9]+).*/\1/' <<<"$compare")"
differing="$(sed -E 's/.*differing=([0-9]+).*/\1/' <<<"$compare")"

hwm_kb="$(awk '/VmHWM/ {print $2}' "/proc/$HOT_PID/status")"
peak_rss_mb="$(awk -v kb="$hwm_kb" 'BEGIN {printf "%.1f", kb / 1024}')"
rps_ratio="$(awk -v a="$hot_rps" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a / b}')"
p99_ratio="$(awk -v a="$hot_p99" -v b="$nginx_p99" 'BEGIN {printf "%.2f", a / b}')"
cpu_ratio="$(awk -v a="$hot_cpu" -v b="$nginx_cpu" 'BEGIN {printf "%.2f", a / b}')"

printf '\n%-36s %10s %9s %9s %12s\n' "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $ROUNDS" "req/s" "p50 ms" "p99 ms" "CPU us/req"
row() { printf '%-36s %10.0f %9.3f %9.3f %12.1f\n' "$1" "$2" "$3" "$4" "$5"; }
row "query-api hot (memory, redis behind)" "$hot_rps" "$hot_p50" "$hot_p99" "$hot_cpu"
row "nginx static files" "$nginx_rps" "$nginx_p50" "$nginx_p99" "$nginx_cpu"
row "query-api redis (near cache off)" "$redis_rps" "$redis_p50" "$redis_p99" "$redis_cpu"
row "query-api miss (postgres only)" "$miss_rps" "$miss_p50" "$miss_p99" "$miss_cpu"
printf '\nreq/s ratio hot/nginx  %s (target >= %s: %s)\n' "$rps_ratio" "$TARGET_HOT_VS_NGINX_RPS" \
  "$(judge bench.http.hot_vs_nginx_rps "$rps_ratio")"
printf 'p99 ratio hot/nginx    %s (target <= %s: %s)\n' "$p99_ratio" "$TARGET_HOT_VS_NGINX_P99" \
  "$(judge bench.http.hot_vs_nginx_p99 "$p99_ratio")"
printf 'CPU per request        %sx nginx (server CPU time per answered request)\n' "$cpu_ratio"
printf 'peak RSS (VmHWM)       %s MB (target <= %s: %s)\n' "$peak_rss_mb" "$TARGET_PEAK_RSS_MB" \
  "$(judge bench.http.peak_rss_mb "$peak_rss_mb")"
printf 'identical bodies       %s uids x 4 servers, %s differing\n' "$checked" "$differing"
printf 'miss run db reads      %s\n\n' "$miss_db_reads"

printf 'BENCH_JSON {"orders":%d,"duration":"%s","rounds":%d,"connections":%d,"hot_rps":%.0f,"hot_p50_ms":%s,"hot_p99_ms":%s,"nginx_rps":%.0f,"nginx_p50_ms":%s,"nginx_p99_ms":%s,"rps_ratio":%s,"rps_ratio_target":%s,"p99_ratio":%s,"p99_ratio_target":%s,"hot_cpu_us_per_req":%s,"nginx_cpu_us_per_req":%s,"cpu_ratio":%s,"redis_rps":%.0f,"redis_p99_ms":%s,"miss_rps":%.0f,"miss_p50_ms":%s,"miss_p99_ms":%s,"miss_db_reads":%s,"identical_checked":%d,"identical_differing":%d,"peak_rss_mb":%s,"rss_target_mb":%s}\n' \
  "$COUNT" "$DURATION" "$ROUNDS" "$CONNECTIONS" "$hot_rps" "$hot_p50" "$hot_p99" "$nginx_rps" "$nginx_p50" "$nginx_p99" \
  "$rps_ratio" "$TARGET_HOT_VS_NGINX_RPS" "$p99_ratio" "$TARGET_HOT_VS_NGINX_P99" "$hot_cpu" "$nginx_cpu" "$cpu_ratio" "$redis_rps" "$redis_p99" "$miss_rps" "$miss_p50" "$miss_p99" "${miss_db_reads:-0}" \
  "$checked" "$differing" "$peak_rss_mb" "$TARGET_PEAK_RSS_MB"
[[ "$(judge bench.http.differing_bodies "$differing")" == meets ]]
