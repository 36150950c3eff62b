//! Kafka connection failures an operator can act on (contract §9). librdkafka reports a wrong
//! password or a rejected certificate only through its error callback, while the operation that
//! needed the broker merely times out; [`ReportingContext`] keeps the last such failure so the
//! operation can fail with it, and [`refusal`] turns the callback's words into one line naming
//! Kafka, the cause and the setting to check.

use pipeline_runtime::failure::{Cause, Failure};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::sync::{Arc, Mutex};

/// The diagnosis of a client error callback (`error`, `reason`), when it is a login or TLS
/// failure: from the reason's words, else (a consumer's bare error code) from the code.
pub fn refusal(error: &KafkaError, reason: &str) -> Option<Failure> {
    if let Some(failure) = describe(reason) {
        return Some(failure);
    }
    match error.rdkafka_error_code()? {
        RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed => {
            Some(failure(Cause::Authentication, &error.to_string()))
        }
        _ => None,
    }
}

/// The diagnosis of one of librdkafka's log lines. A consumer learns of a refused login or
/// handshake only through them: its error events carry a bare code.
pub fn refusal_in_log(level: RDKafkaLogLevel, message: &str) -> Option<Failure> {
    if level as i32 > RDKafkaLogLevel::Error as i32 {
        return None;
    }
    describe(message)
}

/// A login or TLS failure in librdkafka's words, e.g. `sasl_ssl://host:9093/bootstrap: SASL
/// authentication error: …` or `ssl://…: SSL handshake failed: …certificate verify failed…`.
fn describe(text: &str) -> Option<Failure> {
    let lower = text.to_ascii_lowercase();
    let cause =
        if lower.contains("sasl authentication error") || lower.contains("authentication failed") {
            Cause::Authentication
        } else if lower.contains("hostname mismatch") || lower.contains("host name mismatch") {
            Cause::HostName
        } else if lower.contains("certificate") || lower.contains("unknown ca") {
            Cause::Certificate
        } else if lower.contains("ssl handshake failed") {
            Cause::Tls
        } else {
            return None;
        };
    Some(failure(cause, text))
}

fn failure(cause: Cause, text: &str) -> Failure {
    let hint = match cause {
        Cause::Authentication => {
            "check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM"
        }
        Cause::HostName => "use broker host names the broker certificates list in KAFKA_BROKERS",
        Cause::Certificate => {
            "check KAFKA_SSL_CA_LOCATION (the CA of the broker certificates, whose host names \
             must match KAFKA_BROKERS) and the client certificate settings"
        }
        Cause::Tls => "check KAFKA_SECURITY_PROTOCOL against the broker listener",
    };
    Failure {
        service: "Kafka",
        cause,
        detail: without_timing(text).to_owned(),
        hint: hint.to_owned(),
    }
}

/// librdkafka ends a failure with `(after 304ms in state AUTH_REQ…)`, different at every
/// retry; without it, the same failure reads the same and is logged once.
fn without_timing(text: &str) -> &str {
    let text = text.trim();
    match text.rfind(" (after ") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// The last [`Failure`] a client reported, shared between its context and its user.
#[derive(Debug, Clone, Default)]
pub struct LastFailure(Arc<Mutex<Option<Failure>>>);

impl LastFailure {
    /// Keeps `failure`; true when it differs from the one kept (worth logging).
    pub fn record(&self, failure: Failure) -> bool {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let new = slot.as_ref() != Some(&failure);
        *slot = Some(failure);
        new
    }

    pub fn get(&self) -> Option<Failure> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// `Err(the failure)` when one was reported, so `op.or_else(|e| last.explain(e))`
    /// replaces a bare timeout with its cause.
    pub fn explain<T>(&self, err: anyhow::Error) -> anyhow::Result<T> {
        match self.get() {
            Some(failure) => Err(anyhow::Error::new(failure)),
            None => Err(err),
        }
    }
}

/// A client context that routes librdkafka's logs into `tracing` and keeps the last login or
/// TLS failure (logged once per change at error level) for the tools to report.
#[derive(Debug, Clone, Default)]
pub struct ReportingContext {
    pub last: LastFailure,
}

impl ReportingContext {
    fn report(&self, failure: Failure) {
        if self.last.record(failure.clone()) {
            tracing::error!("{failure}");
        }
    }
}

impl ClientContext for ReportingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match refusal_in_log(level, message) {
            Some(failure) => self.report(failure),
            None => log(level, fac, message),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match refusal(&error, reason) {
            Some(failure) => self.report(failure),
            None => tracing::warn!(%error, reason, "kafka client error"),
        }
    }
}

impl ConsumerContext for ReportingContext {}

/// librdkafka's own log lines, at their level, under target `librdkafka`.
pub fn log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", fac, "{message}"),
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", fac, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_errors_become_one_line_with_cause_and_hint() {
        let auth = KafkaError::Global(RDKafkaErrorCode::Authentication);
        let line = refusal(
            &auth,
            "sasl_ssl://localhost:19093/bootstrap: SASL authentication error: Authentication \
             failed during authentication due to invalid credentials with SASL mechanism \
             SCRAM-SHA-512",
        )
        .expect("a refusal")
        .to_string();
        assert!(line.starts_with("Kafka: authentication failed: "), "{line}");
        assert!(line.contains("KAFKA_SASL_PASSWORD"), "{line}");

        let ssl = KafkaError::Global(RDKafkaErrorCode::SSL);
        let line = refusal(
            &ssl,
            "ssl://localhost:19093/bootstrap: SSL handshake failed: error:0A000086:SSL \
             routines::certificate verify failed: broker certificate could not be verified",
        )
        .expect("a refusal");
        assert_eq!(line.cause, Cause::Certificate);

        let down = KafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        assert!(refusal(&down, "1/1 brokers are down").is_none());
        // A consumer's error event: a bare code.
        let consume = KafkaError::MessageConsumption(RDKafkaErrorCode::Authentication);
        assert_eq!(
            refusal(&consume, "consume").map(|f| f.cause),
            Some(Cause::Authentication)
        );
    }

    #[test]
    fn log_lines_are_diagnosed_without_their_changing_timing() {
        let line = "sasl_ssl://localhost:19093/bootstrap: SASL authentication error: \
                    Authentication failed (after 296ms in state AUTH_REQ)";
        let failure = refusal_in_log(RDKafkaLogLevel::Error, line).expect("a refusal");
        assert!(
            failure.detail.ends_with("Authentication failed"),
            "{failure}"
        );
        assert!(refusal_in_log(RDKafkaLogLevel::Info, line).is_none());
        assert!(refusal_in_log(RDKafkaLogLevel::Error, "Disconnected").is_none());
    }

    #[test]
    fn the_last_failure_explains_a_timeout() {
        let last = LastFailure::default();
        let timeout = || anyhow::anyhow!("timed out");
        let err = last.explain::<()>(timeout()).expect_err("error");
        assert_eq!(err.to_string(), "timed out");
        let failure = Failure {
            service: "Kafka",
            cause: Cause::Authentication,
            detail: "bad".into(),
            hint: String::new(),
        };
        assert!(last.record(failure.clone()));
        assert!(!last.record(failure));
        let err = last.explain::<()>(timeout()).expect_err("error");
        assert_eq!(err.to_string(), "Kafka: authentication failed: bad");
    }
}
