#!/usr/bin/env bash
# The read path's miss: GET /order/{uid} of an order in neither cache, against PostgreSQL
# answering the same read the obvious way (issue #19, "miss path"), same orders, same run.
#
#   bench/miss.sh            40,000 orders, 5 rounds of 10 s runs (pgbench and ours in turn)
#   bench/miss.sh --quick    40,000 orders, 1 round of 3 s runs
#
#   ours       query-api as in the hot pair but with its near cache off and Redis entries living
#              1 s (ORDER_CACHE_TTL_SECS=1): wrk (bench/http.lua) scans every stored uid in turn,
#              so each read finds Redis empty (a GET that misses), reads PostgreSQL, answers, and
#              fills Redis in the background — the fill has expired before the scan comes back.
#              The run reports the share of requests that were PostgreSQL reads (it must be ~1:
#              the scan comes back to a uid after more than the TTL while it reads < 40k/s).
#   reference  pgbench, 16 clients, one statement per read: the order's rows joined from the
#              plain 4-table schema (orders ⋈ deliveries ⋈ payments ⋈ items; the same tables the
#              store writes, the stored document column not selected), the uid picked at random
#              through an integer-keyed list of the same orders (pgbench variables are numbers).
# wrk runs with 16 connections like pgbench's 16 clients. Target: bench.miss.vs_pgbench in
# scripts/pipelinekit/targets.toml. Prints a table and one `BENCH_JSON` line.
set -euo pipefail

# shellcheck source=bench/wrk.sh
source "$(dirname "${BASH_SOURCE[0]}")/wrk.sh"
COUNT=40000
CONNECTIONS=16
# --quick keeps all 40,000: the scan must not come back to a uid within the Redis TTL (1 s), and
# the miss path has reached 21,700 req/s on a quiet machine.
wrk_args bench.miss 18 40000 "$@" # TARGET_VS_PGBENCH
need_tools wrk
command -v pgbench >/dev/null || { echo "pgbench is missing (it comes with the PostgreSQL server packages)" >&2; exit 1; }

bench_workspace
seed_orders "$COUNT"
export WRK_UIDS="$WORK/uids.txt" WRK_THREADS="$THREADS" WRK_PATTERN=scan

log "the reference: an integer-keyed list of the same uids, and pgbench's join"
psql -qX -v ON_ERROR_STOP=1 "$API_DB_URL" >/dev/null <<'SQL'
CREATE TABLE bench_uids AS SELECT row_number() OVER (ORDER BY order_uid) AS n, order_uid FROM orders;
ALTER TABLE bench_uids ADD PRIMARY KEY (n);
VACUUM ANALYZE orders, deliveries, payments, items, bench_uids;
SQL
columns="$(psql -qXAt "$API_DB_URL" -c "
  SELECT string_agg(format('%s.%I', t.alias, c.column_name), ', ' ORDER BY t.alias, c.ordinal_position)
  FROM information_schema.columns c
  JOIN (VALUES ('orders', 'o'), ('deliveries', 'd'), ('payments', 'p'), ('items', 'i')) t (name, alias)
    ON c.table_name = t.name
  WHERE c.table_schema = 'public' AND c.column_name NOT IN ('order_uid', 'document')")"
cat >"$WORK/join.sql" <<SQL
\\set n random(1, $COUNT)
SELECT o.order_uid, $columns
FROM orders o JOIN deliveries d USING (order_uid) JOIN payments p USING (order_uid) JOIN items i USING (order_uid)
WHERE o.order_uid = (SELECT order_uid FROM bench_uids WHERE n = :n);
SQL
# Each statement must return the order's rows (one per item): checked once before timing.
rows="$(psql -qXAt "$API_DB_URL" -v n=1 -c "SELECT count(*) FROM items WHERE order_uid = (SELECT order_uid FROM bench_uids WHERE n = 1)")"
[[ "$rows" -ge 1 ]] || { echo "the reference join finds no rows" >&2; exit 1; }

run_pgbench() { # appends "tps latency_avg_ms" to $WORK/res_pgbench
  local out
  out="$(pgbench -n -M prepared -c 16 -j "$THREADS" -T "${DURATION%s}" -f "$WORK/join.sql" "$API_DB_URL" 2>&1)" ||
    { echo "pgbench failed: $out" >&2; exit 1; }
  local tps lat
  tps="$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$out")"
  lat="$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' <<<"$out")"
  [[ -n "$tps" ]] || { echo "pgbench printed no tps: $out" >&2; exit 1; }
  log "pgbench: tps=$tps latency_avg_ms=$lat"
  echo "$tps $lat" >>"$WORK/res_pgbench"
}

