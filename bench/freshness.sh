#!/usr/bin/env bash
# Freshness: how long after a producer sends an order query-api serves it (issue #19, point 6).
#
#   bench/freshness.sh            60 s at 2,000 orders/s
#   bench/freshness.sh --quick    10 s at 2,000 orders/s
#
# Steps: release build; a fresh database (migrated) and fresh topics (6 partitions); ingest and
# query-api start as shipped (RUST_LOG=info, LOG_FORMAT=json, default batch settings; query-api
# with AUTH_MODE=off) on free ports; the helper tests/e2e/examples/freshness.rs streams
# producer-sim's valid orders at a steady rate with the pipeline's producer settings and, for one
# order in 20, times the send until query-api's first 200 for it (polling every 10 ms, then a
# tenth of the order's age; each 404 poll is a Redis GET and a PostgreSQL read, kept few so).
# The helper first waits for one probe order to be served, so the group join is not counted.
# Targets (p50, p99): bench.freshness.* in scripts/pipelinekit/targets.toml. ingest's own metrics
# (batches, their size, time settling them and in PostgreSQL) say where the time goes.
# Needs the local stack (scripts/stack.sh up). Prints a table and one `BENCH_JSON {...}` line.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RATE=2000
RUN_SECS=60
SAMPLE_EVERY=20
POLL_MS=10

bench_args 16 "$@"
if [ "$QUICK" = 1 ]; then RUN_SECS=10; fi
eval "$(kit targets --shell bench.freshness)" # TARGET_P50_MS, TARGET_P99_MS

require_kafka

pipeline_scratch fresh
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  kit scratch drop "${SCRATCH[@]}" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building ingest, query-api and the freshness helper (release)"
(cd "$ROOT" && cargo build --release -q -p ingest -p query-api -p pipeline-e2e \
  --bin ingest --bin query-api --example freshness)
INGEST="$TARGET_DIR/release/ingest"
API="$TARGET_DIR/release/query-api"
HELPER="$TARGET_DIR/release/examples/freshness"

log "fresh database $DB and topics $TOPIC_BASE.* ($PARTITIONS partitions)"
kit scratch create "${SCRATCH[@]}"
DATABASE_URL="$(db_url "$DB")" RUST_LOG=warn "$INGEST" migrate up >/dev/null

wait_ready() { # name url pid
  local _
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$2/readyz" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { tail -20 "$WORK/$1.log" >&2; echo "$1 exited" >&2; exit 1; }
    sleep 0.1
  done
  tail -20 "$WORK/$1.log" >&2
  echo "$1 at $2 did not become ready within 30 s" >&2
  exit 1
}

METRICS_PORT="$(kit free-port)"
log "starting ingest (metrics on 127.0.0.1:$METRICS_PORT)"
KAFKA_BROKERS="$BROKERS" ORDERS_TOPIC="${TOPICS[0]}" RETRY_TOPIC="${TOPICS[1]}" DLQ_TOPIC="${TOPICS[2]}" \
  KAFKA_GROUP="$GROUP" DATABASE_URL="$(db_url "$DB")" REDIS_URL="$REDIS_URL" \
  ORDER_CACHE_KEY_PREFIX="$PREFIX" METRICS_ADDR="127.0.0.1:$METRICS_PORT" RUST_LOG=info LOG_FORMAT=json \
  "$INGEST" run >"$WORK/ingest.log" 2>&1 &
PIDS+=($!)
INGEST_PID=$!

HTTP_PORT="$(kit free-port)"
ADMIN_PORT="$(kit free-port)"
API_URL="http://127.0.0.1:$HTTP_PORT"
log "starting query-api on $API_URL (admin on 127.0.0.1:$ADMIN_PORT)"
HTTP_ADDR="127.0.0.1:$HTTP_PORT" ADMIN_ADDR="127.0.0.1:$ADMIN_PORT" DATABASE_URL="$(db_url "$DB")" \
  REDIS_URL="$REDIS_URL" ORDER_CACHE_KEY_PREFIX="$PREFIX" AUTH_MODE=off RUST_LOG=info LOG_FORMAT=json \
  "$API" >"$WORK/query-api.log" 2>&1 &
PIDS+=($!)
API_PID=$!

wait_ready ingest "http://127.0.0.1:$METRICS_PORT" "$INGEST_PID"
wait_ready query-api "$API_URL" "$API_PID"

# The server's checkpoints and WAL during the run: a checkpoint's writes and fsyncs are what
# stalls PostgreSQL's commits for hundreds of milliseconds on this machine (the tail's cause).
pg_state() { psql -qXAt "$(db_url "$DB")" -F ' ' -c \
  "SELECT checkpoints_timed + checkpoints_req, pg_current_wal_lsn() FROM pg_stat_bgwriter"; }
