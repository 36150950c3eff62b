#!/usr/bin/env bash
# Validates docs/asyncapi.yaml (and the order schema it references) with the official AsyncAPI
# parser from the npm registry. The packages of package-lock.json are installed once with
# `npm ci` into the cache outside the clone ($ORDERS_CACHE/npm/asyncapi-<lock digest>), so reruns
# and fresh clones on the same machine skip the install. Installs Node.js (Debian) when missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/env.sh
source "$repo/scripts/env.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "[asyncapi] installing Node.js and npm" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "asyncapi: node and npm are missing (apt-get install -y nodejs npm)" >&2
    exit 1
  fi
fi

digest="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)"
deps="$ORDERS_CACHE/npm/asyncapi-$digest"
if [[ ! -f "$deps/.installed" ]]; then
  rm -rf "$deps" # an interrupted install
  mkdir -p "$ORDERS_CACHE/npm"
  staging="$(mktemp -d "$ORDERS_CACHE/npm/asyncapi-staging.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  cp "$here/package.json" "$here/package-lock.json" "$staging/"
  (cd "$staging" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$staging/.installed"
  # A concurrent run may have finished first; either copy is complete.
  mv -T "$staging" "$deps" 2>/dev/null || rm -rf "$staging"
fi
ASYNCAPI_DEPS="$deps" exec node "$here/validate.mjs" "$repo/docs/asyncapi.yaml"