db_reads() { # admin-url -> "order_db_reads_total (summed over its labels) lookups batches"
  curl -fsS "$1/metrics" | awk '$1 ~ /^order_db_reads_total($|\{)/ {n += $2}
    $1 == "order_lookup_batch_size_sum" {l = $2} $1 == "order_lookup_batch_size_count" {b = $2}
    END {printf "%d %d %d\n", n, l, b}'
}

requests_total=0 reads_total=0 lookups_total=0 batches_total=0
run_miss() { # a fresh instance and key prefix per round: nothing from the last round is in Redis
  PREFIX="${PREFIX%%:*}:r$round:"
  start_api "miss$round" NEAR_CACHE_ENTRIES=0 ORDER_CACHE_TTL_SECS=1
  # Its pools open their connections first (pgbench's are open before it counts too); then the
  # warm-up's Redis entries expire before the measured scan.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s "$ROOT/bench/http.lua" "$LAST_URL" >/dev/null
  sleep 1.5
  read -r reads0 lookups0 batches0 < <(db_reads "$LAST_ADMIN")
  run_wrk miss "$LAST_URL" "$LAST_PID"
  read -r reads1 lookups1 batches1 < <(db_reads "$LAST_ADMIN")
  requests="$(tail -1 "$WORK/requests_miss")"
  requests_total=$((requests_total + requests)) reads_total=$((reads_total + reads1 - reads0))
  lookups_total=$((lookups_total + lookups1 - lookups0)) batches_total=$((batches_total + batches1 - batches0))
  kill "$LAST_PID"
}
for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  in_turn "$round" run_pgbench run_miss
done
PREFIX="${PREFIX%%:*}:" # bench_cleanup drops every round's keys under it

read -r miss_rps miss_p50 miss_p99 miss_cpu < <(medians miss)
pg_tps="$(median pgbench 1)" pg_lat="$(median pgbench 2)"
ratio="$(paired_ratio miss 1 pgbench 1)"
batch_mean="$(awk -v l="$lookups_total" -v b="$batches_total" 'BEGIN {printf "%.1f", b ? l / b : 0}')"
miss_share="$(awk -v r="$reads_total" -v n="$requests_total" 'BEGIN {printf "%.3f", n ? r / n : 0}')"

printf '\n%-52s %10s %9s %9s %12s\n' "16 connections, -d$DURATION, median of $ROUNDS" "req/s" "p50 ms" "p99 ms" "CPU us/req"
printf '%-52s %10.0f %9.3f %9.3f %12.1f\n' "query-api, order in neither cache (scan)" \
  "$miss_rps" "$miss_p50" "$miss_p99" "$miss_cpu"
printf '%-52s %10.0f %9s %9s %12s\n' "pgbench, 4-table join per read (avg $pg_lat ms)" "$pg_tps" - - -
printf '\nmiss / pgbench         %s (target >= %s: %s)\n' "$ratio" "$TARGET_VS_PGBENCH" \
  "$(judge bench.miss.vs_pgbench "$ratio")"
printf 'PostgreSQL reads       %s per request (%s reads, %s requests)\n' "$miss_share" "$reads_total" "$requests_total"
printf 'lookups per batch      %s on average (%s lookups in %s batches, one Redis read and one statement each)\n\n' \
  "$batch_mean" "$lookups_total" "$batches_total"
printf 'BENCH_JSON {"orders":%d,"duration":"%s","rounds":%d,"miss_rps":%.0f,"miss_p50_ms":%s,"miss_p99_ms":%s,"miss_cpu_us_per_req":%s,"pgbench_tps":%.0f,"pgbench_latency_avg_ms":%s,"vs_pgbench":%s,"db_reads_per_request":%s,"lookups_per_batch":%s}\n' \
  "$COUNT" "$DURATION" "$ROUNDS" "$miss_rps" "$miss_p50" "$miss_p99" "$miss_cpu" "$pg_tps" "${pg_lat:-0}" "$ratio" "$miss_share" "$batch_mean"
# A run where Redis answered would measure the Redis path, not the miss: refuse it.
awk -v s="$miss_share" 'BEGIN {exit !(s >= 0.95)}' ||
  { echo "only $miss_share of the requests read PostgreSQL: not a miss-path measurement" >&2; exit 1; }
