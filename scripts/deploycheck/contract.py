"""The names and defaults fixed by the contract (shared/CONTRACT.md sections 3 and 6) that the
deployment files must agree with, in one place for every check module."""

import re

CONTRACT_ENV = [
    "KAFKA_BROKERS", "ORDERS_TOPIC", "RETRY_TOPIC", "DLQ_TOPIC", "KAFKA_GROUP",
    "DATABASE_URL", "REDIS_URL", "HTTP_ADDR", "METRICS_ADDR", "RUST_LOG", "LOG_FORMAT",
]
EXTRA_ENV = [
    "ORDER_CACHE_TTL_SECS", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB",
    "GF_SECURITY_ADMIN_PASSWORD", "PGADMIN_DEFAULT_EMAIL", "PGADMIN_DEFAULT_PASSWORD",
]
ENV_DEFAULTS = {
    "KAFKA_BROKERS": "localhost:9092", "ORDERS_TOPIC": "orders", "RETRY_TOPIC": "orders.retry",
    "DLQ_TOPIC": "orders.dlq", "KAFKA_GROUP": "orders-ingest",
    "DATABASE_URL": "postgres://orders:orders@localhost:5432/orders",
    "REDIS_URL": "redis://127.0.0.1:6379", "HTTP_ADDR": "0.0.0.0:8080",
    "METRICS_ADDR": "0.0.0.0:9100", "RUST_LOG": "info", "LOG_FORMAT": "text",
    "ORDER_CACHE_TTL_SECS": "86400", "OTEL_EXPORTER_OTLP_ENDPOINT": "",
}
COUNTERS_GAUGES = {
    "ingest_records_total", "ingest_dead_letters_total", "ingest_consumer_lag",
    "http_requests_total", "order_cache_requests_total",
    # ingest's stall metrics (not in the contract; alerts.yml group order-pipeline.ingest-stalls)
    "ingest_stalled", "ingest_stalled_since_seconds", "ingest_produce_errors_total",
    "ingest_retry_backlog_records", "ingest_partition_committed_offset",
    "ingest_partition_log_start_offset", "ingest_partition_high_watermark",
    # query-api on clustered engines (contract §10; alerts.yml group order-pipeline.fleet)
    "order_db_replica_breaker_open", "order_db_replica_fallbacks_total", "order_cache_breaker_open",
}
HISTOGRAMS = {
    "ingest_batch_duration_seconds", "http_request_duration_seconds",
    # not in the contract, exported by ingest as well
    "ingest_store_duration_seconds", "ingest_batch_size",
}
ALLOWED_METRICS = set(COUNTERS_GAUGES) | {
    h + suffix for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")
}
# Prometheus' own series: no binary exports them.
PROMETHEUS_SYNTHETIC = re.compile(r"^(up|scrape_.*|ALERTS|ALERTS_FOR_STATE)$")
INPUT_PARTITIONS = 6
