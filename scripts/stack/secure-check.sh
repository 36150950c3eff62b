#!/usr/bin/env bash
# Proves the secure local stack (scripts/stack.sh up --secure) with real clients before any Rust
# code relies on it: each engine accepts the right credentials over verified TLS and refuses a
# wrong password, an unknown CA, a host name the certificate does not name, and plaintext.
#   psql, redis-cli, openssl s_client; kcat (Debian's, librdkafka 2.0.2) for PLAIN, mutual TLS and
#   the failures; Kafka's Java console tools for SCRAM, because librdkafka before 2.6.1 fails SCRAM
#   against Kafka 4 brokers (fixed upstream; the Rust client bundles a newer librdkafka).
# Exit status 0 when every check behaved as expected. Secrets go in files or the environment,
# never on a command line, and failing output is shown with the passwords masked.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${STACK_STATE:-$ROOT/.stack}"
CACHE="${ORDERS_CACHE:-$HOME/.cache/order-pipeline}"
JARS="$CACHE/kafka-jars"
# shellcheck disable=SC2034 # LOGS and PG_VERSION are read by common.sh
LOGS="$STATE/logs" PG_VERSION=""
# shellcheck source=scripts/stack/common.sh
source "$ROOT/scripts/stack/common.sh"

[ -f "$STATE/secure/secure.env" ] || die "no $STATE/secure/secure.env: run scripts/stack.sh up --secure first"
set -a
# shellcheck source=/dev/null
source "$STATE/secure/secure.env"
set +a
for tool in kcat:kcat psql:postgresql-client redis-cli:redis-tools; do
  command -v "${tool%%:*}" >/dev/null || apt_install "${tool#*:}"
done
TMP="$(mktemp -d)"
TOPIC="secure-check-$(date +%s)-$$"
trap 'rm -rf "$TMP"' EXIT
failures=0

mask() { # stdin → stdout with every stack password replaced (in bash: no secret in any argv)
  local line pw
  while IFS= read -r line; do
    for pw in "$SECURE_PG_PASSWORD" "$SECURE_REDIS_PASSWORD" "$KAFKA_SASL_PASSWORD" "$SECURE_KAFKA_LIMITED_PASSWORD" \
      "$SECURE_KAFKA_ADMIN_PASSWORD"; do line="${line//"$pw"/***}"; done
    printf '%s\n' "$line"
  done
}
report() { # ok? name start-seconds
  local took=$((SECONDS - $3))
  if [ "$1" = 1 ]; then printf '  ok    %s (%ss)\n' "$2" "$took"
  else printf '  FAIL  %s (%ss)\n' "$2" "$took"; mask <"$TMP/out" | tail -5 | sed 's/^/        | /'; failures=$((failures + 1)); fi
}
accepts() { # name pattern command...: succeeds, with output matching pattern (empty: any output)
  local name="$1" pattern="$2" start=$SECONDS; shift 2
  if "$@" >"$TMP/out" 2>&1 && { [ -z "$pattern" ] || grep -qE "$pattern" "$TMP/out"; }; then report 1 "$name" "$start"
  else report 0 "$name" "$start"; fi
}
refuses() { # name pattern command...: output matching pattern (the reason), whatever the status
  local name="$1" pattern="$2" start=$SECONDS; shift 2
  "$@" >"$TMP/out" 2>&1 || true
  if grep -qE "$pattern" "$TMP/out"; then report 1 "$name" "$start"; else report 0 "$name" "$start"; fi
}

# ---------------------------------------------------------------- certificates name localhost only
echo "certificates (openssl s_client, CA $SECURE_CA_FILE)"
tls_probe() { # host port host-to-verify [openssl options]
  local host="$1" port="$2" name="$3"; shift 3
  timeout 15 openssl s_client -connect "$host:$port" -CAfile "$SECURE_CA_FILE" -verify_hostname "$name" \
    -verify_return_error "$@" </dev/null
}
for svc in "PostgreSQL:$SECURE_PG_PORT:-starttls postgres" "Redis:$SECURE_REDIS_PORT:" "Kafka SASL_SSL:19093:" \
  "Kafka mTLS:19095:-cert $SECURE_CLIENT_CERT -key $SECURE_CLIENT_KEY"; do
  IFS=: read -r name port extra <<<"$svc"
  # shellcheck disable=SC2086 # extra holds separate openssl options
  accepts "$name: verified for localhost" "Verify return code: 0 \(ok\)" tls_probe localhost "$port" localhost $extra
  # shellcheck disable=SC2086
  refuses "$name: 127.0.0.1 is not in the certificate" "hostname mismatch" tls_probe 127.0.0.1 "$port" 127.0.0.1 $extra
done

# ---------------------------------------------------------------- PostgreSQL
echo "PostgreSQL localhost:$SECURE_PG_PORT (psql)"
pg() { # password conninfo SQL (the password through the environment, not the command line)
  PGPASSWORD="$1" timeout 20 psql "$2" -XAtc "$3" </dev/null
}
base="host=localhost port=$SECURE_PG_PORT dbname=orders user=orders"
accepts "DATABASE_URL (verify-full): TLS with the orders password" '^t$' \
  pg "$SECURE_PG_PASSWORD" "${DATABASE_URL/:$SECURE_PG_PASSWORD@/@}" "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
