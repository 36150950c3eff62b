-- The group roles are cluster-wide (other databases may use them): only this database's grants go.
REVOKE ALL ON schema_migrations, orders, deliveries, payments, items, dlq_replays
    FROM orders_writer, orders_reader;
