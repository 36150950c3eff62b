//! The route table: which path and method reach which handler (`/metrics` lives on the admin
//! listener, see [`crate::admin`]; the order routes are guarded before routing, see
//! [`crate::http`]). Every route matches its path
//! before its method, so an unknown path answers 404 and a known path with the wrong method
//! 405; [`crate::error::recover`] turns every rejection into a JSON error.
//!
//! Which routes are protected is decided from [`template`], before routing; so that this can
//! never disagree with what the router serves, `template` follows warp's matching (an exact path
//! also matches with one trailing slash), a unit test checks both on the same paths, and the
//! protected handlers run only for a request the HTTP layer marked [`Authorized`] for their scope
//! (without the mark they answer 404: fail closed).

use crate::auth::Scope;
use crate::error::{self, ApiError};
use crate::handlers::{self, AppState};
use crate::http::Authorized;
use crate::{openapi, web};
use futures::FutureExt;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection};

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
    let order = paths::order()
        .and(warp::get())
        .and(authorized(Scope::Read))
        .map(|tail: warp::path::Tail| tail.as_str().to_owned())
        .and(with_state.clone())
        .then(handlers::get_order);

    let raw_query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    let orders = paths::orders()
        .and(warp::get())
        .and(authorized(Scope::List))
        .and(raw_query)
        .and(with_state.clone())
        .then(|query, state| handlers::list_orders(query, state).boxed());

    let healthz = paths::healthz().and(warp::get()).then(handlers::healthz);
    let readyz = paths::readyz()
        .and(warp::get())
        .and(with_state.clone())
        .then(|state| handlers::readyz(state).boxed());
    let openapi = paths::openapi()
        .and(warp::get())
        .and(with_state)
        .then(handlers::openapi);
    let order_schema = paths::order_schema()
        .and(warp::get())
        .then(openapi::order_schema);
    let swagger = paths::swagger()
        .and(warp::get())
        .map(|full: warp::path::FullPath, tail: warp::path::Tail| {
            (full.as_str().to_owned(), tail.as_str().to_owned())
        })
        .untuple_one()
        .then(openapi::swagger_ui);

    let index = paths::index().and(warp::get()).then(web::index);
    let assets = paths::asset()
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

/// The path part of each route, shared by [`routes`] and the test that holds [`template`] to it.
mod paths {
    use warp::path::{FullPath, Tail};
    use warp::{Filter, Rejection};

    pub fn order() -> impl Filter<Extract = (Tail,), Error = Rejection> + Copy {
        warp::path("order").and(warp::path::tail())
    }
    pub fn orders() -> impl Filter<Extract = (), Error = Rejection> + Copy {
        warp::path!("orders")
    }
    pub fn healthz() -> impl Filter<Extract = (), Error = Rejection> + Copy {
        warp::path!("healthz")
    }
    pub fn readyz() -> impl Filter<Extract = (), Error = Rejection> + Copy {
        warp::path!("readyz")
    }
    pub fn openapi() -> impl Filter<Extract = (), Error = Rejection> + Copy {
        warp::path!("api-docs" / "openapi.json")
    }
    pub fn order_schema() -> impl Filter<Extract = (), Error = Rejection> + Copy {
        warp::path!("api-docs" / "order.schema.json")
    }
    pub fn swagger() -> impl Filter<Extract = (FullPath, Tail), Error = Rejection> + Copy {
        warp::path("swagger")
            .and(warp::path::full())
            .and(warp::path::tail())
    }
    pub fn index() -> impl Filter<Extract = (), Error = Rejection> + Copy {
        warp::path::end()
    }
    pub fn asset() -> impl Filter<Extract = (String,), Error = Rejection> + Copy {
        warp::path("static")
            .and(warp::path::param::<String>())
            .and(warp::path::end())
    }
}

/// Passes only a request the HTTP layer authorized for `scope` (see [`crate::http`]); any other
/// is a 404, never the handler: should [`template`] ever miss a path the router serves, that
/// path is closed rather than open.
fn authorized(scope: Scope) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::ext::optional::<Authorized>()
        .and_then(move |cleared: Option<Authorized>| async move {
            match cleared {
                Some(Authorized(given)) if given == scope => Ok(()),
                _ => {
                    tracing::error!(
                        scope = scope.name(),
                        "a protected route was reached without authorization; answering 404"
                    );
                    Err(warp::reject::custom(ApiError::RouteNotFound))
                }
            }
        })
        .untuple_one()
}

