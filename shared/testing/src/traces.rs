//! Reads exported traces back from the local Jaeger (`scripts/stack.sh start jaeger`), so tests
//! can prove that spans left the process, landed in the right trace and point at the right
//! parent and links — the behaviour an operator following one order relies on.
//!
//! Jaeger's query API (`GET /api/traces/{id}`) shows an OpenTelemetry parent as a `CHILD_OF`
//! reference and a span link as `FOLLOWS_FROM`.

use std::collections::HashMap;
use std::time::Duration;

/// Where tests send spans: the local Jaeger's OTLP/HTTP receiver.
pub fn otlp_endpoint() -> String {
    std::env::var("TEST_OTLP_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4318".into())
}

fn query_url() -> String {
    std::env::var("TEST_JAEGER_QUERY_URL").unwrap_or_else(|_| "http://127.0.0.1:16686".into())
}

/// A made-up remote caller: the `traceparent` a test sends, and the ids to look for.
#[derive(Debug, Clone)]
pub struct RemoteParent {
    pub trace_id: String,
    pub span_id: String,
}

impl RemoteParent {
    pub fn random() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let span = uuid::Uuid::new_v4().simple().to_string();
        Self {
            trace_id: id,
            span_id: span[..16].to_owned(),
        }
    }

    /// The W3C header value (version 00, sampled).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }
}

/// One span as Jaeger stored it.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub operation: String,
    pub service: String,
    /// `(trace id, span id)` of the parent, if any.
    pub parent: Option<(String, String)>,
    /// `(trace id, span id)` of each linked span.
    pub links: Vec<(String, String)>,
    pub tags: HashMap<String, String>,
}

impl ExportedSpan {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }
}

/// Polls Jaeger for trace `trace_id` until `ready` accepts its spans; panics after 30 s with
/// what was found.
pub async fn wait_for_trace(
    trace_id: &str,
    ready: impl Fn(&[ExportedSpan]) -> bool,
) -> Vec<ExportedSpan> {
    let client = reqwest::Client::new();
    let url = format!("{}/api/traces/{trace_id}", query_url());
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut spans = Vec::new();
    while tokio::time::Instant::now() < give_up {
        if let Ok(response) = client.get(&url).send().await {
            if response.status().is_success() {
                if let Ok(body) = response.json::<serde_json::Value>().await {
                    spans = parse(&body);
                    if ready(&spans) {
                        return spans;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("trace {trace_id} never got the expected spans from {url}; found {spans:#?}");
}

fn parse(body: &serde_json::Value) -> Vec<ExportedSpan> {
    let text =
        |value: &serde_json::Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let mut spans = Vec::new();
    for trace in body["data"].as_array().into_iter().flatten() {
        let processes = &trace["processes"];
        for span in trace["spans"].as_array().into_iter().flatten() {
            let mut parent = None;
            let mut links = Vec::new();
            for reference in span["references"].as_array().into_iter().flatten() {
                let target = (text(reference, "traceID"), text(reference, "spanID"));
                match reference["refType"].as_str() {
                    Some("CHILD_OF") => parent = Some(target),
                    _ => links.push(target),
                }
            }
            let tags = span["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|tag| {
                    let value = match &tag["value"] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (text(tag, "key"), value)
                })
                .collect();
            let process = span["processID"].as_str().unwrap_or_default();
            spans.push(ExportedSpan {
                trace_id: text(span, "traceID"),
                span_id: text(span, "spanID"),
                operation: text(span, "operationName"),
                service: text(&processes[process], "serviceName"),
                parent,
                links,
                tags,
            });
        }
    }
    spans
}