read -r CHECKPOINTS0 WAL0 < <(pg_state)
# Creating the database forced a checkpoint, and earlier benchmarks (or builds) may have left
# gigabytes dirty in the page cache: the disk writes them back for tens of seconds after the CPU
# is quiet, and every commit's WAL fsync queues behind that (p50 198 ms, p99 1.75 s in a full run
# that started while it went on). The run measures the pipeline on a quiet disk: wait for it.
log "waiting for the disk to write back what is dirty (sync)"
sync
# The disk under PostgreSQL's data during the run, from /proc/diskstats: what the kernel asked of
# it (writes, cache flushes, discards) and how long those took. A tail that comes with slow flushes
# or many discards is the disk's (this machine's root filesystem is mounted with online discard),
# not the pipeline's.
DISK="$(basename "$(df --output=source /var/lib/postgresql 2>/dev/null | tail -n 1)")"
disk_state() { # -> "writes MB-written ms-writing discards ms-discarding flushes ms-flushing"
  awk -v d="$DISK" '$3 == d {printf "%d %d %d %d %d %d %d\n", $8, $10 / 2048, $11, $15, $18, $19, $20; f = 1}
    END {if (!f) print "0 0 0 0 0 0 0"}' /proc/diskstats
}
# CPU time the hypervisor gave to other guests (steal) during the run: a slower machine, not the
# pipeline's doing.
cpu_state() { awk '$1 == "cpu" { for (i = 2; i <= NF; i++) t += $i; print t, $9 }' /proc/stat; } # -> total steal
read -r -a DISK0 < <(disk_state)
read -r -a CPU0 < <(cpu_state)
log "streaming $RATE orders/s for $RUN_SECS s, timing one in $SAMPLE_EVERY"
"$HELPER" --url "$API_URL" --topic "${TOPICS[0]}" --brokers "$BROKERS" --rate "$RATE" \
  --seconds "$RUN_SECS" --sample-every "$SAMPLE_EVERY" --poll-ms "$POLL_MS" >"$WORK/fresh.out" ||
  { cat "$WORK/fresh.out" >&2; tail -20 "$WORK/ingest.log" >&2; echo "the freshness helper failed" >&2; exit 1; }
read -r -a DISK1 < <(disk_state)
read -r -a CPU1 < <(cpu_state)
STEAL_PCT="$(awk -v t=$((CPU1[0] - CPU0[0])) -v s=$((CPU1[1] - CPU0[1])) 'BEGIN { printf "%.1f", (t > 0 ? 100 * s / t : 0) }')"
read -r CHECKPOINTS1 WAL1 < <(pg_state)
disk_delta() { echo $(( DISK1[$1] - DISK0[$1] )); }
per_op_ms() { # ms-index ops-index -> mean ms per operation ("-" without operations)
  awk -v t="$(disk_delta "$1")" -v n="$(disk_delta "$2")" 'BEGIN { if (n > 0) printf "%.2f", t / n; else print "-" }'
}
DISK_MB="$(disk_delta 1)" DISK_FLUSHES="$(disk_delta 5)" DISK_DISCARDS="$(disk_delta 3)"
FLUSH_MS="$(per_op_ms 6 5)" DISCARD_MS="$(per_op_ms 4 3)" WRITE_MS="$(per_op_ms 2 0)"
CHECKPOINTS=$((CHECKPOINTS1 - CHECKPOINTS0))
WAL_MB="$(psql -qXAt "$(db_url "$DB")" -c "SELECT round(pg_wal_lsn_diff('$WAL1', '$WAL0') / 1e6)")"
FRESH="$(sed -n 's/^FRESH_JSON //p' "$WORK/fresh.out")"
[ -n "$FRESH" ] || { echo "the helper printed no FRESH_JSON line" >&2; exit 1; }

field() { # name -> that field of the helper's JSON ("null" when absent)
  python3 -c 'import json, sys; v = json.loads(sys.argv[1]).get(sys.argv[2]); print("null" if v is None else v)' \
    "$FRESH" "$1"
}
P50="$(field p50_ms)" P95="$(field p95_ms)" P99="$(field p99_ms)" MAX="$(field max_ms)"
ACK50="$(field ack_p50_ms)" ACK99="$(field ack_p99_ms)"
SAMPLED="$(field sampled)" SERVED="$(field served)" TIMEOUTS="$(field timeouts)"
COUNT="$(field count)" ACHIEVED="$(field achieved_rps)" POLLS="$(field polls)"

# Where the time went, from ingest's own histograms (sums in seconds, counts in batches).
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics.txt" 2>/dev/null || true
metric() { awk -v m="$1" '$1 == m { print $2 }' "$WORK/metrics.txt"; }
mean_ms() { # sum-metric count-metric -> mean in ms ("null" without batches)
  awk -v s="$(metric "$1")" -v c="$(metric "$2")" 'BEGIN { if (c > 0) printf "%.1f", s * 1000 / c; else print "null" }'
}
BATCHES="$(metric ingest_batch_size_count)"
BATCH_MEAN="$(awk -v s="$(metric ingest_batch_size_sum)" -v c="${BATCHES:-0}" \
  'BEGIN { if (c > 0) printf "%.0f", s / c; else print "null" }')"
