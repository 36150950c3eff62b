#!/usr/bin/env bash
# Throughput of the ingest pipeline (Kafka -> PostgreSQL + Redis) next to a plain COPY of the
# very same rows into the same schema, measured in the same run, plus ingest's peak memory.
#
#   bench/ingest.sh            100,000 orders
#   bench/ingest.sh --quick     20,000 orders
#
# Steps: release build; a fresh database (migrated) and fresh topics (6 partitions); the orders
# are pre-loaded into the input topic with producer-sim (--rate 0); ingest starts and the clock
# runs until every order is in PostgreSQL and in Redis. Throughput counts from the first stored
# order (excluding the consumer-group join, which is fixed start-up cost) to the last one; the
# wall time including start-up is printed too. The reference exports the stored rows and loads
# them with COPY (one transaction, same indexes and foreign keys) into a second fresh database.
# Targets (ingest / COPY, peak RSS): bench.ingest.* in scripts/pipelinekit/targets.toml. Needs the
# local stack (scripts/stack.sh up). Prints a table and one `BENCH_JSON {...}` line.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
COUNT=100000
SEED=20240602

bench_args 15 "$@"
if [ "$QUICK" = 1 ]; then COUNT=20000; fi
eval "$(kit targets --shell bench.ingest)" # TARGET_VS_COPY, TARGET_PEAK_RSS_MB

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

require_kafka

