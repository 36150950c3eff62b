# The local 3-node Apache Kafka KRaft cluster of contract §10 (nodes kafka-1..3, clients on
# 29092/29094/29096, controllers on 29093/29095/29097), run from the same cached jars as the
# single node, with replicated topics so drills can SIGKILL a broker under load.
# Sourced by scripts/stack/cluster.sh.
# shellcheck shell=bash

KAFKA_CLUSTER_NODES=(1 2 3)
# shellcheck disable=SC2034 # cluster.sh checks these ports
KAFKA_CLUSTER_PORTS=(29092 29094 29096)
KAFKA_CLUSTER_BROKERS="localhost:29092,localhost:29094,localhost:29096"
KAFKA_CLUSTER_RF=3
KAFKA_CLUSTER_MIN_ISR=2
KAFKA_CLUSTER_HEAP="${STACK_CLUSTER_KAFKA_HEAP:-384m}"

kafka_node_port() { echo $((29090 + 2 * $1)); }
kafka_node_dir() { echo "$CL/kafka-$1"; }
kafka_node_pidfile() { echo "$CL/kafka-$1/kafka.pid"; }

kafka_cluster_java() { # class [args]: a Kafka tool with the cluster as bootstrap (the tools with
  # subcommands want it before them)
  kafka_java "$1" --bootstrap-server "$KAFKA_CLUSTER_BROKERS" "${@:2}"
}

kafka_cluster_id() { # one id for all three nodes, kept so a re-formatted node still matches
  local f="$CL/kafka-cluster.id"
  if [ ! -s "$f" ]; then
    # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding.
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$f"
  fi
  cat "$f"
}

kafka_node_config() { # n: writes the node's properties; formats its storage the first time
  local n="$1" dir data port
  dir="$(kafka_node_dir "$n")"; data="$dir/data"; port="$(kafka_node_port "$n")"
  mkdir -p "$dir" "$CL_LOGS/kafka-$n"
  sed -e "s#@ID@#$n#" -e "s#@PORT@#$port#" -e "s#@CPORT@#$((port + 1))#" -e "s#@DATA@#$data#" \
    "$ROOT/scripts/kafka/cluster.properties" >"$dir/server.properties"
  [ -f "$data/meta.properties" ] && return 0
  log "formatting Kafka storage of kafka-$n"
  mkdir -p "$data"
  kafka_java kafka.tools.StorageTool format -t "$(kafka_cluster_id)" -c "$dir/server.properties" \
    >>"$CL_LOGS/kafka-$n/format.log" 2>&1 || die "formatting kafka-$n failed (see $CL_LOGS/kafka-$n/format.log)"
}

