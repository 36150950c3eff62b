//! The operations endpoint on `METRICS_ADDR`: `/metrics` for Prometheus, `/healthz` for liveness
//! (the process runs) and `/readyz` for readiness (it can do its job: PostgreSQL answers, the
//! consumer is in its group, nothing is paused for an outage).

use crate::health::Health;
use crate::metrics::IngestMetrics;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

pub fn routes(
    metrics: Arc<IngestMetrics>,
    health: Arc<Health>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let metrics = warp::path!("metrics").and(warp::get()).map(move || {
        warp::reply::with_header(
            metrics.render(),
            "content-type",
            "text/plain; version=0.0.4; charset=utf-8",
        )
    });
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({ "status": "ok" })));
    let readyz = warp::path!("readyz").and(warp::get()).map(move || {
        let status = if health.is_ready() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        warp::reply::with_status(warp::reply::json(&health.report()), status)
    });
    metrics.or(healthz).or(readyz)
}

/// Binds the server; it runs until `stop` resolves. Returns the bound address (port 0 picks one).
pub fn serve(
    addr: SocketAddr,
    metrics: Arc<IngestMetrics>,
    health: Arc<Health>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(SocketAddr, impl Future<Output = ()> + Send + 'static)> {
    warp::serve(routes(metrics, health))
        .try_bind_with_graceful_shutdown(addr, stop)
        .map_err(|err| anyhow::anyhow!("cannot listen on {addr} (METRICS_ADDR): {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::ConsumerState;

    #[tokio::test]
    async fn readyz_follows_health_and_metrics_render() {
        let metrics = Arc::new(IngestMetrics::new().expect("metrics"));
        let health = Arc::new(Health::default());
        let api = routes(metrics, health.clone());
        let response = warp::test::request().path("/readyz").reply(&api).await;
        assert_eq!(response.status(), 503);
        health.set_postgres_up(true);
        health.set_consumer(ConsumerState::Running);
        let response = warp::test::request().path("/readyz").reply(&api).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(body["dependencies"]["postgres"], "up");
        let response = warp::test::request().path("/healthz").reply(&api).await;
        assert_eq!(response.status(), 200);
        let response = warp::test::request().path("/metrics").reply(&api).await;
        assert!(String::from_utf8_lossy(response.body()).contains("ingest_records_total"));
    }
}
