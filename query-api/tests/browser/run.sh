#!/usr/bin/env bash
# Runs the query-api browser test: installs Debian's Chromium when missing (as root), the npm
# packages from package-lock.json, then the ignored Rust test that starts query-api in-process on
# a free port against a fresh database holding the fixture, and drives it with check.mjs.
# Needs the local stack (scripts/stack.sh up). Screenshots land in target/tmp/browser-screenshots.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "browser test: /usr/bin/chromium is missing (apt-get install -y chromium)" >&2
    exit 1
  fi
fi
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$repo"
exec cargo test -p query-api --test browser -- --ignored --nocapture
