# Sourced (after scripts/env.sh): the lint and validation tools, each fetched or built once at a
# pinned version into $ORDERS_CACHE/tools and reused, so a fresh clone needs only package
# registries and a CI rerun on the same machine installs nothing. Each *_bin function prints the
# tool's path (installing it first when missing); its log goes to $ORDERS_CACHE/tools/logs.
# shellcheck shell=bash

TOOLS="$ORDERS_CACHE/tools"
KUSTOMIZE_VERSION="v5.8.2"   # needs Go >= 1.26; Go module sigs.k8s.io/kustomize/kustomize/v5
CARGO_DENY_VERSION="0.20.2"
RUFF_VERSION="0.17.6"
INFERNO_VERSION="0.12.8"
PROMETHEUS_DEB="2.42.0+ds-5+deb12u1" # Debian 12's prometheus package; only its promtool is used

tools_log() { printf '[tools] %s\n' "$*" >&2; }
tools_die() { printf '[tools] error: %s\n' "$*" >&2; exit 2; }

# Runs "$@" holding the tool's lock: parallel CI jobs on one machine share the cache, and the
# second one must wait for, then reuse, what the first one installs.
tools_locked() { # name command...
  local name="$1"; shift
  mkdir -p "$TOOLS/logs"
  (
    flock 9
    "$@"
  ) 9>"$TOOLS/.$name.lock"
}

apt_get_install() { # package...
  [ "$(id -u)" -eq 0 ] || tools_die "$* missing and not root: apt-get install $*"
  tools_log "installing $* (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || tools_die "apt-get install $* failed"
}

