//! The OpenAPI document, derived from the handlers' `#[utoipa::path]` annotations, and the
//! Swagger UI that renders it. The UI's files are compiled into the binary (`vendored`), so
//! `/swagger` works on a machine with no internet access. Beside it, the JSON Schema of the order
//! document for producers (`/api-docs/order.schema.json`, made by `order_model` from the model).

use crate::error::{ApiError, ErrorBody};
use crate::handlers::{self, Alive};
use crate::health::{DependencyState, Readiness, Status};
use crate::web;
use order_model::{Delivery, Item, Order, Payment};
use order_store::OrderSummary;
use std::sync::{Arc, LazyLock};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use warp::http::{header, HeaderValue};
use warp::reply::Response;

/// Where the document is served; the Swagger UI loads it from here.
pub const DOCUMENT_PATH: &str = "/api-docs/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Order query API",
        description = "Read side of the order pipeline: orders by uid (from an in-process cache, \
            Redis or PostgreSQL), the newest orders, and operational endpoints. The order routes \
            need `Authorization: Bearer <token>`: an API key or a JWT with the scope \
            `orders:read` (one order) or `orders:list` (the newest orders). `/metrics` is served \
            on the admin port only."
    ),
    modifiers(&BearerAuth),
    paths(
        handlers::get_order,
        handlers::list_orders,
        handlers::healthz,
        handlers::readyz,
        handlers::openapi,
        order_schema,
        web::index,
        swagger_ui,
    ),
    components(schemas(
        Order, Delivery, Payment, Item, OrderSummary, ErrorBody, Readiness, Status,
        DependencyState, Alive
    )),
    tags(
        (name = "orders", description = "Reading stored orders"),
        (name = "operations", description = "Health, readiness and this document"),
        (name = "web", description = "Pages for people"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme the order routes name, so Swagger UI offers "Authorize".
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API key (16–256 printable characters) or a JWT signed with RS256 or ES256.",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearerAuth", SecurityScheme::Http(scheme));
    }
}

/// The document as JSON bytes (built once at start: it never changes while running).
pub fn document() -> anyhow::Result<bytes::Bytes> {
    Ok(serde_json::to_vec(&ApiDoc::openapi())?.into())
}

/// The order's JSON Schema, byte for byte `docs/schema/order.schema.json` (built once).
static ORDER_SCHEMA: LazyLock<bytes::Bytes> =
    LazyLock::new(|| order_model::json_schema_text().into());

/// The JSON Schema (2020-12) of the order document that producers send (contract §11).
#[utoipa::path(get, path = "/api-docs/order.schema.json", tag = "operations",
    responses((status = 200, description = "JSON Schema (2020-12) of the order document: the \
        fields, their types and per-field rules; unknown fields are allowed", body = Object,
        content_type = "application/schema+json")))]
pub async fn order_schema() -> Response {
    let mut response = Response::new(ORDER_SCHEMA.clone().into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/schema+json"),
    );
    response
}

static SWAGGER_CONFIG: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> =
    LazyLock::new(|| Arc::new(utoipa_swagger_ui::Config::from(DOCUMENT_PATH)));

/// Swagger UI for this API (`/swagger`, `/swagger/` and its assets under `/swagger/`).
#[utoipa::path(get, path = "/swagger", tag = "web",
    responses((status = 200, description = "Swagger UI (HTML)", content_type = "text/html")))]
pub async fn swagger_ui(full_path: String, tail: String) -> Response {
    // `/swagger` without the slash: serve the page itself with a <base> so that its relative
    // asset URLs still resolve under `/swagger/` (no redirect round trip needed).
    let bare = full_path == "/swagger";
    let file = if bare || tail.is_empty() {
        "index.html"
    } else {
        tail.as_str()
    };
    let found = match utoipa_swagger_ui::serve(file, Arc::clone(&SWAGGER_CONFIG)) {
        Ok(found) => found,
        Err(err) => return ApiError::Internal(format!("swagger ui: {err}")).into_response(),
    };
    let Some(found) = found else {
        return ApiError::RouteNotFound.into_response();
    };
    let mut body = found.bytes.into_owned();
    if file == "index.html" {
        let html = String::from_utf8_lossy(&body).replacen(
            "<head>",
            "<head>\n<base href=\"/swagger/\">",
            1,
        );
        body = html.into_bytes();
    }
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&found.content_type) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    // Swagger UI sets inline styles and shows data: images; scripts still only from us.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_every_route_and_the_sample_order() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        for path in [
            "/order/{order_uid}",
            "/orders",
            "/healthz",
            "/readyz",
            "/api-docs/openapi.json",
            "/api-docs/order.schema.json",
            "/",
            "/swagger",
        ] {
            assert!(doc["paths"][path].is_object(), "missing {path}");
        }
        let example = &doc["components"]["schemas"]["Order"]["example"];
        assert_eq!(example["order_uid"], "b563feb7b2b84b6test");
        assert!(
            doc["paths"]["/metrics"].is_null(),
            "served on the admin port only"
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
            "bearer"
        );
        for path in ["/order/{order_uid}", "/orders"] {
            assert!(doc["paths"][path]["get"]["security"][0]["bearerAuth"].is_array());
        }
        let uid = &doc["paths"]["/order/{order_uid}"]["get"]["parameters"][0];
        assert_eq!(uid["name"], "order_uid");
        assert_eq!(uid["schema"]["pattern"], "^[A-Za-z0-9_-]{1,64}$");
    }
}
