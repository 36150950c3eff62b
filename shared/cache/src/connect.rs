//! How a Redis client is set up (contract §9), apart from what it is used for, so a cluster client
//! takes the same trust, identity and diagnosis: `rediss://` verifies the server's certificate
//! and host name against `REDIS_TLS_CA_FILE` (or the system's CAs), presents the client
//! certificate when one is set, and logs in with the URL's ACL user and password.

use crate::config::RedisTlsArgs;
use crate::CacheError;
use pipeline_runtime::failure::{tls_cause, Cause, Failure};
use pipeline_runtime::tls::{client_identity, read_certificates, TlsFiles};
use redis::{ClientTlsConfig, RedisError, TlsCertificates};
use std::path::Path;

/// A client for `url`. `rediss://` gets the TLS settings of `tls`; a plain `redis://` URL with
/// TLS files set is refused, since the files would silently do nothing.
pub fn client(url: &str, tls: &RedisTlsArgs) -> Result<redis::Client, CacheError> {
    if !url.starts_with("rediss://") {
        if tls.ca_file.is_some() || tls.cert_file.is_some() || tls.key_file.is_some() {
            return Err(CacheError::Config(
                "REDIS_TLS_* files are set but the Redis URL is not rediss://".into(),
            ));
        }
        return Ok(redis::Client::open(url)?);
    }
    if url.contains("#insecure") {
        return Err(CacheError::Config(
            "rediss:// URLs with #insecure are refused: certificates are always verified".into(),
        ));
    }
    Ok(redis::Client::build_with_tls(url, tls_certificates(tls)?)?)
}

/// The CA and client certificate of `tls` as the Redis client (and its cluster client) takes
/// them. An absent CA file means the system's trust store.
pub fn tls_certificates(tls: &RedisTlsArgs) -> Result<TlsCertificates, CacheError> {
    // The Redis client builds its rustls configuration with the process's default provider.
    pipeline_runtime::tls::provider();
    let files = TlsFiles {
        ca_file: tls.ca_file.clone(),
        cert_file: tls.cert_file.clone(),
        key_file: tls.key_file.clone(),
    };
    // Parsed here first so that a bad file is reported by name, at start.
    client_identity(&files).map_err(|err| CacheError::Config(format!("Redis TLS: {err}")))?;
    let root_cert = match &tls.ca_file {
        Some(path) => {
            read_certificates(path, "CA file")
                .map_err(|err| CacheError::Config(format!("Redis TLS: {err}")))?;
            Some(read(path)?)
        }
        None => None,
    };
    let client_tls = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read(cert)?,
            client_key: read(key)?,
        }),
        _ => None,
    };
    Ok(TlsCertificates {
        client_tls,
        root_cert,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, CacheError> {
    std::fs::read(path).map_err(|err| {
        CacheError::Config(format!("Redis TLS: cannot read {}: {err}", path.display()))
    })
}

/// The one-line diagnosis of a Redis login or TLS failure, naming the setting to check.
pub fn refusal(err: &RedisError) -> Option<Failure> {
    let failure = |cause, detail: String, hint: &str| {
        Some(Failure {
            service: "Redis",
            cause,
            detail,
            hint: hint.to_owned(),
        })
    };
    let auth_code = matches!(err.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"));
    if err.kind() == redis::ErrorKind::AuthenticationFailed || auth_code {
        return failure(
            Cause::Authentication,
            err.to_string(),
            "check the ACL user and password of REDIS_URL",
        );
    }
    let (cause, detail) = tls_cause(err)?;
    let hint = match cause {
        Cause::HostName => "use a host name the server certificate lists in REDIS_URL",
        _ => {
            "check REDIS_TLS_CA_FILE (the CA of the server certificate), REDIS_TLS_CERT_FILE \
              and REDIS_TLS_KEY_FILE"
        }
    };
    failure(cause, detail, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_files_need_a_rediss_url_and_insecure_is_refused() {
        let tls = RedisTlsArgs {
            ca_file: Some("/ca.pem".into()),
            ..RedisTlsArgs::default()
        };
        let err = client("redis://127.0.0.1:6379", &tls).expect_err("plain URL");
        assert!(err.to_string().contains("rediss://"), "{err}");
        let err = client(
            "rediss://127.0.0.1:6380/#insecure",
            &RedisTlsArgs::default(),
        )
        .expect_err("insecure");
        assert!(err.to_string().contains("#insecure"), "{err}");
        let err = client("rediss://127.0.0.1:6380", &tls).expect_err("missing CA file");
        assert!(err.to_string().contains("/ca.pem"), "{err}");
    }

    #[test]
    fn authentication_failures_name_redis_and_the_setting() {
        let err = RedisError::from((
            redis::ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        let line = refusal(&err).expect("a refusal").to_string();
        assert!(line.starts_with("Redis: authentication failed"), "{line}");
        assert!(line.contains("REDIS_URL"), "{line}");
    }
}
