#!/usr/bin/env bash
# HTTP read throughput of query-api against nginx serving the same JSON bytes as static files.
#
#   bench/http.sh            10,000 orders, 10 s per wrk run
#   bench/http.sh --quick    2,000 orders, 3 s per run
#
# Needs the local stack (scripts/stack.sh up), wrk and nginx (Debian packages; installed when
# missing and running as root). Runs, each with wrk -t2 -c64 over all stored uids (random pick):
#   hot    query-api with warm caches (near cache in memory, Redis behind it)
#   nginx  nginx serving D/www/order/<uid> (sendfile, keep-alive, no access log)
#   redis  a second query-api with its near cache off: every read goes to Redis
#   miss   a third query-api with its near cache off and no Redis: every read is a PostgreSQL read
# then checks that two instances (and nginx) serve identical bytes for the same uids, and reads
# the peak RSS of the hot instance. Targets: hot >= 70% of nginx req/s, hot p99 <= 2x nginx p99,
# peak RSS <= 60 MB. Prints a table and one `BENCH_JSON {...}` line.
#
# All processes share the machine's cores with wrk, so absolute numbers are low; the ratios are
# what matter. query-api runs with RUST_LOG=warn (the per-request access log is at info).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
COUNT=10000
DURATION=10s
THREADS=2
CONNECTIONS=64

for arg in "$@"; do
  case "$arg" in
    --quick) COUNT=2000; DURATION=3s ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[bench] %s\n' "$*" >&2; }

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
  [[ -n "$DB_NAME" ]] && "$TARGET_DIR/release/examples/bench_seed" drop --db "$DB_NAME" 2>/dev/null || true
  if command -v redis-cli >/dev/null; then
    redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379}" --scan --pattern "${PREFIX}*" 2>/dev/null |
      xargs -r -n 500 redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379}" del >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() { # url
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "query-api at $1 did not become ready" >&2; exit 1
}

start_api() { # port, extra env...
  local port="$1"; shift
  env HTTP_ADDR="127.0.0.1:$port" DATABASE_URL="$DATABASE_URL" ORDER_CACHE_KEY_PREFIX="$PREFIX" \
    ORDER_CACHE_TTL_SECS=900 RUST_LOG=warn "$@" "$TARGET_DIR/release/query-api" \
    >>"$WORK/query-api.log" 2>&1 &
  PIDS+=($!)
  LAST_PID=$!
  wait_ready "http://127.0.0.1:$port"
}

log "building query-api and the bench helper (release)"
(cd "$ROOT" && cargo build --release -q -p query-api --bin query-api --example bench_seed)

log "storing $COUNT synthetic orders in a fresh database"
eval "$("$TARGET_DIR/release/examples/bench_seed" seed --count "$COUNT" --dir "$WORK")"
export DATABASE_URL
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

run_wrk() { # name url -> sets <name>_rps, _p50, _p99
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/pick.lua" "$2" | grep '^WRK ')"
  log "$1: ${out#WRK }"
  local rps p50 p99 errors non2xx
  rps="$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$out")"
  p50="$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$out")"
  p99="$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")"
  errors="$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out")"
  non2xx="$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")"
  if [[ "$errors" != 0 || "$non2xx" != 0 ]]; then
    echo "$1: $errors socket errors, $non2xx non-2xx answers" >&2; exit 1
  fi
  printf -v "${1}_rps" '%s' "$rps"; printf -v "${1}_p50" '%s' "$p50"; printf -v "${1}_p99" '%s' "$p99"
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

HOT_PORT="$(free_port)"
start_api "$HOT_PORT"
HOT_PID=$LAST_PID
HOT="http://127.0.0.1:$HOT_PORT"
log "warming query-api's caches"
"$TARGET_DIR/release/examples/bench_seed" warm --url "$HOT" --uids "$WORK/uids.txt"
curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/order/$(head -1 "$WORK/uids.txt")"

run_wrk hot "$HOT"
run_wrk nginx "http://127.0.0.1:$NGINX_PORT"

REDIS_PORT="$(free_port)"
start_api "$REDIS_PORT" NEAR_CACHE_ENTRIES=0
REDIS_API="http://127.0.0.1:$REDIS_PORT"
run_wrk redis "$REDIS_API"

