#!/usr/bin/env bash
# The full test suite, from a fresh machine: brings the local stack up (installing what is
# missing), then runs the Rust tests (unit, property and integration tests against the real
# PostgreSQL, Redis and Kafka), the browser test of the web page, the AsyncAPI document's check
# with the official parser, and the offline validation of the deployment files. Pass extra arguments through to `cargo test` (e.g. a test name filter).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh
ensure_build_tools

step() { printf '\n==> %s\n' "$*"; }

step "local stack"
scripts/stack.sh up
# Jaeger, where the trace export tests look for their spans: the first time it is built from the
# Go module proxy, so that runs while cargo compiles the tests.
JAEGER_LOG="${STACK_STATE:-$ROOT/.stack}/logs/jaeger-start.log"
scripts/stack.sh start jaeger >"$JAEGER_LOG" 2>&1 &
jaeger=$!

step "cargo test (workspace)"
cargo test --workspace --all-targets --no-run
if ! wait "$jaeger"; then
  cat "$JAEGER_LOG" >&2
  exit 1
fi
cargo test --workspace --all-targets --no-fail-fast "$@"

if [ $# -eq 0 ]; then
  step "browser test of the web page and Swagger UI (headless Chromium)"
  bash query-api/tests/browser/run.sh

  step "AsyncAPI document of the topics (official parser)"
  scripts/asyncapi/validate.sh

  step "deployment files (compose, Kubernetes, Prometheus, Grafana)"
  scripts/validate-deploy.sh
fi
step "all tests passed"