COPY_DB="bench_copy_$(date +%s)_$$"
pipeline_scratch ingest "$COPY_DB"
INGEST_PID=""
cleanup() {
  if [ -n "$INGEST_PID" ]; then kill "$INGEST_PID" 2>/dev/null && wait "$INGEST_PID" 2>/dev/null; fi
  kit scratch drop "${SCRATCH[@]}" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building ingest and producer-sim (release)"
(cd "$ROOT" && cargo build --release -q -p ingest -p producer-sim)
INGEST="$TARGET_DIR/release/ingest"
SIM="$TARGET_DIR/release/producer-sim"

log "fresh databases $DB, $COPY_DB and topics $TOPIC_BASE.* ($PARTITIONS partitions)"
kit scratch create "${SCRATCH[@]}"
for db in "$DB" "$COPY_DB"; do
  DATABASE_URL="$(db_url "$db")" RUST_LOG=warn "$INGEST" migrate up >/dev/null
done

log "pre-loading $COUNT orders with producer-sim"
"$SIM" --kafka-brokers "$BROKERS" --topic "${TOPICS[0]}" --rate 0 --count "$COUNT" --seed "$SEED" \
  >/dev/null 2>"$WORK/sim.err" || { cat "$WORK/sim.err" >&2; exit 1; }

# Progress comes from ingest's own counter, not from `SELECT count(*)` on the growing tables: ten
# scans a second of 100,000 wide rows took a share of PostgreSQL's CPU from the ingest they timed.
# -1 before ingest answers. The stored rows are counted once at the end.
count_stored() {
  local text
  text="$(curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null)" || { echo -1; return; }
  awk '$1 == "ingest_records_total{outcome=\"stored\"}" { n = $2 } END { print (n == "" ? -1 : n) }' <<<"$text"
}
count_rows() { psql -qtA "$(db_url "$DB")" -c "SELECT count(*) FROM orders"; }
count_cached() {
  redis-cli -u "$REDIS_URL" --scan --pattern "${PREFIX}order:*" | wc -l
}

METRICS_PORT="$(kit free-port)"
log "starting ingest (metrics on 127.0.0.1:$METRICS_PORT)"
START="$(now)"
KAFKA_BROKERS="$BROKERS" ORDERS_TOPIC="${TOPICS[0]}" RETRY_TOPIC="${TOPICS[1]}" DLQ_TOPIC="${TOPICS[2]}" \
  KAFKA_GROUP="$GROUP" DATABASE_URL="$(db_url "$DB")" REDIS_URL="$REDIS_URL" \
  ORDER_CACHE_KEY_PREFIX="$PREFIX" METRICS_ADDR="127.0.0.1:$METRICS_PORT" RUST_LOG=warn \
  "$INGEST" run >"$WORK/ingest.log" 2>&1 &
INGEST_PID=$!

FIRST=""
DEADLINE=$(( $(date +%s) + 900 ))
while :; do
  kill -0 "$INGEST_PID" 2>/dev/null || { cat "$WORK/ingest.log" >&2; echo "ingest exited" >&2; exit 1; }
  rows="$(count_stored)"
  [ -z "$FIRST" ] && [ "$rows" -gt 0 ] && FIRST="$(now)"
  [ "$rows" -ge "$COUNT" ] && break
  [ "$(date +%s)" -lt "$DEADLINE" ] || { echo "timed out with $rows of $COUNT stored" >&2; exit 1; }
  # Each poll (curl, ingest rendering its metrics, awk) costs CPU the two cores then lack: at
  # 10 polls a second the harness took ~7 % of them (perf), which the reference COPY never
  # pays. So poll finely only where the times are read, before the first row and in the last
  # tenth, and twice a second in between.
  if [ -z "$FIRST" ] || [ "$rows" -ge $((COUNT * 9 / 10)) ]; then sleep 0.05; else sleep 0.5; fi
done
STORED="$(now)"
rows="$(count_rows)"
[ "$rows" -eq "$COUNT" ] || { echo "ingest counted $COUNT stored, PostgreSQL holds $rows" >&2; exit 1; }
while [ "$(count_cached)" -lt "$COUNT" ]; do
  [ "$(date +%s)" -lt "$DEADLINE" ] || { echo "timed out waiting for Redis" >&2; exit 1; }
  sleep 0.2
done
CACHED="$(now)"
RSS_KB="$(awk '/^VmHWM:/ { print $2 }' "/proc/$INGEST_PID/status")"
# ingest's own CPU (user + system, all threads) per stored order: the rest of the two cores went
# to PostgreSQL, Redis and the broker.
CPU_US="$(awk -v hz="$(getconf CLK_TCK)" -v n="$COUNT" '{ printf "%.0f", ($14 + $15) / hz * 1e6 / n }' "/proc/$INGEST_PID/stat")"
# Where the time went, from ingest's own histograms (sums in seconds, counts in batches).
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics.txt" 2>/dev/null || true
metric() { awk -v m="$1" '$1 == m { print $2 }' "$WORK/metrics.txt"; }
BATCHES="$(metric ingest_batch_size_count)"
log "batches: ${BATCHES:-?}, mean size $(awk -v s="$(metric ingest_batch_size_sum)" -v c="$BATCHES" 'BEGIN { if (c > 0) printf "%.0f", s / c; else print "?" }'), time settling batches $(metric ingest_batch_duration_seconds_sum)s, of which in PostgreSQL $(metric ingest_store_duration_seconds_sum)s"
kill "$INGEST_PID"; wait "$INGEST_PID" || true; INGEST_PID=""

STEADY_SECS="$(elapsed "$FIRST" "$STORED")"
WALL_SECS="$(elapsed "$START" "$STORED")"
INGEST_RPS="$(awk -v n="$COUNT" -v s="$STEADY_SECS" 'BEGIN { printf "%d", n / s }')"
WALL_RPS="$(awk -v n="$COUNT" -v s="$WALL_SECS" 'BEGIN { printf "%d", n / s }')"
log "ingest: $COUNT orders in ${STEADY_SECS}s from the first row (${WALL_SECS}s with start-up); Redis complete after $(elapsed "$START" "$CACHED")s"

log "reference: COPY of the same rows into $COPY_DB"
SRC="$(db_url "$DB")"
for table in orders deliveries payments items; do
  psql -q "$SRC" -c "\\copy $table TO '$WORK/$table.copy'"
done
cat >"$WORK/load.sql" <<SQL
\\copy orders FROM '$WORK/orders.copy'
\\copy deliveries FROM '$WORK/deliveries.copy'
\\copy payments FROM '$WORK/payments.copy'
\\copy items FROM '$WORK/items.copy'
SQL
COPY_START="$(now)"
psql -q -1 "$(db_url "$COPY_DB")" -f "$WORK/load.sql" >/dev/null
COPY_SECS="$(elapsed "$COPY_START" "$(now)")"
COPY_RPS="$(awk -v n="$COUNT" -v s="$COPY_SECS" 'BEGIN { printf "%d", n / s }')"
ITEMS="$(psql -qtA "$SRC" -c "SELECT count(*) FROM items")"

RATIO="$(awk -v a="$INGEST_RPS" -v b="$COPY_RPS" 'BEGIN { printf "%.2f", a / b }')"
RSS_MB="$(awk -v k="$RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')"
RATIO_OK="$(judge bench.ingest.vs_copy "$RATIO")"
RSS_OK="$(judge bench.ingest.peak_rss_mb "$RSS_MB")"

echo
printf '%-44s %10s orders/s\n' "ingest (Kafka -> PostgreSQL, from first row)" "$INGEST_RPS"
printf '%-44s %10s orders/s\n' "ingest (including start-up and group join)" "$WALL_RPS"
printf '%-44s %10s orders/s\n' "COPY of the same rows ($ITEMS items)" "$COPY_RPS"
printf 'ratio ingest / COPY: %s (%s the %s target)\n' "$RATIO" "$RATIO_OK" "$TARGET_VS_COPY"
printf 'ingest CPU per order (user + system, incl. start-up): %s us\n' "$CPU_US"
printf 'ingest peak RSS (VmHWM): %s MB (%s the %s MB target)\n' "$RSS_MB" "$RSS_OK" "$TARGET_PEAK_RSS_MB"
printf 'BENCH_JSON {"orders":%d,"partitions":%d,"ingest_rps":%d,"ingest_wall_rps":%d,"copy_rps":%d,"ratio":%s,"ratio_target":%s,"peak_rss_mb":%s,"rss_target_mb":%s,"stored_secs":%s,"cached_secs":%s,"copy_secs":%s,"cpu_us_per_order":%s}\n' \
  "$COUNT" "$PARTITIONS" "$INGEST_RPS" "$WALL_RPS" "$COPY_RPS" "$RATIO" "$TARGET_VS_COPY" "$RSS_MB" "$TARGET_PEAK_RSS_MB" "$STEADY_SECS" \
  "$(elapsed "$START" "$CACHED")" "$COPY_SECS" "$CPU_US"
