//! Trace export from query-api: with an OTLP endpoint set, a request that brings a
//! `traceparent` becomes a span of the caller's trace in the local Jaeger, with the database
//! read that answered it underneath. Its own test binary: trace export is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use pipeline_runtime::config::TelemetryArgs;
use pipeline_testing::traces::{otlp_endpoint, wait_for_trace, RemoteParent};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_a_traceparent_joins_the_callers_trace() {
    let telemetry = pipeline_runtime::telemetry::init(
        &TelemetryArgs {
            otlp_endpoint: Some(otlp_endpoint()),
            ..TelemetryArgs::default()
        },
        "query-api",
    )
    .expect("trace export");
    assert!(pipeline_runtime::telemetry::exporting());
    let app = spawn_app().await;
    let order = order("tracedorder0001", "2026-11-25T10:00:00Z");
    app.store(std::slice::from_ref(&order)).await;
    let caller = RemoteParent::random();

    let response = app
        .client
        .get(format!("{}/order/tracedorder0001", app.address))
        .header("traceparent", caller.traceparent())
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    app.stop().await.expect("a clean stop");
    telemetry.shutdown(); // flushes the spans

    let spans = wait_for_trace(&caller.trace_id, |spans| {
        spans.iter().any(|s| s.operation == "request")
            && spans.iter().any(|s| s.operation == "lookup")
    })
    .await;
    let request = spans
        .iter()
        .find(|s| s.operation == "request")
        .expect("request");
    assert_eq!(request.service, "query-api");
    assert_eq!(
        request.parent,
        Some((caller.trace_id.clone(), caller.span_id.clone())),
        "the request span is a child of the caller's span"
    );
    assert_eq!(request.tag("route"), Some("/order/{uid}"));
    assert_eq!(request.tag("method"), Some("GET"));
    // Redis had nothing (a fresh key prefix): PostgreSQL answered, inside the request.
    let lookup = spans
        .iter()
        .find(|s| s.operation == "lookup")
        .expect("lookup");
    assert_eq!(lookup.tag("order_uid"), Some("tracedorder0001"));
    assert_eq!(lookup.tag("source"), Some("postgres"));
    assert_eq!(
        lookup.parent,
        Some((caller.trace_id.clone(), request.span_id.clone())),
        "the lookup runs under the request"
    );
}
