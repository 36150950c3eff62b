# The local Redis Cluster of contract §10: 3 masters and 3 replicas on 7000–7005 (nodes
# redis-7000..redis-7005), a cache, so no persistence; each node's nodes.conf lives under
# $STATE/cluster so a restarted node rejoins with its old identity (an old master comes back as
# a replica of the node that took over its slots). Sourced by scripts/stack/cluster.sh.
# shellcheck shell=bash

REDIS_CLUSTER_PORTS=(7000 7001 7002 7003 7004 7005)
# Short enough that a failover takes a few seconds, long enough that a busy 2-core machine does
# not see false failures.
REDIS_CLUSTER_NODE_TIMEOUT_MS="${STACK_REDIS_NODE_TIMEOUT_MS:-3000}"

redis_node_dir() { echo "$CL/redis-$1"; }
redis_node_pidfile() { echo "$CL/redis-$1/redis.pid"; }
redis_cluster_urls() { local p u=(); for p in "${REDIS_CLUSTER_PORTS[@]}"; do u+=("redis://127.0.0.1:$p"); done; (IFS=,; echo "${u[*]}"); }
redis_info() { redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }

redis_node_launch() { # port: the process, listening
  apt_install redis-server
  cluster_dirs
  local p="$1" dir; dir="$(redis_node_dir "$1")"
  mkdir -p "$dir"
  if ! port_open "$p"; then
    log "starting redis-$p"
    # A replica saves each full sync to dump.rdb; loaded at start it would bring back stale
    # orders (and make a node that lost nodes.conf claim their slots). A cache starts empty.
    rm -f "$dir/dump.rdb"
    # The read model is a cache: no RDB/AOF, bounded memory with LRU eviction. Without full
    # coverage the other masters keep serving their slots while one is down, so only the keys
    # of the failed master fall back to PostgreSQL.
    redis-server --port "$p" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout "$REDIS_CLUSTER_NODE_TIMEOUT_MS" --cluster-require-full-coverage no \
      --maxmemory 128mb --maxmemory-policy allkeys-lru --repl-diskless-load on-empty-db \
      --pidfile "$(redis_node_pidfile "$p")" --logfile "$CL_LOGS/redis-$p.log" --dir "$dir" >/dev/null ||
      die "redis-$p failed to start (see $CL_LOGS/redis-$p.log)"
  fi
  wait_for "redis-$p listening" 15 port_open "$p"
}

redis_node_rejoin() { # port: a node that lost its nodes.conf comes back alone; it joins as a replica
  local p="$1"
  redis_cluster_created || return 0
  if [ "$(redis_info "$p" cluster_known_nodes)" = 1 ]; then
    local seed; seed="$(redis_cluster_seed "$p")"
    log "redis-$p joins the cluster again (as a replica) through $seed"
    redis-cli --cluster add-node "127.0.0.1:$p" "127.0.0.1:$seed" --cluster-slave >>"$CL_LOGS/redis-cluster.log" 2>&1 ||
      die "redis-$p could not join the cluster (see $CL_LOGS/redis-cluster.log)"
    redis_forget_old_self "$p"
  fi
}

redis_node_start() { # port
  redis_node_launch "$1"
  redis_node_rejoin "$1"
  wait_for "redis-$1 back in the cluster (state ok)" 30 redis_node_ok "$1"
}

redis_forget_old_self() { # port: the others drop the node's previous identity (still at that
  # address, or marked noaddr once the new identity answered there)
  local p="$1" q id me; me="$(redis-cli -p "$p" cluster myid | tr -d '\r')"
  for q in "${REDIS_CLUSTER_PORTS[@]}"; do
    [ "$q" != "$p" ] && port_open "$q" || continue
    for id in $(redis-cli -p "$q" cluster nodes | awk -v a="127.0.0.1:$p@" -v me="$me" \
      '$1 != me && (index($2, a) == 1 || $3 ~ /noaddr/) {print $1}'); do
      redis-cli -p "$q" cluster forget "$id" >/dev/null
    done
  done
}

redis_node_ok() { [ "$(redis_info "$1" cluster_state)" = ok ]; }

