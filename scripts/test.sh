#!/usr/bin/env bash
# The full test suite, from a fresh machine: brings the local stack, the secure one and the
# clustered engines up (installing what is missing), then runs the Rust tests (unit, property and
# integration tests against the real PostgreSQL, Redis and Kafka), the browser test of the web
# page, the check of scripts/db-roles.sql, the AsyncAPI document's check with the official
# parser, and the offline validation of the deployment files. Pass extra arguments through to
# `cargo test` (e.g. a test name filter).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh
ensure_build_tools

step() { printf '\n==> %s\n' "$*"; }

step "local stack"
scripts/stack.sh up
use_pg_client_tools # a fresh machine has PostgreSQL only now
# These start while cargo compiles the tests, each with its log: Jaeger, where the trace export
# tests look for their spans (built from the Go module proxy the first time), and the secure stack
# of contract §9 (TLS and SASL only), proven by its shell check before any test relies on it.
LOGDIR="${STACK_STATE:-$ROOT/.stack}/logs"
scripts/stack.sh start jaeger >"$LOGDIR/jaeger-start.log" 2>&1 &
jaeger=$!
{ scripts/stack.sh up --secure && scripts/stack/secure-check.sh; } >"$LOGDIR/secure-start.log" 2>&1 &
secure=$!
# The clustered engines of contract §10 (about 1.2 GB of RAM; 1–2.5 min from cold, mostly hidden
# behind the compilation), for the tests that run on a Redis Cluster and a PostgreSQL replica.
scripts/stack.sh up --cluster >"$LOGDIR/cluster-start.log" 2>&1 &
cluster=$!
await() { # pid log: a background start that failed ends the run, showing its log
  wait "$1" || { cat "$2" >&2; exit 1; }
}

step "cargo test (workspace)"
cargo test --workspace --all-targets --no-run
await "$jaeger" "$LOGDIR/jaeger-start.log"
await "$secure" "$LOGDIR/secure-start.log"
tail -n 1 "$LOGDIR/secure-start.log"
await "$cluster" "$LOGDIR/cluster-start.log"
tail -n 1 "$LOGDIR/cluster-start.log"
cargo test --workspace --all-targets --no-fail-fast "$@"

if [ $# -eq 0 ]; then
  step "browser test of the web page and Swagger UI (headless Chromium)"
  bash query-api/tests/browser/run.sh

  step "database roles (scripts/db-roles.sql on a fresh database, both logins' grants)"
  scripts/db-roles-check.sh

  step "AsyncAPI document of the topics (official parser)"
  scripts/asyncapi/validate.sh

  step "deployment files (compose, Kubernetes, Prometheus, Grafana)"
  scripts/validate-deploy.sh
fi
step "all tests passed"
