//! How every Kafka client authenticates and encrypts (contract §9): the security settings group
//! and [`KafkaSecurityArgs::apply`], which [`crate::client::base`] calls for every producer,
//! consumer and admin client, so no client can miss it.
//!
//! Broker certificates are always verified, host names included. `KAFKA_PROPERTIES_FILE` adds
//! any further librdkafka property after these settings (so it wins over them and over the base
//! settings); what a client's role fixes afterwards (idempotence, `acks=all`, offset handling)
//! it cannot undo.

use clap::{Args, ValueEnum};
use rdkafka::ClientConfig;
use std::fmt;
use std::path::{Path, PathBuf};

/// `KAFKA_SECURITY_PROTOCOL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SecurityProtocol {
    #[default]
    #[value(name = "plaintext")]
    Plaintext,
    #[value(name = "ssl")]
    Ssl,
    #[value(name = "sasl_plaintext")]
    SaslPlaintext,
    #[value(name = "sasl_ssl")]
    SaslSsl,
}

impl SecurityProtocol {
    fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// `KAFKA_SASL_MECHANISM`. GSSAPI (Kerberos) and OAUTHBEARER are not built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaslMechanism {
    #[value(name = "PLAIN")]
    Plain,
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    #[value(name = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// Authentication and encryption of every Kafka client.
#[derive(Clone, Default, Args)]
pub struct KafkaSecurityArgs {
    /// plaintext, ssl, sasl_plaintext or sasl_ssl.
    #[arg(
        long = "kafka-security-protocol",
        env = "KAFKA_SECURITY_PROTOCOL",
        value_enum,
        ignore_case = true,
        default_value = "plaintext"
    )]
    pub protocol: SecurityProtocol,
    /// SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (required with sasl_*).
    #[arg(
        long = "kafka-sasl-mechanism",
        env = "KAFKA_SASL_MECHANISM",
        value_enum,
        ignore_case = true
    )]
    pub sasl_mechanism: Option<SaslMechanism>,
    /// SASL user name.
    #[arg(long = "kafka-sasl-username", env = "KAFKA_SASL_USERNAME")]
    pub sasl_username: Option<String>,
    /// SASL password (prefer the variable, or KAFKA_SASL_PASSWORD_FILE, to a flag).
    #[arg(
        long = "kafka-sasl-password",
        env = "KAFKA_SASL_PASSWORD",
        hide_env_values = true
    )]
    pub sasl_password: Option<String>,
    /// PEM file of CA certificates for the brokers (default: the system's).
    #[arg(long = "kafka-ssl-ca-location", env = "KAFKA_SSL_CA_LOCATION")]
    pub ssl_ca_location: Option<PathBuf>,
    /// PEM client certificate for mutual TLS.
    #[arg(
        long = "kafka-ssl-certificate-location",
        env = "KAFKA_SSL_CERTIFICATE_LOCATION"
    )]
    pub ssl_certificate_location: Option<PathBuf>,
    /// PEM key of the client certificate.
    #[arg(long = "kafka-ssl-key-location", env = "KAFKA_SSL_KEY_LOCATION")]
    pub ssl_key_location: Option<PathBuf>,
    /// Further librdkafka client properties, `name=value` a line (`#` comments), applied after
    /// the settings above.
    #[arg(long = "kafka-properties-file", env = "KAFKA_PROPERTIES_FILE")]
    pub properties_file: Option<PathBuf>,
}

/// The password may be set: never print it.
impl fmt::Debug for KafkaSecurityArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSecurityArgs")
            .field("protocol", &self.protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field("sasl_password", &self.sasl_password.as_ref().map(|_| "***"))
            .field("ssl_ca_location", &self.ssl_ca_location)
            .field("ssl_certificate_location", &self.ssl_certificate_location)
            .field("ssl_key_location", &self.ssl_key_location)
            .field("properties_file", &self.properties_file)
            .finish()
    }
}

/// Settings that cannot work together, or an unreadable properties file. Names settings and
/// files, never values.
#[derive(Debug, thiserror::Error)]
pub enum KafkaConfigError {
    #[error("KAFKA_SECURITY_PROTOCOL={protocol} needs {missing}")]
    Missing {
        protocol: &'static str,
        missing: &'static str,
    },
    #[error("{setting} is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use it")]
    Unused {
        setting: &'static str,
        protocol: &'static str,
    },
    #[error("cannot read KAFKA_PROPERTIES_FILE {path}: {source}")]
    Properties {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("KAFKA_PROPERTIES_FILE {path} line {line}: expected name=value")]
    PropertiesLine { path: PathBuf, line: usize },
}

impl KafkaSecurityArgs {
    /// Sets the security properties on `config`, then those of the properties file.
    pub fn apply(&self, config: &mut ClientConfig) -> Result<(), KafkaConfigError> {
        let sasl = self.check()?;
        let protocol = self.protocol;
        config.set("security.protocol", protocol.as_str());
        if protocol.uses_tls() {
            // librdkafka's default since 2.0; set so a properties file has to say otherwise.
            config
                .set("enable.ssl.certificate.verification", "true")
                .set("ssl.endpoint.identification.algorithm", "https");
            let files = [
                ("ssl.ca.location", &self.ssl_ca_location),
                ("ssl.certificate.location", &self.ssl_certificate_location),
                ("ssl.key.location", &self.ssl_key_location),
            ];
            for (name, path) in files {
                if let Some(path) = path {
                    config.set(name, path.display().to_string());
                }
            }
        }
        if let Some((mechanism, user, password)) = sasl {
            config
                .set("sasl.mechanism", mechanism.as_str())
                .set("sasl.username", user)
                .set("sasl.password", password);
        }
        if let Some(path) = &self.properties_file {
            for (name, value) in read_properties(path)? {
                config.set(name, value);
            }
        }
        Ok(())
    }

