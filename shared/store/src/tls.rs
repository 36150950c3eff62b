//! libpq's TLS parameters in `DATABASE_URL` (contract §9). tokio-postgres knows `sslmode` only as
//! disable/prefer/require and rejects `verify-ca`, `verify-full`, `sslrootcert`, `sslcert` and
//! `sslkey`, so they are taken out of the URL here, and the rest goes to its parser unchanged.
//!
//! Their meaning is libpq's: `prefer` (the default) tries TLS and accepts any certificate, falling
//! back to plaintext only when the server has no TLS; `require` insists on TLS without checking
//! the certificate, unless a root CA file is given, when it acts as `verify-ca` (libpq's rule);
//! `verify-ca` checks the chain; `verify-full` the chain and the host name. With `require` and
//! `verify-*` nothing ever falls back to plaintext. `sslrootcert=system` trusts the system's CAs.
//! Where libpq would read `~/.postgresql/root.crt` (and `postgresql.crt`/`.key`), those files
//! are used when they exist; without them, `verify-*` trusts the system's CAs.

use crate::StoreError;
use percent_encoding::percent_decode_str;
use pipeline_runtime::tls::{client_config, TlsFiles, Verification};
use std::path::{Path, PathBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` values that this build honours (`allow` has no tokio-postgres equivalent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS parameters found in a connection string, and the string without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    /// `sslrootcert`: a file, or `system` (stored as `None` with `system_roots`).
    pub root_cert: Option<PathBuf>,
    pub system_roots: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// What tokio-postgres parses.
    pub rest: String,
}

const KEYS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// Splits the TLS parameters off a URL (`postgres://…?sslmode=…`) or key=value string.
pub fn split(url: &str) -> Result<Settings, StoreError> {
    let (pairs, rest) = if url.contains("://") {
        split_url(url)
    } else {
        split_key_values(url)?
    };
    let mut settings = Settings {
        mode: Mode::Prefer,
        root_cert: None,
        system_roots: false,
        cert: None,
        key: None,
        rest,
    };
    for (key, value) in pairs {
        match key.as_str() {
            "sslmode" => settings.mode = parse_mode(&value)?,
            "sslrootcert" if value == "system" => settings.system_roots = true,
            "sslrootcert" => settings.root_cert = Some(value.into()),
            "sslcert" => settings.cert = Some(value.into()),
            _ => settings.key = Some(value.into()),
        }
    }
    Ok(settings)
}

fn parse_mode(value: &str) -> Result<Mode, StoreError> {
    Ok(match value {
        "disable" => Mode::Disable,
        "prefer" => Mode::Prefer,
        "require" => Mode::Require,
        "verify-ca" => Mode::VerifyCa,
        "verify-full" => Mode::VerifyFull,
        other => {
            return Err(StoreError::Other(format!(
                "sslmode `{other}` in the database URL is not supported: use disable, prefer, \
                 require, verify-ca or verify-full"
            )))
        }
    })
}

/// `(key, decoded value)` of the TLS query parameters, and the URL without them.
fn split_url(url: &str) -> (Vec<(String, String)>, String) {
    let Some((base, query)) = url.split_once('?') else {
        return (Vec::new(), url.to_owned());
    };
    let mut found = Vec::new();
    let mut kept = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let key = decode(key);
        if KEYS.contains(&key.as_str()) {
            found.push((key, decode(value)));
        } else {
            kept.push(param);
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (found, rest)
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The same for libpq's `key = value` form: values may be single-quoted with `\` escapes.
fn split_key_values(text: &str) -> Result<(Vec<(String, String)>, String), StoreError> {
    let malformed = || StoreError::Other("malformed key=value database connection string".into());
    let mut found = Vec::new();
    let mut kept = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        chars.next_if(|(_, c)| *c == '=').ok_or_else(malformed)?;
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next().ok_or_else(malformed)?.1 {
                    '\'' => break,
                    '\\' => value.push(chars.next().ok_or_else(malformed)?.1),
                    c => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next().ok_or_else(malformed)?.1);
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(text.len(), |(i, _)| *i);
        if KEYS.contains(&key.as_str()) {
            found.push((key, value));
        } else {
            kept.push(&text[start..end]);
        }
    }
    let rest = kept
        .iter()
        .map(|pair| pair.trim())
        .collect::<Vec<_>>()
        .join(" ");
    Ok((found, rest))
}

impl Settings {
    /// tokio-postgres's own `sslmode`: whether TLS is tried and whether it is required.
    pub fn driver_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// What of the server certificate is checked, with libpq's rule that `require` plus a root
    /// CA file means `verify-ca`.
    pub fn verification(&self) -> Verification {
        match self.mode {
            Mode::VerifyFull => Verification::Full,
            Mode::VerifyCa => Verification::ChainOnly,
            Mode::Require if self.root_file().is_some() => Verification::ChainOnly,
            Mode::Disable | Mode::Prefer | Mode::Require => Verification::None,
        }
    }

    /// The root CA file in force: `sslrootcert`, else libpq's default file when it exists.
    fn root_file(&self) -> Option<PathBuf> {
        if self.system_roots {
            return None;
        }
        self.root_cert
            .clone()
            .or_else(|| default_file("root.crt").filter(|path| path.is_file()))
    }

    fn files(&self) -> TlsFiles {
        let (cert, key) = match (&self.cert, &self.key) {
            (None, None) => {
                let cert = default_file("postgresql.crt").filter(|p| p.is_file());
                let key = default_file("postgresql.key").filter(|p| p.is_file());
                match (cert, key) {
                    (Some(cert), Some(key)) => (Some(cert), Some(key)),
                    _ => (None, None),
                }
            }
            (cert, key) => (cert.clone(), key.clone()),
        };
        let verifies = self.verification() != Verification::None;
        TlsFiles {
            ca_file: self.root_file().filter(|_| verifies),
            cert_file: cert,
            key_file: key,
        }
    }

    /// The connector for these settings. With `disable` it is never used, so no file is read.
    pub fn connector(&self) -> Result<MakeRustlsConnect, StoreError> {
        let files = if self.mode == Mode::Disable {
            TlsFiles::default()
        } else {
            self.files()
        };
        let config = client_config(&files, self.verification()).map_err(|err| {
            StoreError::Other(format!(
                "PostgreSQL TLS settings of the database URL: {err}"
            ))
        })?;
        Ok(MakeRustlsConnect::new(config))
    }
}

/// `~/.postgresql/{name}`, where libpq looks by default.
fn default_file(name: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".postgresql").join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parameters_are_taken_out_and_the_rest_kept() {
        let settings = split(
            "postgres://user:pass@db:5432/orders?sslmode=verify-full&application_name=x\
             &sslrootcert=%2Fetc%2Fca.pem&sslcert=/c.pem&sslkey=/c.key",
        )
        .expect("valid");
        assert_eq!(settings.mode, Mode::VerifyFull);
        assert_eq!(settings.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(settings.cert, Some(PathBuf::from("/c.pem")));
        assert_eq!(settings.key, Some(PathBuf::from("/c.key")));
        assert_eq!(
            settings.rest,
            "postgres://user:pass@db:5432/orders?application_name=x"
        );
        assert_eq!(settings.verification(), Verification::Full);
        let plain = split("postgres://user:pass@db/orders").expect("valid");
        assert_eq!(plain.mode, Mode::Prefer);
        assert_eq!(plain.rest, "postgres://user:pass@db/orders");
    }

    #[test]
    fn key_value_strings_work_too() {
        let settings =
            split("host=db user=orders sslmode = 'verify-ca' password='a b\\'c'").expect("valid");
        assert_eq!(settings.mode, Mode::VerifyCa);
        assert_eq!(settings.rest, "host=db user=orders password='a b\\'c'");
        assert!(split("host=db sslmode").is_err());
    }

    #[test]
    fn modes_follow_libpq() {
        let mode = |url: &str| split(url).expect("valid");
        let checked = [
            ("postgres://db?sslmode=require", Verification::None),
            // libpq: `require` with a root CA file verifies the chain.
            (
                "postgres://db?sslmode=require&sslrootcert=/ca.pem",
                Verification::ChainOnly,
            ),
        ];
        for (url, verification) in checked {
            assert_eq!(mode(url).verification(), verification, "{url}");
        }
        let driver = [
            ("postgres://db?sslmode=verify-ca", SslMode::Require),
            ("postgres://db?sslmode=disable", SslMode::Disable),
        ];
        for (url, driver_mode) in driver {
            assert_eq!(mode(url).driver_mode(), driver_mode, "{url}");
        }
        let err = split("postgres://db?sslmode=allow").expect_err("unsupported");
        assert!(err.to_string().contains("verify-full"), "{err}");
        let system = mode("postgres://db?sslmode=verify-full&sslrootcert=system");
        assert!(system.system_roots && system.root_cert.is_none());
    }
}