refuses "plaintext (sslmode=disable) is refused" "no pg_hba.conf entry.*no encryption" \
  pg "$SECURE_PG_PASSWORD" "$base sslmode=disable" "SELECT 1"
refuses "verify-full against 127.0.0.1 fails on the host name" 'does not match host name "127.0.0.1"' \
  pg "$SECURE_PG_PASSWORD" "${base/localhost/127.0.0.1} sslmode=verify-full sslrootcert=$SECURE_CA_FILE" "SELECT 1"
accepts "verify-ca against 127.0.0.1 (chain only) connects" '^1$' \
  pg "$SECURE_PG_PASSWORD" "${base/localhost/127.0.0.1} sslmode=verify-ca sslrootcert=$SECURE_CA_FILE" "SELECT 1"
refuses "an unrelated CA fails the certificate check" "certificate verify failed" \
  pg "$SECURE_PG_PASSWORD" "$base sslmode=verify-full sslrootcert=$SECURE_OTHER_CA_FILE" "SELECT 1"
refuses "a wrong password is refused" "password authentication failed" \
  pg wrong-password "$base sslmode=verify-full sslrootcert=$SECURE_CA_FILE" "SELECT 1"
accepts "client certificate logs in as $SECURE_PG_CERT_USER (cert auth)" "^$SECURE_PG_CERT_USER\$" \
  pg "" "$SECURE_DATABASE_CERT_URL" "SELECT current_user"
cert_user="host=localhost port=$SECURE_PG_PORT dbname=orders user=$SECURE_PG_CERT_USER sslmode=verify-full"
cert_user+=" sslrootcert=$SECURE_CA_FILE"
refuses "$SECURE_PG_CERT_USER without a certificate is refused" "requires a valid client certificate" \
  pg "" "$cert_user" "SELECT 1"
refuses "a client certificate from another CA is refused" "unknown ca" \
  pg "" "$cert_user sslcert=$SECURE_OTHER_CLIENT_CERT sslkey=$SECURE_OTHER_CLIENT_KEY" "SELECT 1"

# ---------------------------------------------------------------- Redis
echo "Redis localhost:$SECURE_REDIS_PORT (redis-cli)"
rcli() { # password [redis-cli options...]: PING as user orders
  local pw="$1"; shift
  REDISCLI_AUTH="$pw" timeout 15 redis-cli -h localhost -p "$SECURE_REDIS_PORT" --user orders "$@" PING
}
accepts "TLS with the orders ACL user" '^PONG$' rcli "$SECURE_REDIS_PASSWORD" --tls --cacert "$SECURE_CA_FILE"
accepts "TLS with the client certificate too" '^PONG$' rcli "$SECURE_REDIS_PASSWORD" --tls --cacert "$SECURE_CA_FILE" \
  --cert "$SECURE_CLIENT_CERT" --key "$SECURE_CLIENT_KEY"
refuses "a wrong password is refused" WRONGPASS rcli wrong-password --tls --cacert "$SECURE_CA_FILE"
refuses "no credentials (default user off) is refused" NOAUTH \
  timeout 15 redis-cli -h localhost -p "$SECURE_REDIS_PORT" --tls --cacert "$SECURE_CA_FILE" PING
refuses "an unrelated CA fails the certificate check" "certificate verify failed" \
  rcli "$SECURE_REDIS_PASSWORD" --tls --cacert "$SECURE_OTHER_CA_FILE"
refuses "plaintext is refused" "I/O error|reset by peer|closed the connection" rcli "$SECURE_REDIS_PASSWORD"

