//! The request-and-check steps many tests repeat, in one place: a request of any method with the
//! app's credential, a GET read as status and JSON, a GET checked for status and type, and the
//! message of a JSON error.

use super::TestApp;
use serde_json::Value;

impl TestApp {
    /// `method` on `path`, with the app's credential (if any).
    pub async fn request(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        let what = format!("{method} {path}");
        self.client
            .request(method, format!("{}{path}", self.address))
            .send()
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"))
    }

    /// GET `path`: its status and its body as JSON (a body that is not JSON fails the test).
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response
            .json()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: not JSON: {error}"));
        (status, body)
    }

    /// GET `path`, asserting its status and its exact `content-type`; the response, for the
    /// caller's other checks.
    pub async fn get_expecting(
        &self,
        path: &str,
        status: u16,
        content_type: &str,
    ) -> reqwest::Response {
        let response = self.get(path).await;
        assert_eq!(response.status(), status, "GET {path}");
        assert_eq!(
            response.headers()["content-type"],
            content_type,
            "GET {path}"
        );
        response
    }
}

/// The `error` message of a JSON error response (`{"error": "..."}`), after asserting its
/// status; `what` names the request in failure messages.
pub async fn error_message(response: reqwest::Response, status: u16, what: &str) -> String {
    assert_eq!(response.status(), status, "{what}");
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|error| panic!("{what}: not JSON: {error}"));
    match body["error"].as_str() {
        Some(message) => message.to_owned(),
        None => panic!("{what}: no error message in {body}"),
    }
}