/// The route template of a path, for access control, metric labels and logs: never the uid
/// itself, and one fixed value for anything unknown so junk paths cannot create new time series.
///
/// It matches the way the router does: warp's `path!` ends with `path::end()`, which also
/// accepts one trailing slash (`/orders/` is served as `/orders`; `/orders//` is not served),
/// and a prefix route (`/order`, `/swagger`) takes any tail.
pub fn template(path: &str) -> &'static str {
    if path == "/" {
        return "/";
    }
    let exact = path.strip_suffix('/').unwrap_or(path);
    match exact {
        "/orders" => "/orders",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/api-docs/openapi.json" => "/api-docs/openapi.json",
        "/api-docs/order.schema.json" => "/api-docs/order.schema.json",
        _ if path.starts_with("/order/") || path == "/order" => "/order/{uid}",
        _ if path.starts_with("/swagger/") || path == "/swagger" => "/swagger",
        _ if path.starts_with("/static/") => "/static",
        _ => "unmatched",
    }
}

#[cfg(test)]
mod tests {
    use super::{paths, template};
    use warp::Filter;

    #[test]
    fn templates_never_carry_uids() {
        assert_eq!(template("/order/b563feb7b2b84b6test"), "/order/{uid}");
        assert_eq!(template("/swagger/swagger-ui.css"), "/swagger");
        assert_eq!(template("/wp-admin"), "unmatched");
    }

    /// The protected handlers are behind the HTTP layer's mark for their own scope: without it
    /// (or with the other scope's) the route is closed.
    #[tokio::test]
    async fn protected_routes_need_the_mark_of_their_scope() {
        use super::{authorized, Authorized, Scope};
        let read = authorized(Scope::Read);
        assert!(!warp::test::request().matches(&read).await);
        let list = warp::test::request().extension(Authorized(Scope::List));
        assert!(!list.matches(&read).await);
        let marked = warp::test::request().extension(Authorized(Scope::Read));
        assert!(marked.matches(&read).await);
    }

    /// The template of the route whose path filter takes `path`, as the router tries them.
    async fn served_as(path: &str) -> &'static str {
        let request = || warp::test::request().path(path);
        let routes: [(bool, &'static str); 9] = [
            (request().matches(&paths::order()).await, "/order/{uid}"),
            (request().matches(&paths::orders()).await, "/orders"),
            (request().matches(&paths::healthz()).await, "/healthz"),
            (request().matches(&paths::readyz()).await, "/readyz"),
            (
                request().matches(&paths::openapi()).await,
                "/api-docs/openapi.json",
            ),
            (
                request().matches(&paths::order_schema()).await,
                "/api-docs/order.schema.json",
            ),
            (request().matches(&paths::swagger()).await, "/swagger"),
            (request().matches(&paths::index()).await, "/"),
            (
                request().matches(&paths::asset().map(|_| ())).await,
                "/static",
            ),
        ];
        routes
            .into_iter()
            .find_map(|(matched, name)| matched.then_some(name))
            .unwrap_or("unmatched")
    }

    /// Access control is decided from `template`, so it must name the route the router serves
    /// for every path the router serves: with and without trailing slashes, doubled slashes,
    /// prefixes and near misses.
    #[tokio::test]
    async fn template_agrees_with_the_router() {
        let mut paths = Vec::new();
        for base in [
            "",
            "/order",
            "/order/b563feb7b2b84b6test",
            "/order/a.b",
            "/orders",
            "/ordersx",
            "/orderx",
            "/healthz",
            "/readyz",
            "/api-docs/openapi.json",
            "/api-docs/order.schema.json",
            "/api-docs",
            "/swagger",
            "/swagger/index.html",
            "/static/app.js",
            "/static",
            "/wp-admin",
        ] {
            for suffix in ["", "/", "//", "/x", "/x/"] {
                paths.push(format!("{base}{suffix}"));
            }
            paths.push(format!("/{base}"));
        }
        for path in paths.iter().filter(|path| path.starts_with('/')) {
            let served = served_as(path).await;
            // `/static/<anything>` is one label whether or not that asset exists.
            if served == "unmatched" && template(path) == "/static" {
                continue;
            }
            assert_eq!(template(path), served, "{path}");
        }
        for protected in ["/orders/", "/order/b563feb7b2b84b6test/", "/order/"] {
            assert_ne!(served_as(protected).await, "unmatched", "{protected}");
        }
        assert_eq!(template("/orders/"), "/orders");
        assert_eq!(template("/orders//"), "unmatched");
    }
}
