//! The route table: which path and method reach which handler (`/metrics` lives on the admin
//! listener, see [`crate::admin`]; the order routes are guarded before routing, see
//! [`crate::http`]). Every route matches its path
//! before its method, so an unknown path answers 404 and a known path with the wrong method
//! 405; [`crate::error::recover`] turns every rejection into a JSON error.

use crate::error::{self, ApiError};
use crate::handlers::{self, AppState};
use crate::{openapi, web};
use futures::FutureExt;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

/// All routes, answering every request (rejections recovered into JSON errors).
///
/// warp keeps the routes' futures in one nested enum sized by the largest, which every request
/// builds and moves; the rare routes with big futures (`/readyz` ~7.7 KB, `/orders` ~4.6 KB,
/// against ~200 B for `/order/{uid}`) are boxed so the hot route does not pay for them.
pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    // One shared state: cloning it per request is a reference-count increment.
    let with_state = warp::any().map(move || Arc::clone(&state));

    // `/order/{uid}`: the raw tail, so the uid is decoded and checked in one place (a `%2F` or
    // a second segment is an invalid uid, not an unknown route).
    let order = warp::path("order")
        .and(warp::path::tail())
        .and(warp::get())
        .map(|tail: warp::path::Tail| tail.as_str().to_owned())
        .and(with_state.clone())
        .then(handlers::get_order);

    let raw_query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    let orders = warp::path!("orders")
        .and(warp::get())
        .and(raw_query)
        .and(with_state.clone())
        .then(|query, state| handlers::list_orders(query, state).boxed());

    let healthz = warp::path!("healthz")
        .and(warp::get())
        .then(handlers::healthz);
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with_state.clone())
        .then(|state| handlers::readyz(state).boxed());
    let openapi = warp::path!("api-docs" / "openapi.json")
        .and(warp::get())
        .and(with_state)
        .then(handlers::openapi);
    let order_schema = warp::path!("api-docs" / "order.schema.json")
        .and(warp::get())
        .then(openapi::order_schema);
    let swagger = warp::path("swagger")
        .and(warp::path::full())
        .and(warp::path::tail())
        .and(warp::get())
        .map(|full: warp::path::FullPath, tail: warp::path::Tail| {
            (full.as_str().to_owned(), tail.as_str().to_owned())
        })
        .untuple_one()
        .then(openapi::swagger_ui);

    let index = warp::path::end().and(warp::get()).then(web::index);
    let assets = warp::path("static")
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::get())
        .and_then(|name: String| async move {
            web::asset(&name).ok_or_else(|| warp::reject::custom(ApiError::RouteNotFound))
        });

    order
        .or(orders)
        .unify()
        .or(healthz)
        .unify()
        .or(readyz)
        .unify()
        .or(openapi)
        .unify()
        .or(order_schema)
        .unify()
        .or(swagger)
        .unify()
        .or(index)
        .unify()
        .or(assets)
        .unify()
        .recover(error::recover)
        .unify()
        .boxed()
}

/// The route template of a path, for metric labels and logs: never the uid itself, and one
/// fixed value for anything unknown so junk paths cannot create new time series.
pub fn template(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/orders" => "/orders",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/api-docs/openapi.json" => "/api-docs/openapi.json",
        "/api-docs/order.schema.json" => "/api-docs/order.schema.json",
        "/swagger" => "/swagger",
        _ if path.starts_with("/order/") || path == "/order" => "/order/{uid}",
        _ if path.starts_with("/swagger/") => "/swagger",
        _ if path.starts_with("/static/") => "/static",
        _ => "unmatched",
    }
}

#[cfg(test)]
mod tests {
    use super::template;

    #[test]
    fn templates_never_carry_uids() {
        assert_eq!(template("/order/b563feb7b2b84b6test"), "/order/{uid}");
        assert_eq!(template("/swagger/swagger-ui.css"), "/swagger");
        assert_eq!(template("/wp-admin"), "unmatched");
    }
}