    /// Refuses incomplete or unused settings; returns the SASL mechanism, user and password
    /// when the protocol uses SASL.
    fn check(&self) -> Result<Option<(SaslMechanism, &str, &str)>, KafkaConfigError> {
        let protocol = self.protocol;
        let name = protocol.as_str();
        let mut sasl = None;
        if protocol.uses_sasl() {
            let required = [
                (
                    self.sasl_mechanism.is_none(),
                    "KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)",
                ),
                (self.sasl_username.is_none(), "KAFKA_SASL_USERNAME"),
                (
                    self.sasl_password.is_none(),
                    "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE",
                ),
            ];
            if let Some((_, missing)) = required.iter().find(|(absent, _)| *absent) {
                return Err(KafkaConfigError::Missing {
                    protocol: name,
                    missing,
                });
            }
            if let (Some(mechanism), Some(user), Some(password)) = (
                self.sasl_mechanism,
                &self.sasl_username,
                &self.sasl_password,
            ) {
                sasl = Some((mechanism, user.as_str(), password.as_str()));
            }
        } else {
            let unused = [
                (self.sasl_mechanism.is_some(), "KAFKA_SASL_MECHANISM"),
                (self.sasl_username.is_some(), "KAFKA_SASL_USERNAME"),
                (self.sasl_password.is_some(), "KAFKA_SASL_PASSWORD"),
            ];
            if let Some((_, setting)) = unused.iter().find(|(set, _)| *set) {
                return Err(KafkaConfigError::Unused {
                    setting,
                    protocol: name,
                });
            }
        }
        if !protocol.uses_tls() {
            let unused = [
                (self.ssl_ca_location.is_some(), "KAFKA_SSL_CA_LOCATION"),
                (
                    self.ssl_certificate_location.is_some(),
                    "KAFKA_SSL_CERTIFICATE_LOCATION",
                ),
                (self.ssl_key_location.is_some(), "KAFKA_SSL_KEY_LOCATION"),
            ];
            if let Some((_, setting)) = unused.iter().find(|(set, _)| *set) {
                return Err(KafkaConfigError::Unused {
                    setting,
                    protocol: name,
                });
            }
        } else if self.ssl_certificate_location.is_some() != self.ssl_key_location.is_some() {
            return Err(KafkaConfigError::Missing {
                protocol: name,
                missing:
                    "both KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION for mutual TLS",
            });
        }
        Ok(sasl)
    }
}

/// `name=value` lines; blank lines and `#` comments skipped; spaces around both trimmed.
pub fn read_properties(path: &Path) -> Result<Vec<(String, String)>, KafkaConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| KafkaConfigError::Properties {
        path: path.to_owned(),
        source,
    })?;
    let mut properties = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                properties.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            _ => {
                return Err(KafkaConfigError::PropertiesLine {
                    path: path.to_owned(),
                    line: index + 1,
                })
            }
        }
    }
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl() -> KafkaSecurityArgs {
        KafkaSecurityArgs {
            protocol: SecurityProtocol::SaslSsl,
            sasl_mechanism: Some(SaslMechanism::ScramSha512),
            sasl_username: Some("orders".into()),
            sasl_password: Some("pw-never-shown".into()),
            ssl_ca_location: Some("/ca.pem".into()),
            ..KafkaSecurityArgs::default()
        }
    }

    #[test]
    fn sasl_ssl_sets_credentials_and_host_name_verification() {
        let mut config = ClientConfig::new();
        sasl().apply(&mut config).expect("valid");
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("ssl.ca.location"), Some("/ca.pem"));
        assert_eq!(
            config.get("ssl.endpoint.identification.algorithm"),
            Some("https")
        );
        assert!(!format!("{:?}", sasl()).contains("pw-never-shown"));
    }

    #[test]
    fn incomplete_or_unused_settings_are_refused_by_name() {
        let mut missing = sasl();
        missing.sasl_password = None;
        let err = missing
            .apply(&mut ClientConfig::new())
            .expect_err("no password");
        assert!(err.to_string().contains("KAFKA_SASL_PASSWORD"), "{err}");
        let unused = KafkaSecurityArgs {
            ssl_ca_location: Some("/ca.pem".into()),
            ..KafkaSecurityArgs::default()
        };
        let err = unused
            .apply(&mut ClientConfig::new())
            .expect_err("plaintext");
        assert!(err.to_string().contains("KAFKA_SSL_CA_LOCATION"), "{err}");
        let half = KafkaSecurityArgs {
            protocol: SecurityProtocol::Ssl,
            ssl_certificate_location: Some("/c.pem".into()),
            ..KafkaSecurityArgs::default()
        };
        assert!(half.apply(&mut ClientConfig::new()).is_err());
    }

    #[test]
    fn the_properties_file_comes_last_and_bad_lines_are_named_without_content() {
        let path = std::env::temp_dir().join(format!("kafka-props-{}", std::process::id()));
        std::fs::write(
            &path,
            "# tuning\n\nsocket.timeout.ms = 30000\nsasl.username=other\n",
        )
        .expect("write");
        let mut args = sasl();
        args.properties_file = Some(path.clone());
        let mut config = ClientConfig::new();
        args.apply(&mut config).expect("valid");
        assert_eq!(config.get("socket.timeout.ms"), Some("30000"));
        assert_eq!(config.get("sasl.username"), Some("other"));
        std::fs::write(&path, "ok=1\nsecret-without-equals\n").expect("write");
        let err = args.apply(&mut ClientConfig::new()).expect_err("bad line");
        let _ = std::fs::remove_file(&path);
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
