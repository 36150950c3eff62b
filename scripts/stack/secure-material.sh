# The secure stack's throw-away CA, certificates, passwords and secure.env (its keys are listed at
# the top of secure.sh), generated once into $SECURE. Sourced by scripts/stack/secure.sh.
# shellcheck shell=bash

secure_get() { # KEY: its value from secure.env (read by bash, so secrets never reach a command line)
  local line
  while IFS= read -r line; do
    case "$line" in "$1="*) line="${line#*=}"; line="${line#\'}"; printf '%s\n' "${line%\'}"; return 0 ;; esac
  done <"$SECURE/secure.env"
  die "$1 is missing from $SECURE/secure.env"
}

secure_ca() { # name CN
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" \
    -keyout "$SECURE/$1.key" -out "$SECURE/$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

secure_leaf() { # name CN issuer extendedKeyUsage [subjectAltName]
  local ext=(-addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature,keyEncipherment"
    -addext "extendedKeyUsage=$4")
  [ -z "${5:-}" ] || ext+=(-addext "subjectAltName=$5")
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" -CA "$SECURE/$3.pem" -CAkey "$SECURE/$3.key" \
    -keyout "$SECURE/$1.key" -out "$SECURE/$1.pem" "${ext[@]}"
}

secure_material() {
  [ -f "$SECURE/secure.env" ] && [ -f "$SECURE/ca.pem" ] && return 0
  # New CA and passwords invalidate whatever ran with the old ones (only this folder's processes).
  [ -d "$SECURE" ] && { kafka_secure_stop; redis_secure_stop; }
  rm -rf "$SECURE"
  mkdir -p "$SECURE"
  log "generating a throw-away CA, certificates and passwords in $SECURE"
  (
    umask 077
    secure_ca ca "order-pipeline secure stack test CA"
    secure_ca other-ca "unrelated test CA"
    secure_leaf server localhost ca serverAuth DNS:localhost
    secure_leaf kafka-broker kafka-broker ca serverAuth,clientAuth DNS:localhost
    secure_leaf client orders ca clientAuth
    secure_leaf other-client orders other-ca clientAuth
    cat "$SECURE/kafka-broker.key" "$SECURE/kafka-broker.pem" >"$SECURE/kafka-broker.keystore.pem"
    cat "$SECURE/client.key" "$SECURE/client.pem" >"$SECURE/client.keystore.pem"
  ) >"$LOGS/secure-certs.log" 2>&1 || die "certificate generation failed (see $LOGS/secure-certs.log)"
  chmod 644 "$SECURE"/*.pem
  chmod 600 "$SECURE"/*.keystore.pem
  local pg redis kafka limited admin d="$SECURE" v mask
  mask="$(umask)"
  for v in pg redis kafka limited admin; do printf -v "$v" '%s' "$(openssl rand -hex 16)"; done
  umask 077 # secure.env holds the passwords: mode 600 from its creation
  {
    kv() { printf "%s='%s'\n" "$1" "$2"; }
    echo "# Secure local stack (scripts/stack/secure.sh documents every key). Generated; do not commit."
    kv KAFKA_BROKERS "localhost:$SECURE_KAFKA_PORT"
    kv KAFKA_SECURITY_PROTOCOL sasl_ssl
    kv KAFKA_SASL_MECHANISM SCRAM-SHA-512
    kv KAFKA_SASL_USERNAME orders
    kv KAFKA_SASL_PASSWORD "$kafka"
    kv KAFKA_SSL_CA_LOCATION "$d/ca.pem"
    kv DATABASE_URL "postgres://orders:$pg@localhost:$SECURE_PG_PORT/orders?sslmode=verify-full&sslrootcert=$d/ca.pem"
    kv REDIS_URL "rediss://orders:$redis@localhost:$SECURE_REDIS_PORT"
    kv REDIS_TLS_CA_FILE "$d/ca.pem"
    kv SECURE_DIR "$d"
    kv SECURE_CA_FILE "$d/ca.pem"
    kv SECURE_OTHER_CA_FILE "$d/other-ca.pem"
    kv SECURE_CLIENT_CERT "$d/client.pem"
    kv SECURE_CLIENT_KEY "$d/client.key"
    kv SECURE_CLIENT_CN orders
    kv SECURE_OTHER_CLIENT_CERT "$d/other-client.pem"
    kv SECURE_OTHER_CLIENT_KEY "$d/other-client.key"
    kv SECURE_PG_PORT "$SECURE_PG_PORT"
    kv SECURE_PG_PASSWORD "$pg"
    kv SECURE_PG_CERT_USER "$SECURE_PG_CERT_USER"
    kv SECURE_DATABASE_CERT_URL "postgres://$SECURE_PG_CERT_USER@localhost:$SECURE_PG_PORT/orders?sslmode=verify-full\
&sslrootcert=$d/ca.pem&sslcert=$d/client.pem&sslkey=$d/client.key"
    kv SECURE_REDIS_PORT "$SECURE_REDIS_PORT"
    kv SECURE_REDIS_PASSWORD "$redis"
    kv SECURE_KAFKA_MTLS_BROKERS "localhost:$SECURE_KAFKA_MTLS_PORT"
    kv SECURE_KAFKA_LIMITED_USERNAME limited
    kv SECURE_KAFKA_LIMITED_PASSWORD "$limited"
    kv SECURE_KAFKA_ADMIN_USERNAME admin
    kv SECURE_KAFKA_ADMIN_PASSWORD "$admin"
    for u in admin orders limited mtls; do kv "SECURE_KAFKA_JAVA_CONFIG_${u^^}" "$d/kafka-$u.properties"; done
  } >"$SECURE/secure.env"
  umask "$mask"
  secure_java_configs
}

secure_java_configs() { # client properties for Kafka's own tools, one file a user
  local u pw scram="org.apache.kafka.common.security.scram.ScramLoginModule"
  (
    umask 077
    for u in admin orders limited; do
      case $u in admin) pw="$(secure_get SECURE_KAFKA_ADMIN_PASSWORD)" ;; orders) pw="$(secure_get KAFKA_SASL_PASSWORD)" ;;
        limited) pw="$(secure_get SECURE_KAFKA_LIMITED_PASSWORD)" ;; esac
      printf '%s\n' "security.protocol=SASL_SSL" "sasl.mechanism=SCRAM-SHA-512" \
        "sasl.jaas.config=$scram required username=\"$u\" password=\"$pw\";" \
        "ssl.truststore.type=PEM" "ssl.truststore.location=$SECURE/ca.pem" >"$SECURE/kafka-$u.properties"
    done
    printf '%s\n' "security.protocol=SSL" "ssl.truststore.type=PEM" "ssl.truststore.location=$SECURE/ca.pem" \
      "ssl.keystore.type=PEM" "ssl.keystore.location=$SECURE/client.keystore.pem" >"$SECURE/kafka-mtls.properties"
  )
}

