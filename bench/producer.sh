#!/usr/bin/env bash
# Throughput of producer-sim against Apache Kafka's own producer benchmark on the same broker,
# same settings (acks=all, idempotence, lz4, linger 5 ms), same record count and value size; and
# `producer-sim validate` lines/s on one core (taskset) over orders like the ones sent.
#
#   bench/producer.sh            500,000 records each; validate 200,000 lines
#   bench/producer.sh --quick    50,000 records each; validate 50,000 lines
#
# Needs the local stack (scripts/stack.sh up). Prints records/s for both, the ratio (its target:
# bench.producer.vs_java in scripts/pipelinekit/targets.toml), validate's lines/s (target:
# bench.producer.validate_lines_per_s) and one `BENCH_JSON {...}` line.
#
# On fairness: with --record-size, ProducerPerformance fills every record with fresh random
# letters (which lz4 barely compresses) and sends no key or headers; producer-sim generates each
# order (key, 3 headers, distinct JSON that compresses ~2x) on the fly. A third run feeds
# ProducerPerformance our own orders, pre-generated (--payload-file), as a second reference.
set -euo pipefail

KAFKA_HEAP="-Xms256m -Xmx1g"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PARTITIONS=6
RECORDS=500000
VALIDATE_LINES=200000
SEED=20240601
BASE_TIME=2025-06-01T12:00:00Z

bench_args 16 "$@"
if [ "$QUICK" = 1 ]; then RECORDS=50000 VALIDATE_LINES=50000; fi
eval "$(kit targets --shell bench.producer)" # TARGET_VS_JAVA, TARGET_VALIDATE_LINES_PER_S

require_kafka

WORK="$(mktemp -d)"
RUN_ID="$(date +%s)-$$"
# One fresh topic per run: producer-sim's, then ProducerPerformance's with fixed-size and with
# our orders as payload.
SIM_TOPIC="bench.sim.$RUN_ID"
java_topic() { printf 'bench.java.%s.%s' "$1" "$RUN_ID"; }
SCRATCH=(--topic "$SIM_TOPIC" --topic "$(java_topic fixed)" --topic "$(java_topic orders)" --partitions "$PARTITIONS")
cleanup() {
  kit scratch drop "${SCRATCH[@]}" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "building producer-sim (release)"
(cd "$ROOT" && cargo build --release -q -p producer-sim)
SIM="$TARGET_DIR/release/producer-sim"

# The value size ProducerPerformance should use: the mean of the orders we are about to send.
"$SIM" --print --rate 0 --count 20000 --seed "$SEED" --base-time "$BASE_TIME" >"$WORK/orders.jsonl" 2>/dev/null
RECORD_SIZE=$(( $(wc -c <"$WORK/orders.jsonl") / $(wc -l <"$WORK/orders.jsonl") - 1 ))
log "mean order value: $RECORD_SIZE bytes; $RECORDS records per run; $PARTITIONS partitions"

log "creating topics ($PARTITIONS partitions)"
kit scratch create "${SCRATCH[@]}"
log "producer-sim → $SIM_TOPIC"
"$SIM" --kafka-brokers "$BROKERS" --topic "$SIM_TOPIC" --rate 0 --count "$RECORDS" \
  --seed "$SEED" --base-time "$BASE_TIME" 2>"$WORK/sim.err" >/dev/null || {
  cat "$WORK/sim.err" >&2
  exit 1
}
SIM_SUMMARY="$(grep 'producer-sim: sent' "$WORK/sim.err")"
SIM_RPS="$(sed -E 's/.*rate ([0-9]+) records\/s.*/\1/' <<<"$SIM_SUMMARY")"
log "$SIM_SUMMARY"

# Runs ProducerPerformance on a fresh topic; prints its records/s. Extra arguments pick the payload.
java_perf() { # label, payload arguments...
  local label="$1" topic
  topic="$(java_topic "$1")"
  shift
  log "ProducerPerformance ($label) → $topic"
  kafka_java org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$RECORDS" \
    "$@" --throughput -1 --producer-props bootstrap.servers="$BROKERS" acks=all \
    enable.idempotence=true compression.type=lz4 linger.ms=5 >"$WORK/java-$label.out" 2>&1
  local total
  total="$(grep 'records sent' "$WORK/java-$label.out" | tail -1)"
  log "$total"
  sed -E 's/.* records sent, ([0-9.]+) records\/sec.*/\1/' <<<"$total" | cut -d. -f1
}

# `validate` on one core, over orders like the ones sent (all valid: the verdicts are all `ok`).
"$SIM" --print --rate 0 --count "$VALIDATE_LINES" --seed "$SEED" --base-time "$BASE_TIME" \
  >"$WORK/validate.jsonl" 2>/dev/null
pin=(); command -v taskset >/dev/null 2>&1 && pin=(taskset -c 0)
"${pin[@]}" "$SIM" validate "$WORK/validate.jsonl" >/dev/null 2>"$WORK/validate.err" || {
  cat "$WORK/validate.err" >&2
  exit 1
}
VALIDATE_LPS="$(sed -nE 's/.*\(([0-9]+) lines\/s\).*/\1/p' "$WORK/validate.err")"
log "$(cat "$WORK/validate.err")"

JAVA_RPS="$(java_perf fixed --record-size "$RECORD_SIZE")"
JAVA_FILE_RPS="$(java_perf orders --payload-file "$WORK/orders.jsonl")"

RATIO="$(awk -v a="$SIM_RPS" -v b="$JAVA_RPS" 'BEGIN { printf "%.2f", a / b }')"
RATIO_FILE="$(awk -v a="$SIM_RPS" -v b="$JAVA_FILE_RPS" 'BEGIN { printf "%.2f", a / b }')"
VERDICT="$(judge bench.producer.vs_java "$RATIO")"

echo
printf '%-46s %10s records/s\n' "producer-sim (generated orders, key+headers)" "$SIM_RPS"
printf '%-46s %10s records/s\n' "ProducerPerformance (--record-size $RECORD_SIZE)" "$JAVA_RPS"
printf '%-46s %10s records/s\n' "ProducerPerformance (--payload-file orders)" "$JAVA_FILE_RPS"
printf 'ratio producer-sim / ProducerPerformance: %s (%s the %s target); vs payload-file run: %s\n' \
  "$RATIO" "$VERDICT" "$TARGET_VS_JAVA" "$RATIO_FILE"
printf '%-46s %10s lines/s (target >= %s)\n' "producer-sim validate, one core" "$VALIDATE_LPS" \
  "$TARGET_VALIDATE_LINES_PER_S"
printf 'BENCH_JSON {"records":%d,"partitions":%d,"record_size":%d,"producer_sim_rps":%d,"java_perf_rps":%d,"java_perf_payload_file_rps":%d,"ratio":%s,"ratio_payload_file":%s,"target":%s,"validate_lines":%d,"validate_lps":%d}\n' \
  "$RECORDS" "$PARTITIONS" "$RECORD_SIZE" "$SIM_RPS" "$JAVA_RPS" "$JAVA_FILE_RPS" "$RATIO" "$RATIO_FILE" "$TARGET_VS_JAVA" \
  "$VALIDATE_LINES" "$VALIDATE_LPS"
