//! W3C Trace Context across process boundaries: a Kafka record's or HTTP request's
//! `traceparent` becomes the parent of the span that handles it, and a span's own context
//! becomes the `traceparent` of what it sends.
//!
//! Only `traceparent` is carried (no `tracestate`): it is the one header the contract names.

use super::exporting;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C Trace Context header, on Kafka records and HTTP requests alike.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` a child of the remote span `traceparent` names. Call before the span is first
/// entered; a missing or malformed value leaves it a root span.
pub fn continue_trace(span: &Span, traceparent: Option<&str>) {
    let Some(value) = traceparent.filter(|_| exporting()) else {
        return;
    };
    let parent = TraceContextPropagator::new().extract(&Carrier(Some(value.to_owned())));
    if parent.span().span_context().is_valid() {
        // Fails only when the span is disabled or already started: it then keeps its parent.
        let _ = span.set_parent(parent);
    }
}

/// `span`'s context as a `traceparent` value, or `None` when spans are not exported.
pub fn traceparent(span: &Span) -> Option<String> {
    if !exporting() {
        return None;
    }
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = Carrier(None);
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.0
}

/// Holds the one header value, in either direction.
struct Carrier(Option<String>);

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .as_deref()
            .filter(|_| key.eq_ignore_ascii_case(TRACEPARENT))
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            self.0 = Some(value);
        }
    }
}