MISS_PORT="$(free_port)"
start_api "$MISS_PORT" NEAR_CACHE_ENTRIES=0 REDIS_URL=redis://127.0.0.1:1
MISS_API="http://127.0.0.1:$MISS_PORT"
# A few requests first, so Redis's breaker has opened: this run measures PostgreSQL reads, not
# how long it takes to notice that Redis is gone.
for uid in $(head -5 "$WORK/uids.txt"); do curl -fsS -o /dev/null "$MISS_API/order/$uid"; done
run_wrk miss "$MISS_API"
miss_db_reads="$(curl -fsS "$MISS_API/metrics" | awk '$1 == "order_db_reads_total" {print $2}')"

log "comparing bodies across instances and nginx"
compare="$("$TARGET_DIR/release/examples/bench_seed" compare --urls "$HOT,$REDIS_API,$MISS_API,http://127.0.0.1:$NGINX_PORT" \
  --uids "$WORK/uids.txt" --dir "$WORK" --sample 200)"
checked="$(sed -E 's/.*checked=([0-9]+).*/\1/' <<<"$compare")"
differing="$(sed -E 's/.*differing=([0-9]+).*/\1/' <<<"$compare")"

hwm_kb="$(awk '/VmHWM/ {print $2}' "/proc/$HOT_PID/status")"
peak_rss_mb="$(awk -v kb="$hwm_kb" 'BEGIN {printf "%.1f", kb / 1024}')"
rps_ratio="$(awk -v a="$hot_rps" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a / b}')"
p99_ratio="$(awk -v a="$hot_p99" -v b="$nginx_p99" 'BEGIN {printf "%.2f", a / b}')"
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN {ok = (dir == "ge") ? v >= t : v <= t; print ok ? "ok" : "MISSED"}'; }

printf '\n%-34s %12s %10s %10s\n' "run (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)" "req/s" "p50 ms" "p99 ms"
printf '%-34s %12.0f %10.3f %10.3f\n' "query-api hot (memory+redis)" "$hot_rps" "$hot_p50" "$hot_p99"
printf '%-34s %12.0f %10.3f %10.3f\n' "nginx static files" "$nginx_rps" "$nginx_p50" "$nginx_p99"
printf '%-34s %12.0f %10.3f %10.3f\n' "query-api redis (near cache off)" "$redis_rps" "$redis_p50" "$redis_p99"
printf '%-34s %12.0f %10.3f %10.3f\n' "query-api miss (postgres only)" "$miss_rps" "$miss_p50" "$miss_p99"
printf '\nreq/s ratio hot/nginx  %s (target >= 0.70: %s)\n' "$rps_ratio" "$(verdict "$rps_ratio" 0.70 ge)"
printf 'p99 ratio hot/nginx    %s (target <= 2.00: %s)\n' "$p99_ratio" "$(verdict "$p99_ratio" 2.0 le)"
printf 'peak RSS (VmHWM)       %s MB (target <= 60: %s)\n' "$peak_rss_mb" "$(verdict "$peak_rss_mb" 60 le)"
printf 'identical bodies       %s uids x 4 servers, %s differing\n' "$checked" "$differing"
printf 'miss run db reads      %s\n\n' "$miss_db_reads"

printf 'BENCH_JSON {"orders":%d,"duration":"%s","connections":%d,"hot_rps":%.0f,"hot_p50_ms":%s,"hot_p99_ms":%s,"nginx_rps":%.0f,"nginx_p50_ms":%s,"nginx_p99_ms":%s,"rps_ratio":%s,"rps_ratio_target":0.7,"p99_ratio":%s,"p99_ratio_target":2.0,"redis_rps":%.0f,"redis_p99_ms":%s,"miss_rps":%.0f,"miss_p50_ms":%s,"miss_p99_ms":%s,"miss_db_reads":%s,"identical_checked":%d,"identical_differing":%d,"peak_rss_mb":%s,"rss_target_mb":60}\n' \
  "$COUNT" "$DURATION" "$CONNECTIONS" "$hot_rps" "$hot_p50" "$hot_p99" "$nginx_rps" "$nginx_p50" "$nginx_p99" \
  "$rps_ratio" "$p99_ratio" "$redis_rps" "$redis_p99" "$miss_rps" "$miss_p50" "$miss_p99" "${miss_db_reads:-0}" \
  "$checked" "$differing" "$peak_rss_mb"
[[ "$differing" == 0 ]]
