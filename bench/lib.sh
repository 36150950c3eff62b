# Shared by the benchmark scripts (sourced, not run): where things are, logging, and the Kafka
# tools from the jars scripts/stack.sh caches. Set KAFKA_HEAP (e.g. "-Xms256m -Xmx1g") before
# sourcing to size the JVM of the Kafka tools.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
JARS="${ORDERS_CACHE:-$HOME/.cache/order-pipeline}/kafka-jars"
BROKERS="${KAFKA_BROKERS:-localhost:9092}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms128m -Xmx512m}"

log() { printf '[bench] %s\n' "$*" >&2; }

kafka_java() { # runs a Kafka class with the cached jars
  # shellcheck disable=SC2086 # KAFKA_HEAP holds two JVM flags
  java $KAFKA_HEAP -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2-tools.yaml" -cp "$JARS/*" "$@"
}

require_kafka() { # the jars and a reachable broker, or a clear exit
  [ -d "$JARS" ] || { echo "no Kafka jars in $JARS: run scripts/stack.sh up first" >&2; exit 1; }
  (exec 3<>"/dev/tcp/${BROKERS%%:*}/${BROKERS##*:}") 2>/dev/null ||
    { echo "no broker at $BROKERS: run scripts/stack.sh up first" >&2; exit 1; }
}
