# Helpers every part of the local stack uses: logging, ports, packages, the cached Kafka jars and
# stopping a process by its pid file. Sourced by scripts/stack.sh (which sets ROOT, STATE, CACHE).
# shellcheck shell=bash
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh" # the cache folder and PostgreSQL's client tools (use_pg_client_tools)

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
mark_started() { touch "$STATE/started.$1"; }

wait_port() { # port name seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    port_open "$1" && return 0
    sleep 0.2
  done
  die "$2 did not open port $1 within $3 s (logs: $LOGS)"
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$LOGS/apt.log" 2>&1 || true
  apt-get install -y -qq "${missing[@]}" >>"$LOGS/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed (see $LOGS/apt.log)"
  use_pg_client_tools
}

pg_version() {
  [ -n "$PG_VERSION" ] || PG_VERSION="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)"
  echo "$PG_VERSION"
}

kafka_jars() {
  if [ ! -f "$JARS/.complete" ] || ! cmp -s "$ROOT/scripts/kafka/pom.xml" "$JARS/.pom"; then
    command -v mvn >/dev/null || apt_install maven
    log "fetching Apache Kafka jars with Maven into $JARS"
    rm -rf "$JARS"; mkdir -p "$JARS"
    (cd "$ROOT/scripts/kafka" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$JARS") \
      >"$LOGS/maven.log" 2>&1 || die "mvn dependency:copy-dependencies failed (see $LOGS/maven.log)"
    cp "$ROOT/scripts/kafka/pom.xml" "$JARS/.pom"
    touch "$JARS/.complete"
  fi
}

kafka_java() { # runs a Kafka class with the cached jars
  java -Xms64m -Xmx512m -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2-tools.yaml" -cp "$JARS/*" "$@"
}

stop_pidfile() { # pidfile: TERM the process it names, wait up to 30 s, then KILL
  [ -f "$1" ] || return 0
  local pid; pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

node_verbs() { # engine id...: `stack.sh start|stop|kill <engine>-<id>` call <engine>_node_<verb> <id>
  local engine="$1" id verb; shift
  for id in "$@"; do
    for verb in start stop kill; do
      eval "${engine}_${id}_${verb}() { ${engine}_node_${verb} ${id}; }"
    done
  done
}
