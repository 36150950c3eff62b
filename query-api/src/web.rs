//! The web page for people (`/`): one HTML file with its stylesheet and script, compiled into
//! the binary so the page needs no files at run time and nothing from the internet. A strict
//! Content-Security-Policy allows only our own script and style.

use warp::http::{header, HeaderValue};
use warp::reply::Response;

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_CSS: &str = include_str!("../static/app.css");
const APP_JS: &str = include_str!("../static/app.js");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The order lookup page.
#[utoipa::path(get, path = "/", tag = "web",
    responses((status = 200, description = "The order lookup page (HTML)", content_type = "text/html")))]
pub async fn index() -> Response {
    let mut response = page(INDEX_HTML, "text/html; charset=utf-8");
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `/static/{name}`: the page's stylesheet and script; anything else is not found.
pub fn asset(name: &str) -> Option<Response> {
    match name {
        "app.css" => Some(page(APP_CSS, "text/css; charset=utf-8")),
        "app.js" => Some(page(APP_JS, "text/javascript; charset=utf-8")),
        _ => None,
    }
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Small, and changes only with a deploy: let the browser revalidate each time.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
