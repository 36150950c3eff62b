//! The admin listener (`ADMIN_ADDR`, contract §3 and §5): `/metrics`, `/healthz` and `/readyz`
//! for Prometheus and the kubelet, on a port of its own that the public never reaches (in
//! Kubernetes a NetworkPolicy admits only Prometheus to it). It runs on the main runtime, apart
//! from the HTTP threads, and without the access log: scrapes and probes every few seconds
//! would drown the lines that matter.

use crate::error;
use crate::handlers::{self, AppState};
use anyhow::Context;
use futures::FutureExt;
use hyper::service::make_service_fn;
use hyper::Server;
use pipeline_runtime::shutdown::Shutdown;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

/// The admin routes; anything else is a JSON 404 (405 for another method).
pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let with_state = warp::any().map(move || Arc::clone(&state));
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with_state.clone())
        .then(handlers::metrics);
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .then(handlers::healthz);
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with_state)
        .then(|state| handlers::readyz(state).boxed());
    metrics
        .or(healthz)
        .unify()
        .or(readyz)
        .unify()
        .recover(error::recover)
        .unify()
        .boxed()
}

/// Binds the admin address (port 0: a free port). Call inside a runtime.
pub fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on ADMIN_ADDR {addr}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves `filter` until `shutdown` fires.
pub async fn serve(
    listener: std::net::TcpListener,
    filter: BoxedFilter<(Response,)>,
    shutdown: Shutdown,
    header_timeout: Duration,
) -> anyhow::Result<()> {
    let service = warp::service(filter);
    let make_service = make_service_fn(move |_connection| {
        let service = service.clone();
        async move { Ok::<_, Infallible>(service) }
    });
    Server::from_tcp(listener)?
        .http1_only(true)
        .http1_header_read_timeout(header_timeout)
        .serve(make_service)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await?;
    Ok(())
}
