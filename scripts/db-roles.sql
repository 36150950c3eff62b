-- Database roles of the order pipeline (docs/SECURITY.md "Database roles"). Run once per
-- PostgreSQL cluster, as a superuser (or a role with CREATEROLE), before `ingest migrate up`:
--
--   psql "$ADMIN_DATABASE_URL" -v ON_ERROR_STOP=1 -v db=orders -v owner=orders \
--        -v ingest_password="$INGEST_DB_PASSWORD" -v query_password="$QUERY_DB_PASSWORD" \
--        -f scripts/db-roles.sql
--
-- $ADMIN_DATABASE_URL may name any database of the cluster: the script connects to `db` itself
-- (`\connect`, same server and user) because the schema grants below belong to that database.
-- Idempotent: running it again changes only the passwords. It creates
--   orders_writer, orders_reader   group roles (NOLOGIN); the migrations grant them, table by
--                                  table, what ingest and query-api need (0004_roles)
--   orders_ingest                  login of ingest (and `ingest dlq replay`), member of orders_writer
--   orders_query                   login of query-api, member of orders_reader
-- (other names for the two logins: -v ingest_login=… -v query_login=…; scripts/db-roles-check.sh
-- uses throw-away ones). The owner (`owner`, the role `ingest migrate up` connects as) keeps the
-- schema and is the only one that may change it. The local stack (scripts/stack.sh up) creates
-- just the group roles and makes its `orders` user a member of both, so tests can act as either
-- (SET ROLE).

\if :{?ingest_login}
\else
\set ingest_login orders_ingest
\endif
\if :{?query_login}
\else
\set query_login orders_query
\endif
\connect :"db"

SELECT format('CREATE ROLE %I NOLOGIN', name)
FROM (VALUES ('orders_writer'), ('orders_reader')) AS wanted(name)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

SELECT format('CREATE ROLE %I LOGIN IN ROLE %I', name, grp)
FROM (VALUES (:'ingest_login', 'orders_writer'), (:'query_login', 'orders_reader')) AS wanted(name, grp)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

ALTER ROLE :"ingest_login" PASSWORD :'ingest_password';
ALTER ROLE :"query_login" PASSWORD :'query_password';
-- Services never need more than a few connections each (DB_POOL_SIZE per replica).
ALTER ROLE :"ingest_login" CONNECTION LIMIT 100;
ALTER ROLE :"query_login" CONNECTION LIMIT 200;

GRANT CONNECT ON DATABASE :"db" TO orders_writer, orders_reader;
-- Only the owner creates objects in `db`'s public schema (PostgreSQL 15 already revokes CREATE
-- from PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CREATE, USAGE ON SCHEMA public TO :"owner";
GRANT USAGE ON SCHEMA public TO orders_writer, orders_reader;