# ---------------------------------------------------------------- Kafka
echo "Kafka SASL_SSL $KAFKA_BROKERS, mutual TLS $SECURE_KAFKA_MTLS_BROKERS (kcat; Java console tools for SCRAM)"
rdconf() { # file user password mechanism [ca]: a librdkafka client configuration
  printf '%s\n' "bootstrap.servers=$KAFKA_BROKERS" "security.protocol=sasl_ssl" "sasl.mechanisms=$4" \
    "sasl.username=$2" "sasl.password=$3" "ssl.ca.location=${5:-$SECURE_CA_FILE}" >"$TMP/$1"
}
rdconf orders.conf orders "$KAFKA_SASL_PASSWORD" PLAIN
rdconf wrong.conf orders wrong-password PLAIN
rdconf other-ca.conf orders "$KAFKA_SASL_PASSWORD" PLAIN "$SECURE_OTHER_CA_FILE"
rdconf limited.conf limited "$SECURE_KAFKA_LIMITED_PASSWORD" PLAIN
sed "s/localhost:/127.0.0.1:/" "$TMP/orders.conf" >"$TMP/ip.conf"
mtls() { # file cert key: a mutual-TLS configuration (no cert: none)
  printf '%s\n' "bootstrap.servers=$SECURE_KAFKA_MTLS_BROKERS" "security.protocol=ssl" "ssl.ca.location=$SECURE_CA_FILE" >"$TMP/$1"
  [ -z "${2:-}" ] || printf '%s\n' "ssl.certificate.location=$2" "ssl.key.location=$3" >>"$TMP/$1"
}
mtls mtls.conf "$SECURE_CLIENT_CERT" "$SECURE_CLIENT_KEY"
mtls no-cert.conf
mtls other-cert.conf "$SECURE_OTHER_CLIENT_CERT" "$SECURE_OTHER_CLIENT_KEY"
kcat_() { timeout 30 kcat -F "$TMP/$1" -m 10 "${@:2}"; }
# A refused connection shows its reason (a FAIL log line) in the first attempt, so each try waits 3 s
# for metadata, not 10; a broker slowed by a busy machine (CI builds while the clusters start) may
# not have answered the handshake by then, so try again, up to five times, until a reason shows.
kcat_refused() {
  local _
  for _ in 1 2 3 4 5; do
    timeout 30 kcat -F "$TMP/$1" -m 3 "${@:2}" >"$TMP/kcat-out" 2>&1 || true
    grep -q '|FAIL|' "$TMP/kcat-out" && break
  done
  cat "$TMP/kcat-out"
}
produce() { printf '%s\n' "$2" | kcat_ "$1" -P -t "$TOPIC"; }

accepts "PLAIN over TLS: metadata with the orders topics" "topic \"orders.dlq\"" kcat_ orders.conf -L
refuses "a wrong password fails authentication" "Authentication failed" kcat_refused wrong.conf -L
refuses "an unrelated CA fails the certificate check" "certificate verify failed" kcat_refused other-ca.conf -L
refuses "bootstrap 127.0.0.1 fails (host name not in the certificate)" "certificate verify failed" kcat_refused ip.conf -L
accepts "mutual TLS: produce with the client certificate" "" produce mtls.conf from-mtls
refuses "mutual TLS without a client certificate is refused" "bad certificate|certificate required" kcat_refused no-cert.conf -L
refuses "mutual TLS with another CA's certificate is refused" "certificate unknown|unknown ca" kcat_refused other-cert.conf -L
refuses "user limited may not produce" "Topic authorization failed" produce limited.conf from-limited

jtool() { # class config-file [options...]: one of Kafka's Java tools against the SASL_SSL listener
  timeout 60 java -Xms32m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2-tools.yaml" -cp "$JARS/*" \
    "$1" --bootstrap-server "$KAFKA_BROKERS" "${@:3}" "$2"
}
sed 's/password="[^"]*"/password="wrong-password"/' "$SECURE_KAFKA_JAVA_CONFIG_ORDERS" >"$TMP/java-wrong.properties"
sed 's/^sasl.mechanism=.*/sasl.mechanism=SCRAM-SHA-256/' "$SECURE_KAFKA_JAVA_CONFIG_ORDERS" >"$TMP/java-256.properties"
java_produce() { printf '%s\n' "$2" | jtool org.apache.kafka.tools.ConsoleProducer "$1" --topic "$TOPIC" --producer.config; }
java_consume() {
  jtool org.apache.kafka.tools.consumer.ConsoleConsumer "$1" --topic "$TOPIC" --from-beginning --max-messages 2 \
    --timeout-ms 30000 --consumer.config
}
java_produce_clean() { # the console producer logs a failed send yet exits 0: an ERROR line is a failure
  java_produce "$@" >"$TMP/produce" 2>&1 || { cat "$TMP/produce"; return 1; }
  cat "$TMP/produce"
  ! grep -q ERROR "$TMP/produce"
}
accepts "SCRAM-SHA-512: Java console producer" "" java_produce_clean "$SECURE_KAFKA_JAVA_CONFIG_ORDERS" from-java-scram
accepts "SCRAM-SHA-256: Java console consumer reads both records" "from-java-scram" java_consume "$TMP/java-256.properties"
grep -q from-mtls "$TMP/out" || { echo "        (the mutual-TLS record was not read)"; failures=$((failures + 1)); }
refuses "SCRAM with a wrong password fails authentication" "SaslAuthenticationException" \
  java_produce "$TMP/java-wrong.properties" never-written
accepts "user limited may consume" "from-java-scram" kcat_ limited.conf -C -t "$TOPIC" -o beginning -e -q
refuses "user limited may not create topics" "Authorization|not authorized|TopicAuthorizationException" \
  jtool org.apache.kafka.tools.TopicCommand "$SECURE_KAFKA_JAVA_CONFIG_LIMITED" --create --topic "$TOPIC-x" --command-config
jtool org.apache.kafka.tools.TopicCommand "$SECURE_KAFKA_JAVA_CONFIG_ADMIN" --delete --topic "$TOPIC" --command-config \
  >/dev/null 2>&1 || echo "  (could not delete topic $TOPIC)"

if [ "$failures" -gt 0 ]; then echo "secure stack check: $failures check(s) failed"; exit 1; fi
echo "secure stack check: all checks passed"