# ------------------------------------------------------------------- kustomize
_build_kustomize() {
  local dir="$TOOLS/kustomize-$KUSTOMIZE_VERSION"
  [ -x "$dir/kustomize" ] && return 0
  command -v go >/dev/null || tools_die "Go is needed to build kustomize (on these machines: /usr/local/go/bin)"
  tools_log "building kustomize $KUSTOMIZE_VERSION from the Go module proxy (first time only)"
  rm -rf "$dir.tmp"
  GOBIN="$dir.tmp" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" \
    >"$TOOLS/logs/kustomize-build.log" 2>&1 || tools_die "building kustomize failed (see $TOOLS/logs/kustomize-build.log)"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}
kustomize_bin() {
  [ -d /usr/local/go/bin ] && PATH="$PATH:/usr/local/go/bin"
  tools_locked kustomize _build_kustomize || return
  printf '%s\n' "$TOOLS/kustomize-$KUSTOMIZE_VERSION/kustomize"
}

# ------------------------------------------------------------------- tools from crates
# `cargo install --locked` into $TOOLS/<crate>-<version>, moved into place only when it built.
# A private target folder, removed afterwards: a tool's build must not share (or fill) the
# project's target folder.
_build_cargo_tool() { # crate version
  local dir="$TOOLS/$1-$2"
  [ -d "$dir/bin" ] && return 0
  tools_log "building $1 $2 (cargo install --locked; first time only, several minutes)"
  rm -rf "$dir.tmp"
  cargo install --locked --quiet "$1@$2" --root "$dir.tmp" --target-dir "$TOOLS/build/$1" \
    >"$TOOLS/logs/$1-build.log" 2>&1 || tools_die "building $1 failed (see $TOOLS/logs/$1-build.log)"
  rm -rf "$dir" "$TOOLS/build/$1" && mv "$dir.tmp" "$dir"
}
cargo_deny_bin() {
  tools_locked cargo-deny _build_cargo_tool cargo-deny "$CARGO_DENY_VERSION" || return
  printf '%s\n' "$TOOLS/cargo-deny-$CARGO_DENY_VERSION/bin/cargo-deny"
}
inferno_dir() { # bench/flame.sh's flame graphs: inferno-collapse-perf and inferno-flamegraph
  tools_locked inferno _build_cargo_tool inferno "$INFERNO_VERSION" || return
  printf '%s\n' "$TOOLS/inferno-$INFERNO_VERSION/bin"
}

# The RustSec advisory database, offline: the snapshot archive (../shared/data/README.md) is
# unpacked into the cache as the git checkout cargo-deny expects, once per archive content.
rustsec_archive() {
  local root candidate
  if [ -n "${RUSTSEC_DB_ARCHIVE:-}" ]; then
    [ -f "$RUSTSEC_DB_ARCHIVE" ] || tools_die "RUSTSEC_DB_ARCHIVE=$RUSTSEC_DB_ARCHIVE is not a file"
    printf '%s\n' "$RUSTSEC_DB_ARCHIVE"; return 0
  fi
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for candidate in "$root/../shared/data/rustsec-advisory-db.tar.gz" \
    /work/shared/data/rustsec-advisory-db.tar.gz; do
    [ -f "$candidate" ] && { printf '%s\n' "$candidate"; return 0; }
  done
  tools_die "no RustSec snapshot: set RUSTSEC_DB_ARCHIVE to rustsec-advisory-db.tar.gz"
}
# cargo-deny looks for the default database in <db-path>/advisory-db-<hash of its URL>.
RUSTSEC_DB_DIR="$TOOLS/advisory-dbs"
RUSTSEC_DB_NAME="advisory-db-3157b0e258782691"
_unpack_rustsec() { # archive
  local dest="$RUSTSEC_DB_DIR/$RUSTSEC_DB_NAME" sum
  sum="$(sha256sum "$1" | cut -d' ' -f1)"
  [ "$(cat "$dest/.archive-sha256" 2>/dev/null)" = "$sum" ] && return 0
  tools_log "unpacking the RustSec advisory snapshot $1"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  tar -xzf "$1" -C "$dest.tmp" --strip-components=1 || tools_die "cannot unpack $1"
  # A one-commit repository dated like the snapshot's newest advisory, so the database's age is
  # that of its content rather than of this unpacking.
  local when
  when="$(find "$dest.tmp/crates" -name '*.md' -printf '%TY-%Tm-%TdT%TH:%TM:%TS\n' | sort | tail -1 | cut -d. -f1)"
  (cd "$dest.tmp" && git init -q && git add -A &&
    GIT_AUTHOR_DATE="$when" GIT_COMMITTER_DATE="$when" git -c user.name=snapshot -c user.email=snapshot@localhost \
      commit -q -m "RustSec advisory-db snapshot ($1)") || tools_die "cannot make a git repository of the snapshot"
  printf '%s\n' "$sum" >"$dest.tmp/.archive-sha256"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}
rustsec_db() {
  local archive
  archive="$(rustsec_archive)" || return
  tools_locked advisory-db _unpack_rustsec "$archive" || return
  printf '%s\n' "$RUSTSEC_DB_DIR"
}

# ------------------------------------------------------------------- Python venvs, ruff
# A venv holding exactly the given pinned requirements; rebuilt when they change.
_make_venv() { # name requirement...
  local venv="$TOOLS/venv-$1" want; shift
  want="$(printf '%s\n' "$@")"
  [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements" 2>/dev/null)" = "$want" ] && return 0
  tools_log "installing $* into $venv (pip; once per change of the pins)"
  rm -rf "$venv"
  python3 -m venv "$venv" || tools_die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >"$TOOLS/logs/venv-${venv##*/venv-}.log" 2>&1 ||
    { rm -rf "$venv"; tools_die "pip install failed (see $TOOLS/logs/venv-${venv##*/venv-}.log)"; }
  printf '%s\n' "$want" >"$venv/.requirements"
}
venv_dir() { # name requirements-file: prints the venv's folder
  local reqs=()
  mapfile -t reqs < <(grep -Ev '^[[:space:]]*(#|$)' "$2")
  tools_locked "venv-$1" _make_venv "$1" "${reqs[@]}" || return
  printf '%s\n' "$TOOLS/venv-$1"
}
ruff_bin() {
  tools_locked venv-ruff _make_venv ruff "ruff==$RUFF_VERSION" || return
  printf '%s\n' "$TOOLS/venv-ruff/bin/ruff"
}

# ------------------------------------------------------------------- shellcheck, promtool
shellcheck_bin() {
  command -v shellcheck >/dev/null || tools_locked apt apt_get_install shellcheck || return
  command -v shellcheck
}

# promtool comes out of Debian's prometheus package without installing that package: installing
# it would start a Prometheus server (and pull in node-exporter on port 9100, ingest's metrics
# port) on machines whose apt starts services.
_unpack_promtool() {
  local dir="$TOOLS/prometheus-$PROMETHEUS_DEB"
  [ -x "$dir/usr/bin/promtool" ] && return 0
  tools_log "fetching promtool (Debian package prometheus $PROMETHEUS_DEB, unpacked, not installed)"
  local work="$TOOLS/build/prometheus"
  rm -rf "$work" "$dir.tmp" && mkdir -p "$work"
  if ! (cd "$work" && apt-get download "prometheus=$PROMETHEUS_DEB") >"$TOOLS/logs/promtool.log" 2>&1; then
    [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$TOOLS/logs/promtool.log" 2>&1
    (cd "$work" && apt-get download "prometheus=$PROMETHEUS_DEB") >>"$TOOLS/logs/promtool.log" 2>&1 ||
      tools_die "apt-get download prometheus failed (see $TOOLS/logs/promtool.log)"
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$dir.tmp" || tools_die "cannot unpack the prometheus package"
  rm -rf "$work" "$dir" && mv "$dir.tmp" "$dir"
}
promtool_bin() {
  if command -v promtool >/dev/null; then command -v promtool; return 0; fi
  tools_locked promtool _unpack_promtool || return
  printf '%s\n' "$TOOLS/prometheus-$PROMETHEUS_DEB/usr/bin/promtool"
}
