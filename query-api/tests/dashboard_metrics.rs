//! Every metric the Grafana dashboard and the alert rules query is exported by query-api.

use query_api::metrics::{ApiMetrics, DbSource, ReadSource};
use std::time::Duration;
use warp::http::StatusCode;

#[test]
fn dashboards_and_alerts_only_use_exported_metrics() {
    let metrics = ApiMetrics::new().expect("metrics");
    // Labelled series appear once they have a value: touch each kind of event once.
    metrics.request_completed(
        "GET",
        "/order/x",
        "/order/{uid}",
        StatusCode::OK,
        Duration::from_millis(1),
    );
    metrics.request_completed(
        "GET",
        "/order/x",
        "/order/{uid}",
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_millis(1),
    );
    metrics.order_read(ReadSource::Memory);
    metrics.order_read(ReadSource::Postgres);
    metrics.db_read(DbSource::Primary, 1);
    metrics.db_read(DbSource::Replica, 1);
    metrics.replica_fallback("not_found", 1);
    pipeline_testing::dashboards::assert_dashboards_covered(
        &metrics.render(),
        &["http_", "order_"],
    );
}
