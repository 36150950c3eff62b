//! The HTTP server around the routes: what every request gets whatever its route — a request id
//! (the client's `x-request-id` if sane, else a new one) echoed in the response and carried by a
//! tracing span, a bound on URI length, access control on the order routes (contract §8: before
//! routing, so a refusal never depends on the uid or the query), `Cache-Control: no-store` on
//! their answers, security headers, and the one access-log line plus request metrics. Built on
//! the hyper server warp itself uses, so these run for every response including rejections, and
//! shutdown is graceful: stop accepting, finish in-flight requests.
//!
//! Slow clients are bounded by hyper's HTTP/1 header read timeout (a direct dependency on hyper
//! enables its `runtime` feature, without which that timeout is compiled out): a connection that
//! sends half a request, or nothing, is closed once [`ServerSettings::header_timeout`] passes.
//! HTTP/2 is off (browsers speak it only over TLS, which this server does not terminate), so no
//! cleartext h2 prior-knowledge connection can sidestep that timeout. `HEAD` is served as `GET`
//! without the body (hyper drops the body of responses to `HEAD`).

use crate::auth::{Auth, Scope};
use crate::error::ApiError;
use crate::metrics::ApiMetrics;
use crate::routes;
use hyper::server::conn::AddrStream;
use hyper::service::{make_service_fn, service_fn, Service};
use hyper::{Body, Server};
use pipeline_runtime::shutdown::Shutdown;
use std::cell::Cell;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;
use warp::filters::BoxedFilter;
use warp::http::{header, HeaderName, HeaderValue, Method, Request};
use warp::reply::Response;

/// Longest path plus query we accept; uids are at most 64 characters, so this is generous.
pub const MAX_URI_BYTES: usize = 2048;
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const NOSNIFF: HeaderName = HeaderName::from_static("x-content-type-options");

/// What every request passes through before and after its route. Cheap to clone.
#[derive(Clone)]
pub struct Front {
    pub metrics: ApiMetrics,
    pub auth: Arc<Auth>,
}

/// How each HTTP server treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    /// Time allowed for in-flight requests to finish after the shutdown signal.
    pub grace: Duration,
    /// Time a client has to send a request's headers before its connection is closed.
    pub header_timeout: Duration,
}

/// Serves `filter` on `listener` until `shutdown` fires and in-flight requests finish (at most
/// `settings.grace` after the signal).
pub async fn serve(
    listener: std::net::TcpListener,
    filter: BoxedFilter<(Response,)>,
    front: Front,
    shutdown: Shutdown,
    settings: ServerSettings,
) -> anyhow::Result<()> {
    let ServerSettings {
        grace,
        header_timeout,
    } = settings;
    let service = warp::service(filter);
    // Allocated by the thread that serves: the reference count each request increments is then
    // this thread's (the caller gives each thread its own `filter` for the same reason).
    let front = Arc::new(front);
    let make_service = make_service_fn(move |connection: &AddrStream| {
        let service = service.clone();
        let front = Arc::clone(&front);
        // The rate-limit caller when auth is off.
        let peer = connection.remote_addr().ip();
        async move {
            Ok::<_, Infallible>(service_fn(move |request| {
                handle(service.clone(), Arc::clone(&front), peer, request)
            }))
        }
    });
    let signal = shutdown.clone();
    let server = Server::from_tcp(listener)?
        .tcp_nodelay(true)
        .http1_only(true)
        .http1_header_read_timeout(header_timeout)
        .serve(make_service)
        .with_graceful_shutdown(async move { signal.wait().await });
    let deadline = async {
        shutdown.wait().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => served?,
        () = deadline => tracing::warn!(?grace, "in-flight requests did not finish in time; closing"),
    }
    tracing::info!("http server stopped");
    Ok(())
}

