//! One error type for the storage layer, classified by what the caller must *do* about it.
//!
//! The ingest loop reacts differently to each class (contract §2): an outage pauses consumption
//! and flips readiness, a transient record-level failure goes through the retry topic, a
//! rejection is the record's own fault. Classifying once, here, from SQLSTATE codes and the
//! driver's error kinds keeps that policy out of every call site.

use deadpool_postgres::PoolError;
use pipeline_runtime::failure::{tls_cause, Cause, Failure};
use std::error::Error as _;
use tokio_postgres::error::SqlState;

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// PostgreSQL cannot be reached or used at all (refused, timed out, connection lost,
    /// shutting down, too many connections, bad credentials). A dependency outage: pause and
    /// retry with backoff; report not-ready; answer reads with 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The statement failed for a reason that may not recur (serialization failure, deadlock,
    /// statement timeout, lock not available). Retry the record later.
    #[error("transient database error: {0}")]
    Transient(String),
    /// The rows themselves were refused (data exception or constraint violation, SQLSTATE
    /// classes 22 and 23). Retrying the same data cannot succeed.
    #[error("rejected by the database: {0}")]
    Rejected(String),
    /// The database schema is older than this build needs.
    #[error(
        "database schema is at version {current} but this build needs version {required}: \
         run `ingest migrate up`"
    )]
    SchemaBehind { current: i64, required: i64 },
    /// PostgreSQL refused us for a reason only the operator can fix: wrong credentials, an
    /// untrusted certificate, a host-name mismatch, TLS required or missing (contract §9). The
    /// text is one line naming the service and the cause. Handled like an outage (pause, not
    /// ready) until fixed, and reported at error level.
    #[error("{0}")]
    Refused(String),
    /// Anything else: a bug, a misconfiguration, or an unexpected server answer.
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// A dependency outage: nothing about the current record is wrong.
    pub fn is_outage(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Refused(_))
    }

    /// A failure an operator must fix (credentials, certificates, TLS), see [`StoreError::Refused`].
    pub fn is_refused(&self) -> bool {
        matches!(self, StoreError::Refused(_))
    }

    /// A record-level failure worth retrying later.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

/// Messages of driver errors without SQLSTATE that mean "could not talk to the server".
const CONNECTIVITY_KINDS: &[&str] = &[
    "error connecting to server",
    "timeout waiting for server",
    "authentication error",
    "error performing TLS handshake",
    "error communicating with the server",
];

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        if let Some(failure) = refusal(&err) {
            return StoreError::Refused(failure.to_string());
        }
        if let Some(db) = err.as_db_error() {
            return classify_sqlstate(db.code(), server_text(db));
        }
        let text = describe(&err);
        let io_cause = err
            .source()
            .is_some_and(|cause| cause.is::<std::io::Error>());
        if err.is_closed() || io_cause || CONNECTIVITY_KINDS.contains(&err.to_string().as_str()) {
            StoreError::Unavailable(text)
        } else {
            StoreError::Other(text)
        }
    }
}

impl From<PoolError> for StoreError {
    fn from(err: PoolError) -> Self {
        match err {
            PoolError::Backend(inner) => inner.into(),
            PoolError::Timeout(kind) => StoreError::Unavailable(format!(
                "no database connection within the timeout ({kind:?})"
            )),
            PoolError::Closed => StoreError::Unavailable("connection pool is closed".into()),
            PoolError::PostCreateHook(hook) => StoreError::Unavailable(hook.to_string()),
            PoolError::NoRuntimeSpecified => StoreError::Other(err.to_string()),
        }
    }
}

/// The one-line diagnosis of a login or TLS failure, naming the setting to check.
fn refusal(err: &tokio_postgres::Error) -> Option<Failure> {
    let failure = |cause, detail: String, hint: &str| {
        Some(Failure {
            service: "PostgreSQL",
            cause,
            detail,
            hint: hint.to_owned(),
        })
    };
    if let Some(db) = err.as_db_error() {
        let message = db.message().to_owned();
        return match db.code().code() {
            // invalid_password, and invalid_authorization_specification (no pg_hba.conf entry,
            // certificate login refused).
            "28P01" => failure(
                Cause::Authentication,
                message,
                "check the user and password of DATABASE_URL",
            ),
            "28000" if message.contains("no encryption") => failure(
                Cause::Authentication,
                message,
                "the server accepts only TLS: set sslmode=verify-full in DATABASE_URL",
            ),
            "28000" => failure(
                Cause::Authentication,
                message,
                "check the user, the client certificate (sslcert, sslkey) and the server's \
                 pg_hba.conf",
            ),
            _ => None,
        };
    }
    if let Some((cause, detail)) = tls_cause(err) {
        let hint = match cause {
            Cause::HostName => {
                "connect with a host name the server certificate lists, or use sslmode=verify-ca"
            }
            _ => {
                "check sslrootcert (the CA of the server certificate), sslcert and sslkey in \
                  DATABASE_URL"
            }
        };
        return failure(cause, detail, hint);
    }
    // tokio-postgres' words when `require`/`verify-*` meets a server without TLS.
    let text = describe(err);
    if text.contains("server does not support TLS") {
        return failure(
            Cause::Tls,
            "the server does not support TLS".into(),
            "sslmode in DATABASE_URL requires it; nothing falls back to plaintext",
        );
    }
    None
}

