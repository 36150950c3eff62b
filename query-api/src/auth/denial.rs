//! Refusals of the order routes (contract §8): why, and the response that says so — 401 with
//! a `WWW-Authenticate` challenge, 403 or 429 — plus reading the bearer token from a request.
//! Bodies say what to do, never what was sent.

use super::Scope;
use crate::error::{json_response, ErrorBody};
use warp::http::{header, HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;

/// Why a request to a protected route is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No bearer token (no header, another scheme, or an empty token).
    Missing,
    /// A token that no enabled mode accepts.
    Invalid,
    /// A JWT past its `exp` (plus leeway).
    Expired,
    /// A valid credential without the scope the route needs.
    Scope(Scope),
    /// Over the caller's rate; may ask again after this many whole seconds (≥ 1).
    Rate(u64),
}

impl Denial {
    /// The `reason` label of `auth_failures_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Denial::Missing => "missing",
            Denial::Invalid => "invalid",
            Denial::Expired => "expired",
            Denial::Scope(_) => "scope",
            Denial::Rate(_) => "rate",
        }
    }

    /// 401 with a `WWW-Authenticate` challenge, 403, or 429 with `Retry-After`; JSON bodies
    /// that say what to do, never what was sent.
    pub fn into_response(self) -> Response {
        let (status, message) = match &self {
            Denial::Missing => (
                StatusCode::UNAUTHORIZED,
                "a credential is required: send Authorization: Bearer <token>".to_owned(),
            ),
            Denial::Invalid => (
                StatusCode::UNAUTHORIZED,
                "the credential is not valid".to_owned(),
            ),
            Denial::Expired => (
                StatusCode::UNAUTHORIZED,
                "the credential has expired".to_owned(),
            ),
            Denial::Scope(scope) => (
                StatusCode::FORBIDDEN,
                format!("the credential lacks the scope {}", scope.name()),
            ),
            Denial::Rate(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests: retry later".to_owned(),
            ),
        };
        let mut response = json_response(status, &ErrorBody { error: message });
        let headers = response.headers_mut();
        match self {
            Denial::Missing => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Denial::Invalid | Denial::Expired => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            // RFC 6750 §3.1: which scope would do.
            Denial::Scope(scope) => {
                let challenge = format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                    scope.name()
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Denial::Rate(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
        }
        response
    }
}

/// The token of `Authorization: Bearer <token>`. Another scheme or an empty token is
/// [`Denial::Missing`]; two `Authorization` headers or bytes outside printable ASCII are
/// [`Denial::Invalid`].
pub fn bearer(headers: &HeaderMap) -> Result<&str, Denial> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(Denial::Missing)?;
    if values.next().is_some() {
        return Err(Denial::Invalid);
    }
    let bytes = value.as_bytes();
    let token = match bytes.split_at_checked(7) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest.trim_ascii(),
        _ => return Err(Denial::Missing),
    };
    if token.is_empty() {
        return Err(Denial::Missing);
    }
    if !token.iter().all(|byte| (b'!'..=b'~').contains(byte)) {
        return Err(Denial::Invalid);
    }
    std::str::from_utf8(token).map_err(|_| Denial::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn reads_bearer_tokens_and_nothing_else() {
        let token =
            |values: &[&'static str]| bearer(&with_authorization(values)).map(str::to_owned);
        assert_eq!(token(&["Bearer abc.def"]), Ok("abc.def".into()));
        assert_eq!(token(&["bearer   padded  "]), Ok("padded".into()));
        assert_eq!(token(&[]), Err(Denial::Missing));
        assert_eq!(token(&["Basic dXNlcjpwYXNz"]), Err(Denial::Missing));
        assert_eq!(token(&["Bearer"]), Err(Denial::Missing));
        assert_eq!(token(&["Bearer   "]), Err(Denial::Missing));
        assert_eq!(token(&["Bearerabc"]), Err(Denial::Missing));
        assert_eq!(token(&["Bearer a b"]), Err(Denial::Invalid));
        assert_eq!(token(&["Bearer one", "Bearer two"]), Err(Denial::Invalid));
    }

    #[test]
    fn refusals_carry_the_contract_headers() {
        let missing = Denial::Missing.into_response();
        assert_eq!(missing.status(), 401);
        assert_eq!(missing.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let invalid = Denial::Expired.into_response();
        assert_eq!(
            invalid.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(Denial::Scope(Scope::List).into_response().status(), 403);
        let rate = Denial::Rate(0).into_response();
        assert_eq!(rate.status(), 429);
        assert_eq!(rate.headers()[header::RETRY_AFTER], "1");
    }
}
