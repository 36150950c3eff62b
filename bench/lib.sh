# Shared by the benchmark scripts (sourced, not run): where things are, logging, the Kafka tools
# from the jars scripts/stack.sh caches, and `kit`, the layer bench/ shares with the drills
# (scripts/pipelinekit: throw-away databases, topics, groups and Redis prefixes; the targets).
# Set KAFKA_HEAP (e.g. "-Xms256m -Xmx1g") before sourcing to size the JVM of the Kafka tools.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
JARS="${ORDERS_CACHE:-$HOME/.cache/order-pipeline}/kafka-jars"
BROKERS="${KAFKA_BROKERS:-localhost:9092}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms128m -Xmx512m}"

log() { printf '[bench] %s\n' "$*" >&2; }

kit() { # python3 -m pipelinekit ...
  PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 python3 -m pipelinekit "$@"
}

judge() { # target-key value -> "meets" or "misses"
  kit targets judge "$1" "$2"
}

kafka_java() { # runs a Kafka class with the cached jars
  # shellcheck disable=SC2086 # KAFKA_HEAP holds two JVM flags
  java $KAFKA_HEAP -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2-tools.yaml" -cp "$JARS/*" "$@"
}

require_kafka() { # the jars and a reachable broker, or a clear exit
  [ -d "$JARS" ] || { echo "no Kafka jars in $JARS: run scripts/stack.sh up first" >&2; exit 1; }
  (exec 3<>"/dev/tcp/${BROKERS%%:*}/${BROKERS##*:}") 2>/dev/null ||
    { echo "no broker at $BROKERS: run scripts/stack.sh up first" >&2; exit 1; }
}

# Reads the --quick/--help arguments every component benchmark takes; QUICK=1 after --quick.
# Usage: bench_args HELP_LAST_LINE "$@"
export QUICK=0 # read by the scripts that source this file
bench_args() {
  local help_end="$1" arg; shift
  for arg in "$@"; do
    case "$arg" in
      --quick) QUICK=1 ;;
      -h | --help) sed -n "2,${help_end}p" "$0"; exit 0 ;;
      *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
  done
}

db_url() { kit db-url "$1"; } # database name -> URL on the local server

# The throw-away world of a benchmark that runs the whole pipeline: sets RUN_ID, WORK, DB (plus
# the extra databases named), PREFIX, TOPIC_BASE, TOPICS (orders, retry, dlq), GROUP and SCRATCH
# (the `kit scratch` arguments that create and drop all of it). Usage: pipeline_scratch NAME [DB...]
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
PARTITIONS=6
# shellcheck disable=SC2034 # read by the sourcing script
pipeline_scratch() {
  local name="$1" extra; shift
  RUN_ID="$(date +%s)_$$"
  WORK="$(mktemp -d)"
  DB="bench_${name}_$RUN_ID"
  PREFIX="bench:$name:$RUN_ID:"
  TOPIC_BASE="bench.$name.$RUN_ID"
  TOPICS=("$TOPIC_BASE.orders" "$TOPIC_BASE.retry" "$TOPIC_BASE.dlq")
  GROUP="$TOPIC_BASE.group"
  SCRATCH=(--db "$DB")
  for extra in "$@"; do SCRATCH+=(--db "$extra"); done
  SCRATCH+=(--topic "${TOPICS[0]}" --topic "${TOPICS[1]}" --topic "${TOPICS[2]}"
    --group "$GROUP" --prefix "$PREFIX" --partitions "$PARTITIONS")
}
