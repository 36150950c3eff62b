# The secure local stack (issue 14, contract §9), beside the single-node one and on its own ports,
# so tests can prove TLS, SASL and ACLs against real engines:
#   PostgreSQL  localhost:5443   TLS only (hostssl lines, no plaintext), cluster <ver>/secure
#   Redis       localhost:6380   TLS only (plaintext port 0), ACL user, default user off
#   Kafka       localhost:19093  SASL_SSL (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN)
#               localhost:19095  SSL with required client certificate (mutual TLS)
#               localhost:19094  KRaft controller (mutual TLS, the broker's own certificate)
# A throw-away CA, certificates (SAN DNS:localhost only, so verify-full against 127.0.0.1 fails on
# the host name) and passwords are generated once into $STATE/secure, with secure.env (mode 600):
# KEY='value' lines, a shell can `set -a; source` it, a test strips the one pair of quotes.
#   contract §9: KAFKA_BROKERS KAFKA_SECURITY_PROTOCOL(sasl_ssl) KAFKA_SASL_MECHANISM(SCRAM-SHA-512)
#     KAFKA_SASL_USERNAME(orders) KAFKA_SASL_PASSWORD KAFKA_SSL_CA_LOCATION DATABASE_URL (verify-full,
#     sslrootcert) REDIS_URL (rediss://orders:PW@localhost:6380) REDIS_TLS_CA_FILE
#   SECURE_DIR                          this folder
#   SECURE_CA_FILE, SECURE_OTHER_CA_FILE  the stack's CA; an unrelated CA (negative tests)
#   SECURE_CLIENT_CERT, SECURE_CLIENT_KEY, SECURE_CLIENT_CN  client certificate (CN=orders)
#   SECURE_OTHER_CLIENT_CERT, SECURE_OTHER_CLIENT_KEY  a client certificate from the other CA
#   SECURE_PG_PORT, SECURE_PG_PASSWORD  PostgreSQL port and `orders` password
#   SECURE_PG_CERT_USER                 role that logs in with the client certificate (cert auth)
#   SECURE_DATABASE_CERT_URL            its URL (verify-full, sslrootcert, sslcert, sslkey)
#   SECURE_REDIS_PORT, SECURE_REDIS_PASSWORD  Redis TLS port and `orders` password
#   SECURE_KAFKA_MTLS_BROKERS           the mutual-TLS listener (principal User:orders from the CN)
#   SECURE_KAFKA_LIMITED_USERNAME, SECURE_KAFKA_LIMITED_PASSWORD  may read/describe, never write
#   SECURE_KAFKA_ADMIN_USERNAME, SECURE_KAFKA_ADMIN_PASSWORD      super user
#   SECURE_KAFKA_JAVA_CONFIG_{ADMIN,ORDERS,LIMITED,MTLS}  Java client properties for Kafka's tools
# Kafka users exist for SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN with the same password.
# Sourced by scripts/stack.sh after common.sh.
# shellcheck shell=bash

SECURE="$STATE/secure"
SECURE_PG_PORT=5443
SECURE_REDIS_PORT=6380
SECURE_KAFKA_PORT=19093
SECURE_KAFKA_MTLS_PORT=19095
SECURE_PG_CLUSTER=secure
SECURE_PG_CERT_USER=orders_cert
# shellcheck source=scripts/stack/secure-material.sh
source "$ROOT/scripts/stack/secure-material.sh"

secure_owned() { # service port program: true when this state folder's process runs (or starts)
  local pid="$SECURE/$1.pid" cmd=""
  [ -f "$pid" ] && cmd="$(tr '\0' ' ' <"/proc/$(cat "$pid")/cmdline" 2>/dev/null)" || true
  [[ "$cmd" == *"$3"* ]] && return 0
  port_open "$2" || return 1
  die "port $2 is held by a process not started from $STATE (another checkout's secure stack? \
stop it there with scripts/stack.sh down --secure)"
}

# ---------------------------------------------------------------- PostgreSQL (TLS only)
secure_install() { # source (- for stdin) destination mode: copies when different; true if it did
  local tmp; tmp="$(mktemp)"
  cat "$1" >"$tmp"
  if cmp -s "$tmp" "$2"; then rm -f "$tmp"; return 1; fi
  install -o postgres -g postgres -m "$3" "$tmp" "$2"
  rm -f "$tmp"
}