/// The text of a server-reported error. For data exceptions and integrity violations (SQLSTATE
/// classes 22 and 23) the rows are the customer's: PostgreSQL's DETAIL ("Failing row contains
/// (…)", "Key (email)=(…)") and the values some class-22 messages quote are left out, and the
/// objects are named instead (table, column, constraint). This text reaches warn logs and the
/// DLQ's `x-error-message`.
fn server_text(db: &tokio_postgres::error::DbError) -> String {
    let code = db.code().code();
    if !matches!(code.get(..2), Some("22" | "23")) {
        return match db.detail() {
            Some(detail) => format!("{} ({code}): {detail}", db.message()),
            None => format!("{} ({code})", db.message()),
        };
    }
    let message = if code.starts_with("22") {
        without_values(db.message())
    } else {
        db.message().to_owned()
    };
    let objects: Vec<String> = [
        ("table", db.table()),
        ("column", db.column()),
        ("constraint", db.constraint()),
    ]
    .into_iter()
    .filter_map(|(what, name)| name.map(|name| format!("{what} {name}")))
    .collect();
    if objects.is_empty() {
        format!("{message} ({code})")
    } else {
        format!("{message} ({code}; {})", objects.join(", "))
    }
}

/// A class-22 message without the values it may quote: `invalid input syntax for type bigint:
/// "…"` and `value "…" is out of range for type integer` name the input; what follows the first
/// `": "` and every double-quoted span are dropped.
fn without_values(message: &str) -> String {
    let head = message.split(": ").next().unwrap_or(message);
    let mut out = String::with_capacity(head.len());
    for (index, part) in head.split('"').enumerate() {
        out.push_str(if index % 2 == 0 { part } else { "\"…\"" });
    }
    out
}

/// Maps a server-reported SQLSTATE to the class the caller acts on.
fn classify_sqlstate(code: &SqlState, text: String) -> StoreError {
    let code = code.code();
    let class = code.get(..2).unwrap_or("");
    match (class, code) {
        // Connection exceptions, insufficient resources (e.g. too_many_connections),
        // operator intervention that ends the session, unknown database, bad credentials.
        ("08" | "53" | "28", _) | (_, "57P01" | "57P02" | "57P03" | "3D000") => {
            StoreError::Unavailable(text)
        }
        // Transaction rollback (serialization_failure, deadlock_detected, ...), query_canceled
        // (statement_timeout), lock_not_available.
        ("40", _) | (_, "57014" | "55P03") => StoreError::Transient(text),
        ("22" | "23", _) => StoreError::Rejected(text),
        _ => StoreError::Other(text),
    }
}

/// The driver's message with its cause, which is where the useful part usually is
/// ("error connecting to server: Connection refused (os error 111)").
fn describe(err: &tokio_postgres::Error) -> String {
    match err.source() {
        Some(cause) => format!("{err}: {cause}"),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sqlstates() {
        let class = |code: &str| classify_sqlstate(&SqlState::from_code(code), code.into());
        assert!(class("40001").is_transient());
        assert!(class("40P01").is_transient());
        assert!(class("57014").is_transient());
        assert!(class("55P03").is_transient());
        assert!(class("08006").is_outage());
        assert!(class("57P01").is_outage());
        assert!(class("53300").is_outage());
        assert!(matches!(class("23505"), StoreError::Rejected(_)));
        assert!(matches!(class("22021"), StoreError::Rejected(_)));
        assert!(matches!(class("42P01"), StoreError::Other(_)));
    }

    #[test]
    fn data_exception_messages_lose_the_values_they_quote() {
        assert_eq!(
            without_values(r#"invalid input syntax for type bigint: "+4915112345678""#),
            "invalid input syntax for type bigint"
        );
        assert_eq!(
            without_values(r#"value "99999999999" is out of range for type integer"#),
            r#"value "…" is out of range for type integer"#
        );
        assert_eq!(
            without_values("value too long for type character varying(64)"),
            "value too long for type character varying(64)"
        );
    }

    #[test]
    fn refusals_are_outages_an_operator_fixes() {
        let refused = StoreError::Refused("PostgreSQL: authentication failed: x".into());
        assert!(refused.is_outage() && refused.is_refused());
        assert_eq!(refused.to_string(), "PostgreSQL: authentication failed: x");
        assert!(!StoreError::Unavailable("down".into()).is_refused());
    }

    #[test]
    fn schema_behind_tells_the_operator_what_to_run() {
        let err = StoreError::SchemaBehind {
            current: 0,
            required: 1,
        };
        assert!(err.to_string().contains("ingest migrate up"));
    }
}
