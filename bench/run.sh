#!/usr/bin/env bash
# Every benchmark next to its same-run reference, one table at the end (see docs/BENCHMARKS.md).
#   bench/run.sh           full run (~20 min)
#   bench/run.sh --quick   sanity check (< 5 min)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
exec python3 bench/run.py "$@"