postgres_secure_start() {
  apt_install postgresql
  secure_material
  local v conf changed=0 pg
  v="$(pg_version)"; conf="/etc/postgresql/$v/$SECURE_PG_CLUSTER"
  if ! pg_lsclusters -h | awk -v v="$v" -v c="$SECURE_PG_CLUSTER" '$1 == v && $2 == c' | grep -q .; then
    log "creating PostgreSQL cluster $v/$SECURE_PG_CLUSTER (port $SECURE_PG_PORT)"
    # pg_dropcluster keeps a config folder holding files it did not write (ours): it would block.
    rm -rf "$conf"
    pg_createcluster "$v" "$SECURE_PG_CLUSTER" --port "$SECURE_PG_PORT" >>"$LOGS/postgres-secure.log" 2>&1 ||
      die "pg_createcluster failed (see $LOGS/postgres-secure.log)"
  fi
  # The cluster is machine-wide: every `up --secure` installs this state folder's certificates
  # and passwords, so the checkout that ran it last owns it.
  secure_install "$SECURE/server.pem" "$conf/server.pem" 644 && changed=1
  secure_install "$SECURE/server.key" "$conf/server.key" 600 && changed=1
  secure_install "$SECURE/ca.pem" "$conf/ca.pem" 644 && changed=1
  printf "%s\n" "# Written by scripts/stack/secure.sh." "listen_addresses = 'localhost'" "max_connections = 200" \
    "ssl = on" "ssl_cert_file = '$conf/server.pem'" "ssl_key_file = '$conf/server.key'" "ssl_ca_file = '$conf/ca.pem'" \
    "ssl_min_protocol_version = 'TLSv1.2'" "password_encryption = 'scram-sha-256'" |
    secure_install - "$conf/conf.d/secure.conf" 644 && changed=1
  # TLS only: hostssl lines and no `host` line, so a plaintext connection matches no entry.
  printf '%s\n' "# Written by scripts/stack/secure.sh: TLS only." "local all postgres peer" \
    "hostssl all $SECURE_PG_CERT_USER 127.0.0.1/32 cert map=secure" "hostssl all $SECURE_PG_CERT_USER ::1/128 cert map=secure" \
    "hostssl all orders 127.0.0.1/32 scram-sha-256" "hostssl all orders ::1/128 scram-sha-256" |
    secure_install - "$conf/pg_hba.conf" 640 && changed=1
  # The client certificate's CN (orders) logs in as the cert-auth role.
  printf '%s\n' "secure orders $SECURE_PG_CERT_USER" | secure_install - "$conf/pg_ident.conf" 640 && changed=1
  if ! port_open "$SECURE_PG_PORT"; then
    log "starting PostgreSQL $v/$SECURE_PG_CLUSTER (TLS only, localhost:$SECURE_PG_PORT)"
    pg_ctlcluster "$v" "$SECURE_PG_CLUSTER" start >>"$LOGS/postgres-secure.log" 2>&1 ||
      die "secure PostgreSQL failed to start (see $LOGS/postgres-secure.log)"
  elif [ "$changed" = 1 ]; then
    log "reloading PostgreSQL $v/$SECURE_PG_CLUSTER with the certificates and rules of $SECURE"
    pg_ctlcluster "$v" "$SECURE_PG_CLUSTER" reload >>"$LOGS/postgres-secure.log" 2>&1
  fi
  wait_port "$SECURE_PG_PORT" "PostgreSQL (secure)" 30
  pg="$(secure_get SECURE_PG_PASSWORD)"
  # On stdin, so the password is in no process's arguments.
  su postgres -c "psql -p $SECURE_PG_PORT -qX -v ON_ERROR_STOP=1" >>"$LOGS/postgres-secure.log" 2>&1 <<SQL ||
SELECT 'CREATE ROLE orders' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders') \gexec
ALTER ROLE orders LOGIN CREATEDB PASSWORD '$pg';
SELECT 'CREATE ROLE $SECURE_PG_CERT_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$SECURE_PG_CERT_USER') \gexec
ALTER ROLE $SECURE_PG_CERT_USER LOGIN CREATEDB;
SELECT 'GRANT orders TO $SECURE_PG_CERT_USER' WHERE NOT pg_has_role('$SECURE_PG_CERT_USER', 'orders', 'MEMBER') \gexec
SELECT 'CREATE DATABASE orders OWNER orders' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'orders') \gexec
-- The group roles the migrations grant to (scripts/db-roles.sql), as on the plain stack.
SELECT 'CREATE ROLE orders_writer NOLOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders_writer') \gexec
SELECT 'CREATE ROLE orders_reader NOLOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders_reader') \gexec
SELECT 'GRANT orders_writer, orders_reader TO orders' WHERE NOT pg_has_role('orders', 'orders_writer', 'MEMBER') \gexec
SQL
    die "secure PostgreSQL roles failed (see $LOGS/postgres-secure.log)"
}

