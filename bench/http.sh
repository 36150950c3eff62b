#!/usr/bin/env bash
# HTTP read throughput of query-api against nginx serving the same JSON bytes as static files.
#
#   bench/http.sh            10,000 orders, 5 rounds of 10 s wrk runs
#   bench/http.sh --quick    2,000 orders, 1 round of 3 s runs
#
# Needs the local stack (scripts/stack.sh up), wrk and nginx (Debian packages; installed when
# missing and running as root). wrk -t2 -c64 runs (script bench/http.lua), each against its
# same-run reference:
#   hot       query-api, warm caches, quiet (RUST_LOG=warn, auth off)  vs nginx quiet (no access log)
#   deployed  query-api as shipped: RUST_LOG=info, LOG_FORMAT=json     vs nginx with its access log
#   auth      query-api quiet with AUTH_MODE=api-key, one key on every request  vs nginx quiet
#   scan      the hot instance, every stored uid in turn (no reuse)    vs nginx quiet, same scan
#   redis     a query-api with its near cache off: every read goes to Redis
#   miss      a query-api with its near cache off and Redis down: every read is a PostgreSQL read
#             (the degraded path; bench/miss.sh measures the true miss against pgbench)
# Random picks over all stored uids except the scan. Then checks that the instances (and nginx)
# serve identical bytes for the same uids, and reads the peak RSS of the hot instance. Targets
# (req/s and p99 against nginx, peak RSS, identical bodies): bench.http.* in
# scripts/pipelinekit/targets.toml. Prints a table and one `BENCH_JSON` line.
#
# All processes share the machine's cores with wrk (and whatever else runs), so absolute numbers
# are low and drift within minutes; each pair therefore runs back to back, in turn, for several
# rounds, and each verdict is the median of the rounds' ratios (the table's figures are medians of
# each run). The miss run comes last because it loads PostgreSQL.
set -euo pipefail

# shellcheck source=bench/wrk.sh
source "$(dirname "${BASH_SOURCE[0]}")/wrk.sh"
COUNT=10000
CONNECTIONS=64
wrk_args bench.http 20 2000 "$@" # TARGET_HOT_VS_NGINX_RPS, _P99, TARGET_PEAK_RSS_MB

need_tools wrk nginx
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

bench_workspace

seed_orders "$COUNT"
# nginx workers run as an unprivileged user when started as root: let them read the files.
chmod 755 "$WORK" && chmod -R a+rX "$WORK/www"

export WRK_UIDS="$WORK/uids.txt" WRK_THREADS="$THREADS"

# nginx: foreground master, two workers like query-api's two runtime threads, same keep-alive;
# one server quiet, one with nginx's default access log (the combined format, a write per request).
NGINX_PORT="$(free_port)"
NGINX_LOGGED_PORT="$(free_port)"
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
  server {
    listen 127.0.0.1:$NGINX_LOGGED_PORT;
    access_log $WORK/nginx/access.log combined;
    root $WORK/www;
    location /order/ { default_type application/json; }
  }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
NGINX_PID=$!

start_api hot
HOT_PID=$LAST_PID HOT=$LAST_URL
start_api deployed RUST_LOG=info LOG_FORMAT=json
DEPLOYED_PID=$LAST_PID DEPLOYED=$LAST_URL
start_api auth AUTH_MODE=api-key API_KEYS_FILE="$API_KEYS_FILE"
AUTH_PID=$LAST_PID AUTH=$LAST_URL
log "warming the caches of query-api's instances"
for url in "$HOT" "$DEPLOYED"; do
  "$TARGET_DIR/release/examples/bench_seed" warm --url "$url" --uids "$WORK/uids.txt"
done
API_KEY="$API_KEY" "$TARGET_DIR/release/examples/bench_seed" warm --url "$AUTH" --uids "$WORK/uids.txt"
NGINX="http://127.0.0.1:$NGINX_PORT" NGINX_LOGGED="http://127.0.0.1:$NGINX_LOGGED_PORT"
curl -fsS -o /dev/null "$NGINX/order/$(head -1 "$WORK/uids.txt")"
mapfile -t NGINX_WORKERS < <(pgrep -P "$NGINX_PID")
NGINX_PIDS=("$NGINX_PID" "${NGINX_WORKERS[@]}")

start_api redis NEAR_CACHE_ENTRIES=0
REDIS_PID=$LAST_PID REDIS_API=$LAST_URL

# Each pair runs back to back, in turn (in_turn); the API-key runs get their own nginx runs next
# to them. The verdicts are medians of the rounds' ratios (paired_ratio).
run_hot() { run_wrk hot "$HOT" "$HOT_PID"; }
run_nginx() { run_wrk nginx "$NGINX" "${NGINX_PIDS[@]}"; }
run_deployed() { run_wrk deployed "$DEPLOYED" "$DEPLOYED_PID"; }
run_nginx_logged() { run_wrk nginx_logged "$NGINX_LOGGED" "${NGINX_PIDS[@]}"; }
run_auth() { WRK_API_KEY="$API_KEY" run_wrk auth "$AUTH" "$AUTH_PID"; }
run_nginx_auth() { run_wrk nginx_auth "$NGINX" "${NGINX_PIDS[@]}"; }
run_scan() { WRK_PATTERN=scan run_wrk scan "$HOT" "$HOT_PID"; }
run_nginx_scan() { WRK_PATTERN=scan run_wrk nginx_scan "$NGINX" "${NGINX_PIDS[@]}"; }
PAIRS=(hot:nginx deployed:nginx_logged auth:nginx_auth scan:nginx_scan)
for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  for pair in "${PAIRS[@]}"; do in_turn "$round" "run_${pair%%:*}" "run_${pair#*:}"; done
  run_wrk redis "$REDIS_API" "$REDIS_PID"
