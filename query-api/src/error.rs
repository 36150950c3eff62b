//! The one place where anything becomes an HTTP status. Handlers return [`ApiError`]; warp's own
//! rejections (unknown route, wrong method, bad query) are translated by [`recover`]. Clients get
//! `{"error": "<public message>"}`; internal details are logged here and never sent.

use serde::Serialize;
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// Everything a request can fail with, by what the client should understand.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The path segment cannot be an order uid (contract §1: 1–64 of `A-Za-z0-9_-`).
    #[error("invalid order_uid: {0}")]
    InvalidUid(&'static str),
    /// A query parameter is out of range or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No order has this uid.
    #[error("order not found")]
    OrderNotFound,
    /// No route matches the path.
    #[error("not found")]
    RouteNotFound,
    /// The path exists but not with this method; every route is `GET` (and `HEAD`, see
    /// [`ALLOWED_METHODS`]).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Path plus query longer than we accept.
    #[error("request URI too long")]
    UriTooLong,
    /// Neither Redis nor PostgreSQL could answer; the detail is logged, not sent.
    #[error("order storage is unavailable, retry later")]
    Unavailable(String),
    /// A bug or an unexpected answer from a dependency; the detail is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

/// What every route answers, sent in the `Allow` header of each 405 (RFC 9110 §15.5.6).
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// The body of every error response (and its OpenAPI schema).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": "order not found"}))]
pub struct ErrorBody {
    /// What went wrong, for people; stable enough to show, not to parse.
    pub error: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidUid(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::OrderNotFound | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UriTooLong => StatusCode::URI_TOO_LONG,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs what only operators should see, then renders the public answer.
    pub fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "dependencies unavailable"),
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            _ => {}
        }
        let body = ErrorBody {
            error: self.to_string(),
        };
        let mut response = json_response(self.status(), &body);
        if matches!(self, ApiError::MethodNotAllowed) {
            response.headers_mut().insert(
                warp::http::header::ALLOW,
                warp::http::HeaderValue::from_static(ALLOWED_METHODS),
            );
        }
        response
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        ApiError::into_response(self)
    }
}

impl warp::reject::Reject for ApiError {}

/// Outages and transient failures are worth a retry (503); anything else is our bug (500).
impl From<order_store::StoreError> for ApiError {
    fn from(err: order_store::StoreError) -> Self {
        use order_store::StoreError;
        match err {
            StoreError::Unavailable(_) | StoreError::Refused(_) | StoreError::Transient(_) => {
                ApiError::Unavailable(format!("postgres: {err}"))
            }
            _ => ApiError::Internal(format!("postgres: {err}")),
        }
    }
}

/// Serializes `body` with `status` and a JSON content type.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = Response::new(bytes.into());
            *response.status_mut() = status;
            response.headers_mut().insert(
                warp::http::header::CONTENT_TYPE,
                warp::http::HeaderValue::from_static("application/json"),
            );
            response
        }
        // Our bodies are plain structs; failing here is a bug, answered without a body.
        Err(err) => {
            tracing::error!(%err, "cannot serialize a response body");
            let mut response = Response::new(Vec::new().into());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

/// Turns any rejection into a JSON error, so no route answers with warp's plain-text bodies.
pub async fn recover(rejection: warp::Rejection) -> Result<Response, Infallible> {
    let error = if let Some(api) = rejection.find::<ApiError>() {
        // Rejections are shared, so rebuild the owned error from the borrowed one.
        match api {
            ApiError::InvalidUid(why) => ApiError::InvalidUid(why),
            ApiError::BadRequest(message) => ApiError::BadRequest(message.clone()),
            ApiError::OrderNotFound => ApiError::OrderNotFound,
            ApiError::RouteNotFound => ApiError::RouteNotFound,
            ApiError::MethodNotAllowed => ApiError::MethodNotAllowed,
            ApiError::UriTooLong => ApiError::UriTooLong,
            ApiError::Unavailable(detail) => ApiError::Unavailable(detail.clone()),
            ApiError::Internal(detail) => ApiError::Internal(detail.clone()),
        }
    } else if rejection.is_not_found() {
        ApiError::RouteNotFound
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::MethodNotAllowed
    } else if let Some(query) = rejection.find::<warp::reject::InvalidQuery>() {
        ApiError::BadRequest(query.to_string())
    } else {
        ApiError::Internal(format!("unhandled rejection: {rejection:?}"))
    };
    Ok(error.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_the_body() {
        let error = ApiError::Unavailable("connection refused to 10.0.0.7:5432".into());
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!error.to_string().contains("10.0.0.7"));
        assert_eq!(ApiError::OrderNotFound.to_string(), "order not found");
    }

    #[test]
    fn every_405_says_what_is_allowed() {
        let response = ApiError::MethodNotAllowed.into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[warp::http::header::ALLOW], "GET, HEAD");
        let other = ApiError::RouteNotFound.into_response();
        assert!(other.headers().get(warp::http::header::ALLOW).is_none());
    }
}