postgres_secure_stop() {
  local v; v="$(pg_version)"
  [ -n "$v" ] && port_open "$SECURE_PG_PORT" &&
    pg_ctlcluster "$v" "$SECURE_PG_CLUSTER" stop -m fast >>"$LOGS/postgres-secure.log" 2>&1 || true
}

# ---------------------------------------------------------------- Redis (TLS only)
redis_secure_start() {
  apt_install redis-server
  secure_material
  # Debian builds Redis with TLS (linked to OpenSSL); a build without it rejects the tls-* options
  # with a vague message, so say why up front.
  [[ "$(ldd "$(command -v redis-server)")" == *libssl* ]] || die "this redis-server is built without TLS"
  if ! secure_owned redis-secure "$SECURE_REDIS_PORT" redis-server; then
    log "starting Redis (TLS only, localhost:$SECURE_REDIS_PORT)"
    (umask 077; printf '%s\n' "user default off" "user orders on >$(secure_get SECURE_REDIS_PASSWORD) ~* &* +@all" \
      >"$SECURE/redis-users.acl")
    redis-server --port 0 --tls-port "$SECURE_REDIS_PORT" --bind 127.0.0.1 -::1 --daemonize yes \
      --tls-cert-file "$SECURE/server.pem" --tls-key-file "$SECURE/server.key" --tls-ca-cert-file "$SECURE/ca.pem" \
      --tls-auth-clients optional --aclfile "$SECURE/redis-users.acl" --save "" --appendonly no \
      --maxmemory 256mb --maxmemory-policy allkeys-lru \
      --pidfile "$SECURE/redis-secure.pid" --logfile "$LOGS/redis-secure.log" --dir "$SECURE" >/dev/null ||
      die "secure Redis failed to start (see $LOGS/redis-secure.log)"
  fi
  wait_port "$SECURE_REDIS_PORT" "Redis (secure)" 15
}

redis_secure_stop() {
  stop_pidfile "$SECURE/redis-secure.pid"
}