async fn handle<S>(
    routes: S,
    front: Arc<Front>,
    peer: IpAddr,
    mut request: Request<Body>,
) -> Result<Response, Infallible>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let started = Instant::now();
    let request_id = request_id(request.headers().get(&REQUEST_ID));
    // Handlers see the same id the response carries.
    request.headers_mut().insert(REQUEST_ID, request_id.clone());
    let method = request.method().clone();
    let route = routes::template(request.uri().path());
    // At `error` level so every log line of the request carries its id, whatever `RUST_LOG`.
    let span = tracing::error_span!(
        "request",
        request_id = request_id.to_str().unwrap_or(""),
        %method,
        route
    );
    // With trace export on, a caller's `traceparent` makes this request part of its trace.
    let traceparent = request
        .headers()
        .get(pipeline_runtime::telemetry::TRACEPARENT);
    pipeline_runtime::telemetry::continue_trace(&span, traceparent.and_then(|v| v.to_str().ok()));
    // One instrumented future for the whole request: the span is entered once per poll (a
    // cache hit is one poll), not once per step.
    let served = serve_request(routes, &front, peer, request, route, &method);
    let (mut response, uri) = served.instrument(span.clone()).await;

    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, request_id);
    headers.insert(NOSNIFF, HeaderValue::from_static("nosniff"));
    let status = response.status();
    span.in_scope(|| {
        front.metrics.request_completed(
            method.as_str(),
            uri.path(),
            route,
            status,
            started.elapsed(),
        )
    });
    Ok(response)
}

/// The request's response, from access control and the routes; and its URI, kept for the
/// access log (a `Uri` clone shares its bytes).
async fn serve_request<S>(
    mut routes: S,
    front: &Front,
    peer: IpAddr,
    mut request: Request<Body>,
    route: &'static str,
    method: &Method,
) -> (Response, warp::http::Uri)
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    // HEAD is GET without the body: the routes answer GET, hyper drops the body because it
    // knows the request was HEAD; logs and metrics keep the method the client sent.
    if method == Method::HEAD {
        *request.method_mut() = Method::GET;
    }
    let uri = request.uri().clone();
    let uri_len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    let scope = protected(route, method);
    let mut response = if uri_len > MAX_URI_BYTES {
        ApiError::UriTooLong.into_response()
    } else {
        let denied = match scope {
            Some(scope) => {
                let verdict = front.auth.authorize(request.headers(), peer, scope).await;
                if verdict.is_ok() {
                    // The protected handlers run only with this mark (see `routes`).
                    request.extensions_mut().insert(Authorized(scope));
                }
                verdict.err()
            }
            None => None,
        };
        match denied {
            Some(denial) => denial.into_response(),
            None => match routes.call(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
        }
    };
    if scope.is_some() {
        // Orders are personal data: no shared or browser cache may keep them.
        let no_store = HeaderValue::from_static("no-store");
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, no_store);
    }
    (response, uri)
}

/// The mark of a request that passed access control for this scope; the protected routes
/// serve nothing without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized(pub Scope);

/// The scope a request needs: the order routes' `GET` (and `HEAD`); other methods go on to
/// their 405, which reveals nothing.
fn protected(route: &str, method: &Method) -> Option<Scope> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    match route {
        "/order/{uid}" => Some(Scope::Read),
        "/orders" => Some(Scope::List),
        _ => None,
    }
}

/// The client's id when it is short printable ASCII (it ends up in logs), else a new one.
fn request_id(given: Option<&HeaderValue>) -> HeaderValue {
    given
        .filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(new_request_id)
}

/// 32 hex digits: a random prefix per thread and the thread's counter. As unique as a UUID for
/// tracing, without asking the kernel for randomness, or another core for a shared counter's
/// cache line, on every request.
fn new_request_id() -> HeaderValue {
    thread_local! {
        static NEXT: Cell<(u64, u64)> = Cell::new((uuid::Uuid::new_v4().as_u64_pair().0, 0));
    }
    let (prefix, counter) = NEXT.with(|next| {
        let (prefix, counter) = next.get();
        next.set((prefix, counter.wrapping_add(1)));
        (prefix, counter)
    });
    let id = format!("{prefix:016x}{counter:016x}");
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sane_ids_and_replaces_others() {
        let given = HeaderValue::from_static("abc-123");
        assert_eq!(request_id(Some(&given)), given);
        let spaced = HeaderValue::from_static("a b");
        assert_ne!(request_id(Some(&spaced)), spaced);
        assert_eq!(request_id(None).len(), 32);
        assert_ne!(request_id(None), request_id(None));
    }
}
