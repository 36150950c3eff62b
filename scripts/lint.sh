#!/usr/bin/env bash
# Every lint the project has, the same for a developer (`make lint`) as for CI (.ci/run):
#   - fmt:         cargo fmt --check
#   - clippy:      cargo clippy --workspace --all-targets -D warnings
#   - ruff:        ruff check over every tracked Python file (settings: ruff.toml)
#   - shellcheck:  -S warning over every tracked shell script (*.sh and shell shebangs)
#   - sizes:       no shell script over 300 lines, no Python or Rust file over 400
#   - deny:        cargo deny check (licences, bans, sources, advisories; deny.toml) for the
#                  workspace and fuzz/, advisories from the offline RustSec snapshot
# ruff, cargo-deny and the advisory database are installed once into $ORDERS_CACHE/tools
# (scripts/tools.sh); shellcheck comes from apt-get when missing.
#
#   scripts/lint.sh [--only STEP,...] [--skip STEP,...]
# Exit status: 0 when every step passes, 1 when one fails (all steps run), 2 on a setup error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

STEPS=(fmt clippy ruff shellcheck sizes deny)
only="" skip=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:?--only needs steps}"; shift 2 ;;
    --skip) skip="${2:?--skip needs steps}"; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lint: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
wanted() { # step
  [[ ",$skip," != *",$1,"* ]] && { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
}

# Tracked files, NUL-separated, so names with spaces survive.
tracked_python() { git ls-files -z -- '*.py'; }
tracked_rust() { git ls-files -z -- '*.rs'; }
tracked_shell() {
  local f
  while IFS= read -r -d '' f; do
    case "$f" in
      *.sh) printf '%s\0' "$f" ;;
      */*.* | *.*) ;;
      *) head -n1 -- "$f" 2>/dev/null | grep -Eq '^#!.*\b(ba|da|k)?sh\b' && printf '%s\0' "$f" ;;
    esac
  done < <(git ls-files -z)
}

lint_fmt() { cargo fmt --all -- --check; }
lint_clippy() { cargo clippy --workspace --all-targets -- -D warnings; }
lint_ruff() {
  local ruff
  ruff="$(ruff_bin)" || return 2
  tracked_python | xargs -0 -r "$ruff" check --no-cache --quiet --
}
lint_shellcheck() {
  local shellcheck
  shellcheck="$(shellcheck_bin)" || return 2
  # -x follows `source` lines (their `# shellcheck source=` paths are relative to the root).
  tracked_shell | xargs -0 -r "$shellcheck" -x -S warning --
}
# Names each file of the NUL-separated list on stdin that is over MAX lines; fails if any is.
over_lines() { # MAX KIND
  local f n rc=0
  while IFS= read -r -d '' f; do
    n=$(wc -l <"$f")
    if [ "$n" -gt "$1" ]; then echo "$f: $n lines ($2: at most $1)"; rc=1; fi
  done
  return $rc
}
lint_sizes() {
  local rc=0
  tracked_shell | over_lines 300 "shell scripts" || rc=1
  tracked_python | over_lines 400 "source files" || rc=1
  tracked_rust | over_lines 400 "source files" || rc=1
  return $rc
}
lint_deny() {
  local deny manifest
  deny="$(cargo_deny_bin)" || return 2
  rustsec_db >/dev/null || return 2
  for manifest in Cargo.toml fuzz/Cargo.toml; do
    # Crates of every platform's dependencies, from the registry (cached after the first run),
    # so that cargo-deny itself can run offline: it never fetches the advisory database.
    cargo fetch --locked --manifest-path "$manifest" || return 2
    echo "cargo deny: $manifest (warnings counted; DENY_LOG_LEVEL=warn prints them, e.g. duplicate versions)"
    "$deny" --frozen --manifest-path "$manifest" --config deny.toml --log-level "${DENY_LOG_LEVEL:-error}" \
      check --show-stats --hide-inclusion-graph || return 1
  done
}

failed=()
start=$(date +%s)
for step in "${STEPS[@]}"; do
  wanted "$step" || continue
  printf '\n--> [lint +%ss] %s\n' "$(($(date +%s) - start))" "$step"
  rc=0
  "lint_$step" || rc=$?
  if [ "$rc" -eq 2 ]; then echo "lint: $step could not run (setup error)" >&2; exit 2; fi
  [ "$rc" -eq 0 ] || failed+=("$step")
done
if [ ${#failed[@]} -gt 0 ]; then
  printf '\nlint: FAILED: %s (after %ss)\n' "${failed[*]}" "$(($(date +%s) - start))" >&2
  exit 1
fi
printf '\nlint: all passed in %ss\n' "$(($(date +%s) - start))"