# ---------------------------------------------------------------- Kafka (SASL_SSL, mutual TLS, ACLs)
secure_tool() { # a short-lived Kafka tool: C1 only and the serial GC start it on about half the CPU
  java -Xms32m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2-tools.yaml" -cp "$JARS/*" "$@"
}

kafka_secure_config() {
  local data="$SECURE/kafka-data" props="$SECURE/kafka.properties" scram=() u pw m
  (
    umask 077
    sed -e "s#@DATA@#$data#" -e "s#@SECURE@#$SECURE#" "$ROOT/scripts/kafka/secure-server.properties" >"$props"
    printf 'listener.name.sasl_ssl.plain.sasl.jaas.config=%s required user_admin="%s" user_orders="%s" user_limited="%s";\n' \
      org.apache.kafka.common.security.plain.PlainLoginModule "$(secure_get SECURE_KAFKA_ADMIN_PASSWORD)" \
      "$(secure_get KAFKA_SASL_PASSWORD)" "$(secure_get SECURE_KAFKA_LIMITED_PASSWORD)" >>"$props"
  )
  [ -f "$data/meta.properties" ] && return 0
  log "formatting secure Kafka storage (KRaft) with the SCRAM users"
  rm -f "$SECURE/kafka.provisioned"
  for u in admin:SECURE_KAFKA_ADMIN_PASSWORD orders:KAFKA_SASL_PASSWORD limited:SECURE_KAFKA_LIMITED_PASSWORD; do
    pw="$(secure_get "${u#*:}")"
    for m in SCRAM-SHA-256 SCRAM-SHA-512; do scram+=(--add-scram "$m=[name=${u%%:*},password=$pw]"); done
  done
  mkdir -p "$data"
  # A cluster id is 16 random bytes in URL-safe base64 (what `StorageTool random-uuid` prints, without
  # a JVM); one starting with '-' would read as an option.
  local id="-"
  while [[ "$id" == -* ]]; do id="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')"; done
  secure_tool kafka.tools.StorageTool format --standalone -t "$id" -c "$props" "${scram[@]}" \
    >>"$LOGS/kafka-secure-format.log" 2>&1 || die "secure Kafka storage format failed (see $LOGS/kafka-secure-format.log)"
}

kafka_secure_launch() { # starts the broker without waiting for it
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  kafka_jars
  secure_material
  secure_owned kafka-secure "$SECURE_KAFKA_PORT" kafka.Kafka && return 0
  kafka_secure_config
  log "starting Apache Kafka (secure: SASL_SSL localhost:$SECURE_KAFKA_PORT, mutual TLS localhost:$SECURE_KAFKA_MTLS_PORT)"
  mkdir -p "$LOGS/kafka-secure"
  nohup java -Xms128m -Xmx384m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.yaml" -Dkafka.logs.dir="$LOGS/kafka-secure" \
    -cp "$JARS/*" kafka.Kafka "$SECURE/kafka.properties" >"$LOGS/kafka-secure/kafka.out" 2>&1 &
  echo $! >"$SECURE/kafka-secure.pid"
}

kafka_secure_ready() { # waits for the broker, then (once) its ACLs and topics
  wait_port "$SECURE_KAFKA_PORT" "Kafka (secure)" 90
  wait_port "$SECURE_KAFKA_MTLS_PORT" "Kafka (secure, mutual TLS)" 30
  [ -f "$SECURE/kafka.provisioned" ] && return 0
  log "creating the secure Kafka ACLs and topics"
  local admin=(--bootstrap-server "localhost:$SECURE_KAFKA_PORT" --command-config "$SECURE/kafka-admin.properties")
  local acl=(org.apache.kafka.tools.AclCommand "${admin[@]}" --add) out="$LOGS/kafka-secure-provision.log"
  # orders: everything on topics (tests create random ones), groups and transactional ids, and
  # the cluster operations an idempotent producer and the admin tools need; limited: read only.
  secure_tool "${acl[@]}" --allow-principal User:orders --operation All --topic '*' --group '*' \
    --transactional-id '*' >"$out" 2>&1 || die "ACLs for orders failed (see $out)"
  secure_tool "${acl[@]}" --allow-principal User:orders --operation Describe --operation DescribeConfigs \
    --operation IdempotentWrite --cluster >>"$out" 2>&1 || die "cluster ACLs for orders failed (see $out)"
  secure_tool "${acl[@]}" --allow-principal User:limited --operation Read --operation Describe --topic '*' \
    --group '*' >>"$out" 2>&1 || die "ACLs for limited failed (see $out)"
  for t in "${TOPICS[@]}"; do
    secure_tool org.apache.kafka.tools.TopicCommand "${admin[@]}" --create --if-not-exists --topic "$t" \
      --partitions "$PARTITIONS" --replication-factor 1 >>"$out" 2>&1 || die "could not create topic $t (see $out)"
  done
  touch "$SECURE/kafka.provisioned"
}

kafka_secure_start() { kafka_secure_launch; kafka_secure_ready; }

kafka_secure_stop() {
  stop_pidfile "$SECURE/kafka-secure.pid"
}

# ---------------------------------------------------------------- the secure stack as a whole
secure_up() {
  # Kafka boots while PostgreSQL and Redis are set up.
  kafka_secure_launch
  postgres_secure_start
  redis_secure_start
  kafka_secure_ready
  log "secure stack is up; its settings: $SECURE/secure.env (set -a; source it)"
}

secure_down() {
  kafka_secure_stop
  redis_secure_stop
  postgres_secure_stop
  log "secure stack is down (certificates and passwords stay in $SECURE)"
}

secure_status() {
  local rc=0 svc
  for svc in postgres-secure:$SECURE_PG_PORT redis-secure:$SECURE_REDIS_PORT kafka-secure:$SECURE_KAFKA_PORT \
    kafka-secure-mtls:$SECURE_KAFKA_MTLS_PORT; do
    if port_open "${svc##*:}"; then printf '%-17s up    localhost:%s\n' "${svc%%:*}" "${svc##*:}"
    else printf '%-17s down  localhost:%s\n' "${svc%%:*}" "${svc##*:}"; rc=1; fi
  done
  [ -f "$SECURE/secure.env" ] && printf 'settings:         %s\n' "$SECURE/secure.env"
  return $rc
}
