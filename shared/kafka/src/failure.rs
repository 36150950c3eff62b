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
/// failure.
pub fn refusal(error: &KafkaError, reason: &str) -> Option<Failure> {
    let code = error.rdkafka_error_code()?;
    let failure = |cause, hint: &str| Failure {
        service: "Kafka",
        cause,
        detail: reason.trim().to_owned(),
        hint: hint.to_owned(),
    };
    let lower = reason.to_ascii_lowercase();
    match code {
        RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed => {
            Some(failure(
                Cause::Authentication,
                "check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM",
            ))
        }
        RDKafkaErrorCode::SSL | RDKafkaErrorCode::BrokerTransportFailure
            if lower.contains("ssl") || lower.contains("certificate") =>
        {
            if lower.contains("hostname mismatch") || lower.contains("host name mismatch") {
                Some(failure(
                    Cause::HostName,
                    "use broker host names the broker certificates list in KAFKA_BROKERS",
                ))
            } else if lower.contains("certificate") || lower.contains("unknown ca") {
                Some(failure(
                    Cause::Certificate,
                    "check KAFKA_SSL_CA_LOCATION (the CA of the broker certificates, whose host \
                     names must match KAFKA_BROKERS) and the client certificate settings",
                ))
            } else if code == RDKafkaErrorCode::SSL {
                Some(failure(
                    Cause::Tls,
                    "check KAFKA_SECURITY_PROTOCOL against the broker listener",
                ))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The last [`Failure`] a client reported, shared between its context and its user.
#[derive(Debug, Clone, Default)]
pub struct LastFailure(Arc<Mutex<Option<Failure>>>);

impl LastFailure {
    /// Keeps `failure`; true when it differs from the one kept (worth logging).
    pub fn record(&self, failure: Failure) -> bool {
        let mut slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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

impl ClientContext for ReportingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match refusal(&error, reason) {
            Some(failure) => {
                if self.last.record(failure.clone()) {
                    tracing::error!("{failure}");
                }
            }
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
