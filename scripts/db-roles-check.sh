#!/usr/bin/env bash
# scripts/db-roles.sql as an operator runs it, on the local stack's PostgreSQL: a throw-away
# database owned by the stack's `orders` user, the script run as the superuser from another
# database (`postgres`, so its schema grants must follow its `\connect` to the target), the
# migrations run as the owner, then both logins it created connect with their passwords and each
# allowed statement must succeed and each refused one fail with insufficient_privilege (42501):
#   ingest's login (orders_writer): SELECT and INSERT on the order tables, the replay ledger
#                                   (INSERT … ON CONFLICT DO UPDATE); no UPDATE/DELETE, no DDL
#   query-api's login (orders_reader): SELECT on the order tables only
# The database and the two logins have unique names and are dropped at the end (also on failure);
# the group roles are the stack's own and stay. Needs root (the superuser is reached as the
# `postgres` system user, like scripts/stack/single.sh). Run by scripts/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

PG_HOST="${PG_HOST:-localhost}"
PG_PORT="${PG_PORT:-5432}"
OWNER="${PG_OWNER:-orders}"
OWNER_PASSWORD="${PG_OWNER_PASSWORD:-orders}"
suffix="$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
DB="roles_check_$suffix"
INGEST_LOGIN="orders_ingest_$suffix"
QUERY_LOGIN="orders_query_$suffix"
INGEST_PASSWORD="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
QUERY_PASSWORD="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"

say() { printf '[db-roles] %s\n' "$*"; }
fail() { printf '[db-roles] FAILED: %s\n' "$*" >&2; exit 1; }

# psql as the cluster's superuser over the local socket; SQL on stdin.
superuser() { (cd / && su postgres -c "psql -p $PG_PORT -qtAX -v ON_ERROR_STOP=1 $*"); }

cleanup() {
  superuser -d postgres >/dev/null 2>&1 <<SQL || true
DROP DATABASE IF EXISTS "$DB" WITH (FORCE);
DROP ROLE IF EXISTS "$INGEST_LOGIN";
DROP ROLE IF EXISTS "$QUERY_LOGIN";
SQL
}
trap cleanup EXIT

say "database $DB, logins $INGEST_LOGIN and $QUERY_LOGIN"
echo "CREATE DATABASE \"$DB\" OWNER \"$OWNER\";" | superuser -d postgres
superuser -d postgres -v db="$DB" -v owner="$OWNER" \
  -v ingest_login="$INGEST_LOGIN" -v query_login="$QUERY_LOGIN" \
  -v ingest_password="$INGEST_PASSWORD" -v query_password="$QUERY_PASSWORD" \
  -f - <scripts/db-roles.sql >/dev/null

# The schema grants landed in the target database, not in the one the script started in.
acl="$(echo "SELECT array_to_string(nspacl, ' ') FROM pg_namespace WHERE nspname = 'public';" |
  superuser -d "$DB")"
for entry in "$OWNER=UC/" "orders_writer=U/" "orders_reader=U/"; do
  [[ " $acl" == *" $entry"* ]] || fail "schema public of $DB lacks $entry (ACL: $acl)"
done
say "schema grants are in $DB"

migrate_log="$(mktemp)"
DATABASE_URL="postgres://$OWNER:$OWNER_PASSWORD@$PG_HOST:$PG_PORT/$DB" \
  cargo run -q -p ingest --bin ingest -- migrate up >"$migrate_log" 2>&1 ||
  { cat "$migrate_log" >&2; fail "ingest migrate up as $OWNER"; }
rm -f "$migrate_log"
say "migrations ran as the owner ($OWNER)"

# run LOGIN PASSWORD allowed|refused SQL: one statement in its own session, as LOGIN over TCP.
run() {
  local login="$1" password="$2" expect="$3" sql="$4" out
  if out="$(PGPASSWORD="$password" PGCONNECT_TIMEOUT=10 psql -qtAX -v ON_ERROR_STOP=1 \
    "postgres://$login@$PG_HOST:$PG_PORT/$DB?sslmode=disable" -c "$sql" </dev/null 2>&1)"; then
    [ "$expect" = allowed ] || fail "$login may run: $sql"
  else
    [ "$expect" = refused ] || fail "$login may not run: $sql ($out)"
    # Refused for lack of privilege, not for some other error: psql prints no SQLSTATE by
    # default, PostgreSQL's words do.
    [[ "$out" == *"permission denied"* || "$out" == *"must be owner"* ]] ||
      fail "$login: $sql failed, but not for lack of privilege: $out"
  fi
}

ledger="INSERT INTO dlq_replays (dlq_topic, partition, \"offset\", target_topic)
  VALUES ('orders.dlq', 0, 7, 'orders')
  ON CONFLICT (dlq_topic, partition, \"offset\") DO UPDATE SET replayed_at = now()"
ingest() { run "$INGEST_LOGIN" "$INGEST_PASSWORD" "$@"; }
# The zero-row INSERT … SELECT needs the same privileges as a real one (checked when planned).
ingest allowed "INSERT INTO orders SELECT * FROM orders WHERE false"
ingest allowed "INSERT INTO items SELECT * FROM items WHERE false"
ingest allowed "SELECT count(*) FROM orders JOIN deliveries USING (order_uid)"
ingest allowed "SELECT max(version) FROM schema_migrations"
ingest allowed "$ledger"
ingest allowed "$ledger" # the same coordinates again: the ON CONFLICT update
ingest allowed "SELECT count(*) FROM dlq_replays"
ingest refused "UPDATE orders SET entry = 'x'"
ingest refused "DELETE FROM orders"
ingest refused "DELETE FROM dlq_replays"
ingest refused "CREATE TABLE sneaky (id int)"
ingest refused "DROP TABLE dlq_replays"
ingest refused "ALTER TABLE orders ADD COLUMN sneaky int"
say "ingest's login: inserts and reads orders, keeps the replay ledger; no UPDATE/DELETE, no DDL"

query() { run "$QUERY_LOGIN" "$QUERY_PASSWORD" "$@"; }
query allowed "SELECT count(*) FROM orders JOIN payments USING (order_uid) JOIN items USING (order_uid)"
query allowed "SELECT max(version) FROM schema_migrations"
query refused "INSERT INTO orders SELECT * FROM orders WHERE false"
query refused "UPDATE orders SET entry = 'x'"
query refused "DELETE FROM orders"
query refused "SELECT count(*) FROM dlq_replays"
query refused "$ledger"
query refused "CREATE TABLE sneaky (id int)"
query refused "DROP TABLE orders"
say "query-api's login: reads orders, nothing else"