done
RUNS=(hot nginx deployed nginx_logged auth nginx_auth scan nginx_scan redis)
for name in "${RUNS[@]}"; do
  # shellcheck disable=SC2034 # read through ${!name}
  read -r "${name}_rps" "${name}_p50" "${name}_p99" "${name}_cpu" < <(medians "$name")
done

start_api miss NEAR_CACHE_ENTRIES=0 REDIS_URL=redis://127.0.0.1:1
MISS_PID=$LAST_PID MISS_API=$LAST_URL MISS_ADMIN=$LAST_ADMIN
# A few requests first, so Redis's breaker has opened: this run measures PostgreSQL reads, not
# how long it takes to notice that Redis is gone.
for uid in $(head -5 "$WORK/uids.txt"); do curl -fsS -o /dev/null "$MISS_API/order/$uid"; done
run_wrk miss "$MISS_API" "$MISS_PID"
# shellcheck disable=SC2034 # read through ${!name} by row() and the BENCH_JSON loop
read -r miss_rps miss_p50 miss_p99 miss_cpu < <(medians miss)
miss_db_reads="$(curl -fsS "$MISS_ADMIN/metrics" | awk '$1 ~ /^order_db_reads_total($|\{)/ {n += $2} END {print n + 0}')"

log "comparing bodies across instances and nginx"
compare="$("$TARGET_DIR/release/examples/bench_seed" compare --urls "$HOT,$DEPLOYED,$REDIS_API,$MISS_API,$NGINX" \
  --uids "$WORK/uids.txt" --dir "$WORK" --sample 200)"
checked="$(sed -E 's/.*checked=([0-9]+).*/\1/' <<<"$compare")"
differing="$(sed -E 's/.*differing=([0-9]+).*/\1/' <<<"$compare")"

hwm_kb="$(awk '/VmHWM/ {print $2}' "/proc/$HOT_PID/status")"
peak_rss_mb="$(awk -v kb="$hwm_kb" 'BEGIN {printf "%.1f", kb / 1024}')"

printf '\n%-40s %10s %9s %9s %12s\n' "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $ROUNDS" "req/s" "p50 ms" "p99 ms" "CPU us/req"
row() { # label name
  local rps="${2}_rps" p50="${2}_p50" p99="${2}_p99" cpu="${2}_cpu"
  printf '%-40s %10.0f %9.3f %9.3f %12.1f\n' "$1" "${!rps}" "${!p50}" "${!p99}" "${!cpu}"
}
row "query-api hot (quiet, memory)" hot
row "nginx quiet" nginx
row "query-api as deployed (info, json logs)" deployed
row "nginx with its access log" nginx_logged
row "query-api with an API key" auth
row "nginx quiet, next to the API key runs" nginx_auth
row "query-api hot, scan of every uid" scan
row "nginx quiet, same scan" nginx_scan
row "query-api redis (near cache off)" redis
row "query-api, Redis down (postgres only)" miss

# Each pair: query-api against its reference, req/s and p99 ratios with their verdicts.
JSON=""
printf '\n%-10s %-14s %12s %12s %12s   (medians of the rounds)\n' pair reference "req/s ratio" "p99 ratio" "CPU ratio"
for pair in "${PAIRS[@]}"; do
  ours="${pair%%:*}" ref="${pair#*:}"
  rps_ratio="$(paired_ratio "$ours" 1 "$ref" 1)"
  p99_ratio="$(paired_ratio "$ours" 3 "$ref" 3)"
  cpu_ratio="$(paired_ratio "$ours" 4 "$ref" 4)"
  printf '%-10s %-14s %6s %-5s %6s %-5s %6s %-5s\n' "$ours" "$ref" \
    "$rps_ratio" "$(judge "bench.http.${ours}_vs_nginx_rps" "$rps_ratio")" \
    "$p99_ratio" "$(judge "bench.http.${ours}_vs_nginx_p99" "$p99_ratio")" \
    "$cpu_ratio" "$(judge bench.http.cpu_vs_nginx "$cpu_ratio")"
  JSON+="$(printf '"%s_rps_ratio":%s,"%s_p99_ratio":%s,"%s_cpu_ratio":%s,' "$ours" "$rps_ratio" "$ours" "$p99_ratio" "$ours" "$cpu_ratio")"
done
printf '\npeak RSS (VmHWM)       %s MB (target <= %s: %s)\n' "$peak_rss_mb" "$TARGET_PEAK_RSS_MB" \
  "$(judge bench.http.peak_rss_mb "$peak_rss_mb")"
printf 'identical bodies       %s uids x 5 servers, %s differing\n' "$checked" "$differing"
printf 'miss run db reads      %s\n\n' "$miss_db_reads"

for name in "${RUNS[@]}" miss; do
  rps="${name}_rps" p50="${name}_p50" p99="${name}_p99" cpu="${name}_cpu"
  JSON+="$(printf '"%s_rps":%.0f,"%s_p50_ms":%s,"%s_p99_ms":%s,"%s_cpu_us_per_req":%s,' \
    "$name" "${!rps}" "$name" "${!p50}" "$name" "${!p99}" "$name" "${!cpu}")"
done
printf 'BENCH_JSON {"orders":%d,"duration":"%s","rounds":%d,"connections":%d,%s"miss_db_reads":%s,"identical_checked":%d,"identical_differing":%d,"peak_rss_mb":%s}\n' \
  "$COUNT" "$DURATION" "$ROUNDS" "$CONNECTIONS" "$JSON" "${miss_db_reads:-0}" "$checked" "$differing" "$peak_rss_mb"
[[ "$(judge bench.http.differing_bodies "$differing")" == meets ]]