kafka_node_launch() { # n: starts the node in its own session unless its port is already taken
  local n="$1" dir port
  dir="$(kafka_node_dir "$n")"; port="$(kafka_node_port "$n")"
  port_open "$port" && return 0
  log "starting kafka-$n (localhost:$port)"
  # setsid: the node outlives the shell (and a Ctrl-C) of whoever ran `up`; the pid file is
  # written by the shell that then becomes java.
  # shellcheck disable=SC2016 # $$ and $@ are expanded by the inner shell on purpose
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(kafka_node_pidfile "$n")" \
    java "-Xms128m" "-Xmx$KAFKA_CLUSTER_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.yaml" -Dkafka.logs.dir="$CL_LOGS/kafka-$n" \
    -cp "$JARS/*" kafka.Kafka "$dir/server.properties" >"$CL_LOGS/kafka-$n/kafka.out" 2>&1 </dev/null &
}

kafka_node_start() { # n
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  kafka_jars
  cluster_dirs
  kafka_node_config "$1"
  kafka_node_launch "$1"
  wait_for "kafka-$1 listening on $(kafka_node_port "$1")" 120 port_open "$(kafka_node_port "$1")"
  # Back in service once the controller has unfenced it (its replicas then catch up on their own).
  wait_for "kafka-$1 registered and unfenced" 120 kafka_cluster_brokers_registered
}

kafka_node_stop() { # n: a clean (controlled) shutdown; leaders move away first
  term_node "kafka-$1" "$(kafka_node_pidfile "$1")" "$(kafka_node_port "$1")" 60
}

kafka_node_kill() { sigkill_node "kafka-$1" "$(kafka_node_pidfile "$1")" "$(kafka_node_port "$1")"; }

node_verbs kafka "${KAFKA_CLUSTER_NODES[@]}"

kafka_cluster_topics() {
  local existing t
  existing="$(kafka_cluster_java org.apache.kafka.tools.TopicCommand --list 2>/dev/null || true)"
  for t in "${TOPICS[@]}"; do
    grep -qx "$t" <<<"$existing" && continue
    log "creating topic $t on the cluster ($PARTITIONS partitions, RF $KAFKA_CLUSTER_RF, min ISR $KAFKA_CLUSTER_MIN_ISR)"
    kafka_cluster_java org.apache.kafka.tools.TopicCommand --create --if-not-exists --topic "$t" \
      --partitions "$PARTITIONS" --replication-factor "$KAFKA_CLUSTER_RF" \
      --config "min.insync.replicas=$KAFKA_CLUSTER_MIN_ISR" >>"$CL_LOGS/kafka-topics.log" 2>&1 ||
      die "could not create topic $t on the cluster (see $CL_LOGS/kafka-topics.log)"
  done
}

kafka_cluster_brokers_registered() { # all three brokers unfenced and known to the controller?
  [ "$(kafka_java org.apache.kafka.tools.ClusterTool list-endpoints \
    --bootstrap-server "$KAFKA_CLUSTER_BROKERS" 2>/dev/null |
    awk '$1 ~ /^[0-9]+$/ && $0 ~ /unfenced/ {n++} END {print n + 0}')" -ge 3 ]
}

KAFKA_CLUSTER_LAUNCHED=()  # nodes kafka_cluster_launch started, for kafka_cluster_ready to wait on

kafka_cluster_launch() { # formats and starts the missing nodes without waiting for them
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  kafka_jars
  cluster_dirs
  local n pids=() pid
  KAFKA_CLUSTER_LAUNCHED=()
  for n in "${KAFKA_CLUSTER_NODES[@]}"; do
    port_open "$(kafka_node_port "$n")" || KAFKA_CLUSTER_LAUNCHED+=("$n")
  done
  [ ${#KAFKA_CLUSTER_LAUNCHED[@]} -gt 0 ] || return 0
  # The nodes format and boot in parallel: a quorum needs two of three before any opens its port.
  kafka_cluster_id >/dev/null # once, before the parallel formats read it
  for n in "${KAFKA_CLUSTER_LAUNCHED[@]}"; do kafka_node_config "$n" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid" || die "formatting Kafka storage failed"; done
  for n in "${KAFKA_CLUSTER_LAUNCHED[@]}"; do kafka_node_launch "$n"; done
}

kafka_cluster_ready() { # waits for the nodes just launched, then makes sure of the topics
  local n
  for n in "${KAFKA_CLUSTER_LAUNCHED[@]}"; do
    wait_for "kafka-$n listening on $(kafka_node_port "$n")" 120 port_open "$(kafka_node_port "$n")"
  done
  # Nodes that were up already are registered; new ones must be before an RF 3 topic can exist.
  [ ${#KAFKA_CLUSTER_LAUNCHED[@]} -eq 0 ] ||
    wait_for "three registered Kafka brokers" 120 kafka_cluster_brokers_registered
  kafka_cluster_topics
}

kafka_cluster_down() {
  # All at once: stopped one by one, the last node's controlled shutdown would wait for a
  # controller quorum that is already gone.
  local n
  for n in "${KAFKA_CLUSTER_NODES[@]}"; do kafka_node_stop "$n" & done
  wait
}

kafka_cluster_status() {
  local n port pid rc=0 up=0
  for n in "${KAFKA_CLUSTER_NODES[@]}"; do
    port="$(kafka_node_port "$n")"; pid="$(node_pid "$(kafka_node_pidfile "$n")" "$port")"
    if port_open "$port"; then
      printf '%-17s up    localhost:%s (controller :%s, pid %s)\n' "kafka-$n" "$port" $((port + 1)) "$pid"; up=$((up + 1))
    else printf '%-17s down  localhost:%s\n' "kafka-$n" "$port"; rc=1; fi
  done
  [ "$up" -gt 0 ] && [ -f "$JARS/.complete" ] || return $rc
  local quorum urp out
  quorum="$(kafka_cluster_java org.apache.kafka.tools.MetadataQuorumCommand describe --status 2>/dev/null |
    awk '/^LeaderId:/ {l = $2} /^LeaderEpoch:/ {e = $2} /^MaxFollowerLag:/ {g = $2}
      /^CurrentVoters:/ {n = split($0, v, /"id": /); for (i = 2; i <= n; i++) ids = ids (i > 2 ? "," : "") (v[i] + 0)}
      END {if (l != "") printf "leader=%s epoch=%s voters=%s max_follower_lag=%s", l, e, ids, g}')"
  # "unknown" rather than 0 when the cluster does not answer.
  if out="$(kafka_cluster_java org.apache.kafka.tools.TopicCommand --describe --under-replicated-partitions 2>/dev/null)"; then
    urp="$(grep -c 'Partition:' <<<"$out" || true)"
  else urp=unknown; fi
  printf 'kafka quorum:     %s\n' "${quorum:-unavailable}"
  printf 'kafka URP:        %s under-replicated partitions\n' "$urp"
  [ "$urp" = 0 ] || rc=1
  return $rc
}
