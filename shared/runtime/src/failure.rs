//! Connection failures an operator can act on (contract §9): a wrong password, an untrusted
//! certificate or a host-name mismatch becomes one line naming the service, the cause and where
//! to look, e.g. `PostgreSQL: host name mismatch: … (connect with a host name the server
//! certificate lists …)`. Each client crate decides what is a failure of its service and which
//! setting to point at; the wording and the TLS part of the diagnosis live here, once.

use std::error::Error;
use std::fmt;

/// What went wrong, in the terms an operator fixes it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The server refused the credentials (password, user, client certificate login).
    Authentication,
    /// A certificate was not accepted: the server's by us (unknown CA, expired) or ours by it.
    Certificate,
    /// The server's certificate is valid but not for the host name we connected to.
    HostName,
    /// TLS could not be set up for another reason (no TLS on the server, protocol mismatch).
    Tls,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Authentication => "authentication failed",
            Cause::Certificate => "certificate rejected",
            Cause::HostName => "host name mismatch",
            Cause::Tls => "TLS failed",
        }
    }
}

/// One actionable connection failure. Its `Display` is the whole line; `detail` must come from
/// the driver's message, which never carries the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub service: &'static str,
    pub cause: Cause,
    pub detail: String,
    /// Which setting to check, e.g. `check sslrootcert in DATABASE_URL`.
    pub hint: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.service,
            self.cause.as_str(),
            self.detail
        )?;
        if !self.hint.is_empty() {
            write!(f, " ({})", self.hint)?;
        }
        Ok(())
    }
}

impl Error for Failure {}

/// The TLS cause of `err`, if a rustls error is somewhere in its chain (directly, or inside an
/// `io::Error`, which is how the async TLS streams report handshake failures).
pub fn tls_cause(err: &(dyn Error + 'static)) -> Option<(Cause, String)> {
    let mut next = Some(err);
    while let Some(current) = next {
        if let Some(found) = rustls_cause(current) {
            return Some(found);
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if let Some(found) = io.get_ref().and_then(|inner| rustls_cause(inner)) {
                return Some(found);
            }
        }
        next = current.source();
    }
    None
}

fn rustls_cause(err: &(dyn Error + 'static)) -> Option<(Cause, String)> {
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error as Tls};
    let tls = err.downcast_ref::<Tls>()?;
    let cause = match tls {
        Tls::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            Cause::HostName
        }
        Tls::InvalidCertificate(_) | Tls::NoCertificatesPresented => Cause::Certificate,
        // The server refused our certificate (or the lack of one).
        Tls::AlertReceived(
            Alert::UnknownCA
            | Alert::BadCertificate
            | Alert::CertificateRequired
            | Alert::CertificateUnknown
            | Alert::CertificateExpired
            | Alert::CertificateRevoked
            | Alert::UnsupportedCertificate
            | Alert::AccessDenied,
        ) => Cause::Certificate,
        _ => Cause::Tls,
    };
    Some((cause, tls.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{CertificateError, Error as Tls};

    #[test]
    fn finds_rustls_errors_inside_io_errors() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            Tls::InvalidCertificate(CertificateError::NotValidForName),
        );
        let (cause, _) = tls_cause(&io).expect("a TLS cause");
        assert_eq!(cause, Cause::HostName);
        let unknown = Tls::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(tls_cause(&unknown).map(|c| c.0), Some(Cause::Certificate));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(tls_cause(&plain), None);
    }

    #[test]
    fn the_line_names_service_cause_and_hint() {
        let failure = Failure {
            service: "Redis",
            cause: Cause::Authentication,
            detail: "WRONGPASS".into(),
            hint: "check REDIS_URL".into(),
        };
        assert_eq!(
            failure.to_string(),
            "Redis: authentication failed: WRONGPASS (check REDIS_URL)"
        );
    }
}
