#!/usr/bin/env bash
# Offline validation of the deployment and observability files (Dockerfile, .dockerignore,
# docker-compose.yml, .env.template, k8s/, deploy/): no Docker engine and no cluster needed,
# nothing is started. The checks are the Python package scripts/deploycheck/ (see its modules);
# this wrapper provides what it runs with, each installed once into $ORDERS_CACHE/tools:
#   - a venv with scripts/deploycheck/requirements.txt (PyPI),
#   - kustomize, built from the Go module proxy at a pinned version (scripts/tools.sh),
#   - promtool, from Debian's prometheus package (unpacked, not installed).
# KUSTOMIZE=/path or PROMTOOL=/path use other binaries; K8S_VERSION picks the schemas.
#
# Usage: scripts/validate-deploy.sh [--metric-names FILE] [-h|--help]
# Exit status: 0 when everything passes, 1 on any failure, 2 on a usage or setup error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"

venv="$(venv_dir deploy "$ROOT/scripts/deploycheck/requirements.txt")" || exit 2
KUSTOMIZE="${KUSTOMIZE:-$(kustomize_bin)}" || exit 2
PROMTOOL="${PROMTOOL:-$(promtool_bin)}" || exit 2
export ROOT KUSTOMIZE PROMTOOL K8S_VERSION="${K8S_VERSION:-1.32.0}"
export PATH="$venv/bin:$PATH" PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m deploycheck "$@"
