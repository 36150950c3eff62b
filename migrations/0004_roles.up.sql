-- Least privilege (docs/SECURITY.md "Database roles"): the schema belongs to the role that runs
-- the migrations (the owner; the only one that may run DDL). The services connect as login roles
-- that are members of one of two group roles, granted here table by table:
--   orders_writer  ingest: inserts orders, reads back what it needs to tell a duplicate from a
--                  conflict, and keeps the DLQ replay ledger. No UPDATE or DELETE on orders, no DDL.
--   orders_reader  query-api: reads orders, nothing else.
-- Both read schema_migrations to check that the schema is current. The group roles are
-- cluster-wide and normally created beforehand by scripts/db-roles.sql (run as a superuser, which
-- also creates the login roles); a migrator allowed to create roles creates them here if missing.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_writer') THEN
        CREATE ROLE orders_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_reader') THEN
        CREATE ROLE orders_reader NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'group roles orders_writer and orders_reader are missing and % may not create them',
        current_user
        USING HINT = 'run scripts/db-roles.sql as a superuser first (see docs/SECURITY.md)';
END
$$;

GRANT SELECT ON schema_migrations TO orders_writer, orders_reader;
GRANT SELECT, INSERT ON orders, deliveries, payments, items TO orders_writer;
-- The replay ledger re-records a dead letter whose coordinates were reused (ON CONFLICT DO UPDATE).
GRANT SELECT, INSERT, UPDATE ON dlq_replays TO orders_writer;
GRANT SELECT ON orders, deliveries, payments, items TO orders_reader;
