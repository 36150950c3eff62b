//! The API's request handlers. Each takes parsed input and the shared state and returns a
//! response; the `#[utoipa::path]` on each is the OpenAPI description of its route, kept next to
//! the code so the document cannot drift from what the handler does.

use crate::error::{json_response, ApiError, ErrorBody};
use crate::health::{Health, Readiness, Status};
use crate::input;
use crate::metrics::ApiMetrics;
use crate::read_model::{ReadModel, Served};
use bytes::Bytes;
use order_model::Order;
use order_store::{OrderRepository, OrderSummary};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub read_model: ReadModel,
    pub repository: OrderRepository,
    pub health: Health,
    pub metrics: ApiMetrics,
    pub db_read_timeout: Duration,
    /// The OpenAPI document, serialized once at start.
    pub openapi: Bytes,
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const X_CACHE: header::HeaderName = header::HeaderName::from_static("x-cache");

/// One order by uid. Needs a credential with the scope `orders:read`.
#[utoipa::path(
    get,
    path = "/order/{order_uid}",
    tag = "orders",
    security(("bearerAuth" = [])),
    params(("order_uid" = String, Path, description = "1–64 characters of `A-Z a-z 0-9 _ -`",
        pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64,
        example = "b563feb7b2b84b6test")),
    responses(
        (status = 200, description = "The order, byte for byte as the read model holds it",
            body = Order, content_type = "application/json",
            headers(("x-cache" = String, description = "`hit` when a cache answered, `miss` when PostgreSQL did"))),
        (status = 400, description = "The uid cannot be an order uid", body = ErrorBody,
            example = json!({"error": "invalid order_uid: only A-Z, a-z, 0-9, '_' and '-' are allowed"})),
        (status = 401, description = "No credential, or one that is not valid or has expired",
            body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            example = json!({"error": "a credential is required: send Authorization: Bearer <token>"})),
        (status = 403, description = "The credential lacks the scope `orders:read`", body = ErrorBody),
        (status = 404, description = "No order has this uid", body = ErrorBody,
            example = json!({"error": "order not found"})),
        (status = 429, description = "Over this caller's rate", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "Neither Redis nor PostgreSQL can answer", body = ErrorBody,
            example = json!({"error": "order storage is unavailable, retry later"})),
    )
)]
pub async fn get_order(raw_uid: String, state: Arc<AppState>) -> Response {
    let result = async {
        let uid = input::order_uid(&raw_uid)?;
        state
            .read_model
            .order(uid.as_str())
            .await?
            .ok_or(ApiError::OrderNotFound)
    };
    match result.await {
        Ok(Served { body, source }) => {
            let mut response = Response::new(body.into());
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, JSON);
            headers.insert(X_CACHE, HeaderValue::from_static(source.cache_result()));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// The query of `GET /orders`, for the OpenAPI document only ([`input::orders_limit`] parses it,
/// so that every malformed value is our JSON 400).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// How many orders, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100, default = 20, example = 20)]
    pub limit: Option<i64>,
}

/// The newest orders, by `date_created`. Needs a credential with the scope `orders:list`.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "orders",
    security(("bearerAuth" = [])),
    params(OrdersQuery),
    responses(
        (status = 200, description = "Newest first", body = [OrderSummary]),
        (status = 400, description = "`limit` is not an integer from 1 to 100", body = ErrorBody,
            example = json!({"error": "limit must be an integer from 1 to 100"})),
        (status = 401, description = "No credential, or one that is not valid or has expired",
            body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent"))),
        (status = 403, description = "The credential lacks the scope `orders:list`", body = ErrorBody),
        (status = 429, description = "Over this caller's rate", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Whole seconds to wait, at least 1"))),
        (status = 503, description = "PostgreSQL cannot answer", body = ErrorBody),
    )
)]
pub async fn list_orders(query: Option<String>, state: Arc<AppState>) -> Response {
    let result = async {
        let limit = input::orders_limit(query.as_deref())?;
        state.read_model.newest(limit).await
    };
    match result.await {
        Ok(orders) => json_response(StatusCode::OK, &orders),
        Err(error) => error.into_response(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Alive {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process runs", body = Alive)))]
pub async fn healthz() -> Response {
    json_response(StatusCode::OK, &Alive { status: "ok" })
}

/// Readiness: 200 when reads can be served (PostgreSQL up), else 503; Redis down is degraded.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready; `redis: down` means degraded (slower) reads", body = Readiness),
        (status = 503, description = "Not ready: PostgreSQL is down or its schema is behind", body = Readiness,
            example = json!({"status": "not_ready", "postgres": "down", "redis": "up"})),
    ))]
pub async fn readyz(state: Arc<AppState>) -> Response {
    let readiness = state.health.check().await;
    let status = match readiness.status {
        Status::Ready => StatusCode::OK,
        Status::NotReady => StatusCode::SERVICE_UNAVAILABLE,
    };
    json_response(status, &readiness)
}

/// Prometheus metrics in the text format (admin listener only: not part of the public API).
pub async fn metrics(state: Arc<AppState>) -> Response {
    state.read_model.publish_gauges();
    let mut response = Response::new(state.metrics.render().into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// This document.
#[utoipa::path(get, path = "/api-docs/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3 document", body = Object,
        content_type = "application/json")))]
pub async fn openapi(state: Arc<AppState>) -> Response {
    let mut response = Response::new(state.openapi.clone().into());
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}