SETTLE_MS="$(mean_ms ingest_batch_duration_seconds_sum ingest_batch_duration_seconds_count)"
STORE_MS="$(mean_ms ingest_store_duration_seconds_sum ingest_store_duration_seconds_count)"
over_250ms() { # histogram -> its observations above 0.25 s (a bucket bound), the stalls
  awk -v c="$(metric "${1}_count")" -v b="$(metric "${1}_bucket{le=\"0.25\"}")" 'BEGIN { print c - b }'
}
SLOW_BATCHES="$(over_250ms ingest_batch_duration_seconds)"
SLOW_STORES="$(over_250ms ingest_store_duration_seconds)"

LOAD="$(cut -d' ' -f1 /proc/loadavg)" # what else shared the two cores
P50_OK="$(judge bench.freshness.p50_ms "$P50")"
P99_OK="$(judge bench.freshness.p99_ms "$P99")"

echo
printf '%-48s %10s\n' "orders sent (achieved rate, orders/s)" "$COUNT ($ACHIEVED)"
printf '%-48s %10s\n' "sampled / served / timed out" "$SAMPLED / $SERVED / $TIMEOUTS"
printf '%-48s %10s\n' "poll requests (404s and the 200s)" "$POLLS"
printf '%-48s %7s ms  (%s the %s ms target)\n' "send -> first 200, p50" "$P50" "$P50_OK" "$TARGET_P50_MS"
printf '%-48s %7s ms\n' "send -> first 200, p95" "$P95"
printf '%-48s %7s ms  (%s the %s ms target)\n' "send -> first 200, p99" "$P99" "$P99_OK" "$TARGET_P99_MS"
printf '%-48s %7s ms\n' "send -> first 200, max" "$MAX"
printf '%-48s %7s ms / %s ms\n' "send -> broker ack, p50 / p99" "$ACK50" "$ACK99"
printf '%-48s %7s\n' "ingest batches (mean records per batch)" "${BATCHES:-?} ($BATCH_MEAN)"
printf '%-48s %7s ms / %s ms\n' "ingest mean batch settle / of which PostgreSQL" "$SETTLE_MS" "$STORE_MS"
printf '%-48s %7s / %s\n' "ingest batches over 250 ms / PostgreSQL inserts" "$SLOW_BATCHES" "$SLOW_STORES"
printf '%-48s %7s / %s MB\n' "PostgreSQL checkpoints / WAL during the run" "$CHECKPOINTS" "$WAL_MB"
printf '%-48s %7s / %s %%\n' "load average (1 min) at the end / CPU steal" "$LOAD" "$STEAL_PCT"
printf '%-48s %7s MB, %s ms per write\n' "disk ($DISK) during the run: written" "$DISK_MB" "$WRITE_MS"
printf '%-48s %7s, %s ms each / %s, %s ms each\n' "disk cache flushes / discards" \
  "$DISK_FLUSHES" "$FLUSH_MS" "$DISK_DISCARDS" "$DISCARD_MS"
printf 'BENCH_JSON {"rate":%s,"seconds":%s,"count":%s,"achieved_rps":%s,"sampled":%s,"served":%s,"timeouts":%s,"polls":%s,"p50_ms":%s,"p95_ms":%s,"p99_ms":%s,"max_ms":%s,"ack_p50_ms":%s,"ack_p99_ms":%s,"batches":%s,"batch_mean":%s,"batch_settle_ms":%s,"batch_store_ms":%s,"slow_batches":%s,"slow_stores":%s,"p50_target_ms":%s,"p99_target_ms":%s,"p50_verdict":"%s","p99_verdict":"%s","checkpoints":%s,"wal_mb":%s,"load_avg_1m":%s,"cpu_steal_pct":%s,"disk_written_mb":%s,"disk_flushes":%s,"disk_flush_ms":"%s","disk_discards":%s,"disk_discard_ms":"%s"}\n' \
  "$RATE" "$RUN_SECS" "$COUNT" "$ACHIEVED" "$SAMPLED" "$SERVED" "$TIMEOUTS" "$POLLS" "$P50" "$P95" "$P99" "$MAX" \
  "$ACK50" "$ACK99" "${BATCHES:-null}" "$BATCH_MEAN" "$SETTLE_MS" "$STORE_MS" "$SLOW_BATCHES" "$SLOW_STORES" "$TARGET_P50_MS" "$TARGET_P99_MS" \
  "$P50_OK" "$P99_OK" "$CHECKPOINTS" "${WAL_MB:-null}" "$LOAD" "$STEAL_PCT" "$DISK_MB" "$DISK_FLUSHES" "$FLUSH_MS" \
  "$DISK_DISCARDS" "$DISCARD_MS"
