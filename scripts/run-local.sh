#!/usr/bin/env bash
# The whole pipeline on this machine, no Docker: local stack, schema migrations, ingest,
# query-api and producer-sim feeding a trickle of orders. Ctrl-C stops the three binaries (the
# stack keeps running; `scripts/stack.sh down` stops it). query-api runs with AUTH_MODE=api-key
# and a local key (made once, kept in .stack/; only its SHA-256 is in the keys file): the last
# lines printed say which URL to open and which key to paste.
#   RATE=20 scripts/run-local.sh     # orders per second from the simulator (default 2)
#   TRACES=1 scripts/run-local.sh    # also run Jaeger and export traces to it (the first time
#                                    # builds Jaeger: ~5 min); default: on when Jaeger is built
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh
ensure_build_tools
LOGS="$ROOT/.stack/logs"
RATE="${RATE:-2}"

scripts/stack.sh up
# Traces: on when asked, or when Jaeger is already built (`make test` builds it).
JAEGER_BUILT="$(ls "$ORDERS_CACHE"/jaeger/*/jaeger 2>/dev/null | head -1 || true)"
TRACES="${TRACES:-$([ -n "$JAEGER_BUILT" ] && echo 1 || echo 0)}"
TRACES_LINE="    Traces:        off (TRACES=1 make run builds and starts Jaeger)"
if [ "$TRACES" = 1 ]; then
  scripts/stack.sh start jaeger
  export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318"
  TRACES_LINE="    Traces:        http://localhost:16686/   (Jaeger: producer-sim → ingest → query-api)"
fi
echo "[run] building the binaries (first time: a few minutes)"
cargo build --release --bins -q
BIN="$CARGO_TARGET_DIR/release"

"$BIN/ingest" migrate up

# A local API key with both scopes, reused across runs so an open tab keeps working.
KEYS_DIR="$ROOT/.stack/query-api"
mkdir -p "$KEYS_DIR" && chmod 700 "$KEYS_DIR"
if [ ! -s "$KEYS_DIR/local-key" ]; then
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$KEYS_DIR/local-key")
fi
API_KEY="$(cat "$KEYS_DIR/local-key")"
(umask 077 && printf 'local %s orders:read,orders:list\n' \
  "$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)" >"$KEYS_DIR/api-keys")

pids=()
cleanup() {
  echo; echo "[run] stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/ingest" run >"$LOGS/ingest.log" 2>&1 &
pids+=($!)
AUTH_MODE=api-key API_KEYS_FILE="$KEYS_DIR/api-keys" ADMIN_ADDR=127.0.0.1:9101 \
  "$BIN/query-api" >"$LOGS/query-api.log" 2>&1 &
pids+=($!)

for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done
"$BIN/producer-sim" --rate "$RATE" --invalid-ratio 0.05 >"$LOGS/producer-sim.log" 2>&1 &
pids+=($!)
cat <<MSG

  The pipeline is running. producer-sim sends $RATE orders/s (5% invalid, to show the
  dead-letter path). Ctrl-C stops it.
    Swagger UI:    http://localhost:8080/swagger   ("Authorize" with the key below)
    Metrics:       query-api http://localhost:9101/metrics   ingest http://localhost:9100/metrics
    Logs:          $LOGS/{ingest,query-api,producer-sim}.log
$TRACES_LINE
    Dead letters:  $BIN/ingest dlq inspect

  Open http://localhost:8080/ and paste this API key when the page asks for a token:
    $API_KEY

MSG
wait "${pids[2]}"
