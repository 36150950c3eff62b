# The single-node stack of contract §7: PostgreSQL (5432) and Redis (6379) from Debian packages,
# Apache Kafka (KRaft, one node, 9092) from its Maven Central jars, and optional Jaeger.
# Sourced by scripts/stack.sh after common.sh.
# shellcheck shell=bash

# ---------------------------------------------------------------- PostgreSQL
pg_cluster_ready() {
  local v; v="$(pg_version)"
  [ -n "$v" ] || return 1
  pg_lsclusters -h 2>/dev/null | awk -v v="$v" '$1 == v && $2 == "main"' | grep -q .
}

postgres_start() {
  apt_install postgresql
  local v; v="$(pg_version)"
  pg_cluster_ready || pg_createcluster "$v" main >>"$LOGS/postgres.log" 2>&1
  if ! port_open 5432; then
    log "starting PostgreSQL $v"
    # Local development settings: more connections for parallel tests; durability stays on.
    # The plain stack is plaintext, like the Redis and Kafka beside it (Debian turns TLS on with
    # a snakeoil certificate, which libpq's default `prefer` would then negotiate): TLS is the
    # secure stack's job, and benchmarks compare plaintext with plaintext.
    pg_conftool "$v" main set max_connections 300 >/dev/null
    # Debian's 128MB makes backends hand dirty pages to the kernel all through a sustained load:
    # more to write back behind the commits' fsyncs (the freshness tail, docs/BENCHMARKS.md).
    pg_conftool "$v" main set shared_buffers 1GB >/dev/null
    pg_conftool "$v" main set ssl off >/dev/null
    pg_conftool "$v" main set listen_addresses localhost >/dev/null
    pg_ctlcluster "$v" main start >>"$LOGS/postgres.log" 2>&1 || die "PostgreSQL failed to start (see $LOGS/postgres.log)"
    mark_started postgres
  fi
  wait_port 5432 PostgreSQL 30
  # Role and database from the contract's default DATABASE_URL. CREATEDB lets tests make their
  # own throw-away databases.
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='orders'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE ROLE orders LOGIN PASSWORD 'orders' CREATEDB\""
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='orders'\"" | grep -q 1 ||
    su postgres -c "psql -qc 'CREATE DATABASE orders OWNER orders'"
  # The group roles the migrations grant to (scripts/db-roles.sql); `orders` is a member of both so
  # tests can act as ingest's writer or query-api's reader (SET ROLE), without creating logins.
  local role
  for role in orders_writer orders_reader; do
    su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$role'\"" | grep -q 1 ||
      su postgres -c "psql -qc 'CREATE ROLE $role NOLOGIN'"
  done
  su postgres -c "psql -qc 'GRANT orders_writer, orders_reader TO orders'" 2>/dev/null
}

postgres_stop() {
  local v; v="$(pg_version)"
  [ -n "$v" ] && port_open 5432 && pg_ctlcluster "$v" main stop -m fast >>"$LOGS/postgres.log" 2>&1 || true
  rm -f "$STATE/started.postgres"
}

# ---------------------------------------------------------------- Redis
redis_start() {
  apt_install redis-server
  if ! port_open 6379; then
    log "starting Redis"
    # The read model is a cache: no persistence, bounded memory with LRU eviction.
    redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
      --maxmemory 512mb --maxmemory-policy allkeys-lru \
      --pidfile "$STATE/redis.pid" --logfile "$LOGS/redis.log" --dir "$STATE" >/dev/null
    mark_started redis
  fi
  wait_port 6379 Redis 15
}

redis_stop() {
  if port_open 6379; then
    redis-cli -p 6379 shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 50); do port_open 6379 || break; sleep 0.1; done
  fi
  rm -f "$STATE/started.redis"
}

# ---------------------------------------------------------------- Kafka
kafka_config() {
  local data="$STATE/kafka-data"
  sed -e "s#@DATA@#$data#" "$ROOT/scripts/kafka/server.properties" >"$STATE/kafka.properties"
  if [ ! -f "$data/meta.properties" ]; then
    log "formatting Kafka storage (KRaft)"
    mkdir -p "$data"
    kafka_java kafka.tools.StorageTool format --standalone -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
      -c "$STATE/kafka.properties" >>"$LOGS/kafka-format.log" 2>&1 || die "Kafka storage format failed (see $LOGS/kafka-format.log)"
  fi
}