redis_node_stop() { # port: SHUTDOWN lets a master hand its last writes to its replica first
  local p="$1"
  if port_open "$p"; then
    redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 150); do port_open "$p" || break; sleep 0.1; done
  fi
  rm -f "$(redis_node_pidfile "$p")"
}

redis_node_kill() { sigkill_node "redis-$1" "$(redis_node_pidfile "$1")" "$1"; }

node_verbs redis "${REDIS_CLUSTER_PORTS[@]}"

redis_cluster_seed() { # [port to skip]: a live node that already holds slots or follows a master
  local p
  for p in "${REDIS_CLUSTER_PORTS[@]}"; do
    [ "$p" = "${1:-}" ] && continue
    port_open "$p" && [ "$(redis_info "$p" cluster_known_nodes)" -gt 1 ] 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}

redis_cluster_created() { # has any live node ever seen the cluster (slots assigned)?
  local p
  for p in "${REDIS_CLUSTER_PORTS[@]}"; do
    port_open "$p" && [ "$(redis_info "$p" cluster_slots_assigned)" = 16384 ] && return 0
  done
  return 1
}

redis_cluster_ok() { # every node up, agreeing on state ok with all slots served
  local p
  for p in "${REDIS_CLUSTER_PORTS[@]}"; do
    [ "$(redis_info "$p" cluster_state)" = ok ] && [ "$(redis_info "$p" cluster_slots_ok)" = 16384 ] &&
      [ "$(redis_info "$p" cluster_known_nodes)" = 6 ] || return 1
  done
}

redis_cluster_up() {
  local p hosts=()
  for p in "${REDIS_CLUSTER_PORTS[@]}"; do redis_node_launch "$p"; hosts+=("127.0.0.1:$p"); done
  if redis_cluster_created; then
    for p in "${REDIS_CLUSTER_PORTS[@]}"; do redis_node_rejoin "$p"; done
  else
    log "creating the Redis Cluster (3 masters, 3 replicas) on ${REDIS_CLUSTER_PORTS[0]}–${REDIS_CLUSTER_PORTS[5]}"
    redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >>"$CL_LOGS/redis-cluster.log" 2>&1 ||
      die "redis-cli --cluster create failed (see $CL_LOGS/redis-cluster.log)"
  fi
  wait_for "Redis Cluster state ok with 16384 slots on all six nodes" 60 redis_cluster_ok
}

redis_cluster_down() {
  local p
  for p in "${REDIS_CLUSTER_PORTS[@]}"; do redis_node_stop "$p"; done
}

redis_cluster_status() {
  local p seed rc=0 nodes
  seed="$(redis_cluster_seed || true)"
  [ -n "$seed" ] && nodes="$(redis-cli -p "$seed" cluster nodes 2>/dev/null | tr -d '\r')"
  for p in "${REDIS_CLUSTER_PORTS[@]}"; do
    if ! port_open "$p"; then printf '%-17s down  127.0.0.1:%s\n' "redis-$p" "$p"; rc=1; continue; fi
    # `cluster nodes`: id addr flags master-id ping pong epoch link slots...
    printf '%-17s up    127.0.0.1:%s %s\n' "redis-$p" "$p" "$(awk -v a="127.0.0.1:$p" '
      { addr[$1] = $2; sub(/@.*/, "", addr[$1]) }
      index($2, a "@") == 1 { me = $0 }
      END { n = split(me, f, " "); role = (f[3] ~ /master/) ? "master" : "replica"
            s = ""; for (i = 9; i <= n; i++) s = s " " f[i]
            m = (f[4] != "-") ? " of " addr[f[4]] : ""
            printf "%s%s%s", role, m, (s != "") ? " slots" s : "" }' <<<"${nodes:-}")"
  done
  if [ -n "$seed" ]; then
    printf 'redis cluster:    state=%s slots_ok=%s/16384 known_nodes=%s (via %s)\n' \
      "$(redis_info "$seed" cluster_state)" "$(redis_info "$seed" cluster_slots_ok)" \
      "$(redis_info "$seed" cluster_known_nodes)" "$seed"
    [ "$(redis_info "$seed" cluster_state)" = ok ] || rc=1
  fi
  return $rc
}
