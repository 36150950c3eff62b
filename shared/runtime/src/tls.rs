//! TLS client settings for the Rust-side clients (PostgreSQL, Redis, OTLP), built one way: rustls
//! with the ring provider, trust from a PEM CA file or the system's store, an optional client
//! certificate, and one of three levels of verification (libpq's `verify-full`, `verify-ca`,
//! `require`). Kafka is the exception: librdkafka does its own TLS with OpenSSL.
//!
//! Errors name the file and what is wrong with it, never its content.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use rustls::{Error as RustlsError, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Chain to a trusted CA and the host name (libpq `verify-full`; Redis, OTLP).
    Full,
    /// Chain to a trusted CA only (libpq `verify-ca`).
    ChainOnly,
    /// Nothing: encryption against passive listeners only (libpq `require`, `prefer`).
    None,
}

/// Where trust and the client identity come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM CA certificates; `None`: the system's trust store.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) and its key, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// Why TLS settings cannot be used; names the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {path} holds no usable PEM {expected}")]
    Empty {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
    },
    #[error("a client certificate needs its key and a key its certificate: set both")]
    HalfIdentity,
    #[error("cannot use the TLS settings: {0}")]
    Config(#[from] RustlsError),
    #[error("no system CA certificates found; give a CA file")]
    NoSystemRoots,
}

/// The process's crypto provider (ring), installed as the default once so that libraries that
/// build their own rustls configuration (the Redis client) find it too.
pub fn provider() -> Arc<CryptoProvider> {
    if let Some(installed) = CryptoProvider::get_default() {
        return installed.clone();
    }
    // Losing a race to another thread installing the same provider is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Every certificate in a PEM file.
pub fn read_certificates(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path, what)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_owned(),
            expected: "certificate",
        });
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path, "client key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| TlsError::Empty {
        what: "client key",
        path: path.to_owned(),
        expected: "private key",
    })
}

/// The CAs of `ca_file`, or the system's when `None`.
pub fn root_store(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in read_certificates(path, "CA file")? {
                roots.add(cert)?;
            }
        }
        None => {
            // Unreadable entries of the system store are skipped, as every TLS client does.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(TlsError::NoSystemRoots);
            }
        }
    }
    Ok(roots)
}

/// The client certificate chain and key, when both are given.
pub fn client_identity(
    files: &TlsFiles,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsError> {
    match (&files.cert_file, &files.key_file) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some((
            read_certificates(cert, "client certificate")?,
            read_private_key(key)?,
        ))),
        _ => Err(TlsError::HalfIdentity),
    }
}

/// A rustls client configuration verifying the server as `verification` says.
pub fn client_config(
    files: &TlsFiles,
    verification: Verification,
) -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if verification == Verification::Full {
        builder.with_root_certificates(root_store(files.ca_file.as_deref())?)
    } else {
        let chain = match verification {
            Verification::ChainOnly => Some(chain_verifier(files, provider.clone())?),
            _ => None,
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Relaxed { chain, provider }))
    };
    Ok(match client_identity(files)? {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    })
}

/// WebPKI's verifier over the CAs of `files` (or the system's), for the relaxed levels to wrap.
fn chain_verifier(
    files: &TlsFiles,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    let roots = Arc::new(root_store(files.ca_file.as_deref())?);
    WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|err| TlsError::Config(RustlsError::General(err.to_string())))
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// The two relaxed levels in one verifier: with `chain`, the chain is checked like WebPKI and
/// any host name accepted (libpq's `verify-ca`; WebPKI checks the name only after the chain
/// verified, so a name error means the chain is good); without, any certificate is accepted
/// (libpq's `require`: encrypted, not authenticated). Either way the handshake signature is
/// checked against the certificate presented.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, RustlsError> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(RustlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

impl Relaxed {
    /// The provider's signature algorithms: the ones WebPKI would check the handshake with.
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_and_half_an_identity_is_refused() {
        let files = TlsFiles {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsFiles::default()
        };
        let err = client_config(&files, Verification::Full).expect_err("no CA file");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let files = TlsFiles {
            cert_file: Some("/nonexistent/client.pem".into()),
            ..TlsFiles::default()
        };
        let err = client_config(&files, Verification::None).expect_err("no key");
        assert!(matches!(err, TlsError::HalfIdentity), "{err}");
    }

    #[test]
    fn a_file_without_pem_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("tls-test-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate").expect("write");
        let err = root_store(Some(&path)).expect_err("no certificate");
        let _ = std::fs::remove_file(&path);
        assert!(
            err.to_string().contains("no usable PEM certificate"),
            "{err}"
        );
    }
}