kafka_start() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  kafka_jars
  kafka_config
  if ! port_open 9092; then
    log "starting Apache Kafka (KRaft, single node)"
    nohup java -Xms512m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.yaml" -Dkafka.logs.dir="$LOGS" \
      -cp "$JARS/*" kafka.Kafka "$STATE/kafka.properties" >"$LOGS/kafka.out" 2>&1 &
    echo $! >"$STATE/kafka.pid"
    mark_started kafka
  fi
  wait_port 9092 Kafka 90
  kafka_topics
}

kafka_topics() {
  local existing
  existing="$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:9092 --list 2>/dev/null || true)"
  for t in "${TOPICS[@]}"; do
    grep -qx "$t" <<<"$existing" && continue
    log "creating topic $t ($PARTITIONS partitions)"
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:9092 --create --if-not-exists \
      --topic "$t" --partitions "$PARTITIONS" --replication-factor 1 >>"$LOGS/kafka-topics.log" 2>&1 ||
      die "could not create topic $t (see $LOGS/kafka-topics.log)"
  done
}

kafka_stop() {
  stop_pidfile "$STATE/kafka.pid"
  rm -f "$STATE/started.kafka"
}

# ---------------------------------------------------------------- Jaeger (optional)
# Jaeger v2: OTLP/HTTP in on 4318 (gRPC 4317), UI and query API on 16686, traces in memory.
JAEGER_VERSION="v1.76.0" # the Go module's version; its cmd/jaeger is Jaeger v2
JAEGER_BIN="$CACHE/jaeger/$JAEGER_VERSION/jaeger"

jaeger_binary() {
  [ -x "$JAEGER_BIN" ] && return 0
  command -v go >/dev/null || die "Go is needed to build Jaeger (it is on these machines: /usr/local/go/bin)"
  log "building Jaeger $JAEGER_VERSION from the Go module proxy (first time only: about 5 minutes)"
  local work="$CACHE/jaeger/build"
  rm -rf "$work"; mkdir -p "$work"
  # Jaeger's own go.mod has replace directives, so `go install pkg@version` refuses it; a
  # throw-away module that requires it as a tool builds it the same way.
  (cd "$work" && go mod init jaeger-build && go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" &&
    go build -o "$JAEGER_BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger) >"$LOGS/jaeger-build.log" 2>&1 ||
    die "building Jaeger failed (see $LOGS/jaeger-build.log)"
  mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
}

jaeger_start() {
  jaeger_binary
  if ! port_open 16686; then
    log "starting Jaeger (OTLP on localhost:4318, UI on http://localhost:16686)"
    nohup "$JAEGER_BIN" >"$LOGS/jaeger.log" 2>&1 &
    echo $! >"$STATE/jaeger.pid"
    mark_started jaeger
  fi
  wait_port 4318 "Jaeger OTLP receiver" 60
  wait_port 16686 "Jaeger query API" 60
}

jaeger_stop() {
  stop_pidfile "$STATE/jaeger.pid"
  rm -f "$STATE/started.jaeger"
}

# ---------------------------------------------------------------- the single-node stack as a whole
single_status() {
  local rc=0
  for svc in postgres:5432 redis:6379 kafka:9092; do
    local name="${svc%%:*}" port="${svc##*:}"
    if port_open "$port"; then printf '%-17s up    localhost:%s\n' "$name" "$port"
    else printf '%-17s down  localhost:%s\n' "$name" "$port"; rc=1; fi
  done
  if port_open 16686; then printf '%-17s up    localhost:4318 (OTLP), http://localhost:16686 (UI)\n' jaeger
  else printf '%-17s off   optional: scripts/stack.sh start jaeger\n' jaeger; fi
  if port_open 9092 && [ -f "$JARS/.complete" ]; then
    printf 'topics:           %s\n' "$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:9092 --list 2>/dev/null | grep -E '^orders' | tr '\n' ' ')"
  fi
  return $rc
}

# The kernel's default starts writing dirty pages back only at 10 % of RAM (2.4 GB here) or when
# they are 30 s old: Kafka's logs and PostgreSQL's data then go to disk in bursts of hundreds of
# MB, and every commit's WAL fsync queues behind a burst (up to 1.5 s: the freshness tail,
# docs/BENCHMARKS.md). Database and broker hosts bound the backlog so writeback is continuous;
# this host runs both. Needs root; elsewhere the stack runs with the kernel's setting (and says so).
host_writeback() {
  local want=$((32 * 1024 * 1024)) now
  now="$(cat /proc/sys/vm/dirty_background_bytes 2>/dev/null || echo 0)"
  [ "$now" != 0 ] && [ "$now" -le "$want" ] && return 0
  if [ "$(id -u)" = 0 ] && sysctl -qw vm.dirty_background_bytes="$want" 2>/dev/null; then
    log "kernel writeback starts at 32 MB of dirty pages (vm.dirty_background_bytes, was the 10 % ratio)"
  else
    log "note: vm.dirty_background_bytes left as it is (not root): commits may stall behind bursts of writeback"
  fi
}

# A virtual disk (virtio, vd*) behind which the host schedules I/O: a second elevator in the guest
# (mq-deadline by default, since such disks report themselves rotational) only delays PostgreSQL's
# WAL writes behind Kafka's and the page cache's. With none, the mean write took 0.58-0.77 ms
# instead of 0.88-1.49 ms during bench/freshness.sh here. Root only; other disks are left alone.
host_io_scheduler() {
  local dev sched was
  dev="$(basename "$(df --output=source /var/lib/postgresql / 2>/dev/null | sed -n 2p)")"
  sched="/sys/block/$dev/queue/scheduler"
  [[ "$dev" == vd* && -w "$sched" ]] || return 0
  was="$(sed -E 's/.*\[(.*)\].*/\1/' "$sched")"
  [ "$was" = none ] && return 0
  echo none >"$sched" 2>/dev/null &&
    log "I/O scheduler of the virtual disk $dev: none, was $was (the host schedules its I/O)"
}

single_up() {
  host_writeback
  host_io_scheduler
  postgres_start
  redis_start
  kafka_start
  log "stack is up: postgres://orders:orders@localhost:5432/orders redis://127.0.0.1:6379 kafka localhost:9092"
}

single_down() {
  # Only what this script started (a service that was already running is left alone).
  [ -f "$STATE/started.jaeger" ] && jaeger_stop
  [ -f "$STATE/started.kafka" ] && kafka_stop
  [ -f "$STATE/started.redis" ] && redis_stop
  [ -f "$STATE/started.postgres" ] && postgres_stop
  log "single-node stack is down"
}
