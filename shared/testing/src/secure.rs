//! The secure stack's settings for tests (`scripts/stack.sh up --secure`, contract §9): TLS-only
//! PostgreSQL and Redis, Kafka over SASL_SSL and mutual TLS, a throw-away CA and an unrelated one.
//! Everything comes from `secure.env` in the stack's state folder (`STACK_STATE`, else the
//! checkout's `.stack`), so tests hard-code no port, password or path. A missing file fails the
//! test with what to run: these tests are part of the suite, never skipped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The settings a binary needs to reach Kafka over SASL_SSL as user `orders`, by the names the
/// binaries read from their environment (and `secure.env` holds).
pub const KAFKA_SASL_ENV: [&str; 6] = [
    "KAFKA_BROKERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CA_LOCATION",
];

/// The parsed `secure.env`.
#[derive(Debug)]
pub struct SecureStack {
    vars: HashMap<String, String>,
    pub env_file: PathBuf,
}

/// Where `secure.env` is: `$STACK_STATE/secure/secure.env` or `<repo>/.stack/secure/secure.env`.
pub fn env_file() -> PathBuf {
    let state = std::env::var_os("STACK_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.stack"));
    state.join("secure").join("secure.env")
}

/// The secure stack's settings, read once; panics (failing the test) when the stack was never
/// brought up.
pub fn stack() -> &'static SecureStack {
    static STACK: OnceLock<SecureStack> = OnceLock::new();
    STACK.get_or_init(|| {
        let env_file = env_file();
        let text = std::fs::read_to_string(&env_file).unwrap_or_else(|err| {
            panic!(
                "cannot read {} ({err}): run `scripts/stack.sh up --secure` first",
                env_file.display()
            )
        });
        SecureStack {
            vars: parse(&text),
            env_file,
        }
    })
}

/// `KEY='value'` or `KEY=value` lines; `#` comments. The one pair of quotes is stripped.
fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            (key.trim().to_owned(), value.to_owned())
        })
        .collect()
}

impl SecureStack {
    /// A setting of `secure.env`; panics naming it when absent.
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{key} is missing from {}", self.env_file.display()))
    }

    /// `(key, value)` of each of `keys`, to pass as a binary's environment.
    pub fn env_of(&self, keys: &[&'static str]) -> Vec<(&'static str, String)> {
        keys.iter()
            .map(|key| (*key, self.var(key).to_owned()))
            .collect()
    }

    /// Every secret of the stack (passwords, and the body of each private key), for tests that
    /// prove none of them leaks into a log line, an error or a `/readyz` body.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = [
            "KAFKA_SASL_PASSWORD",
            "SECURE_PG_PASSWORD",
            "SECURE_REDIS_PASSWORD",
            "SECURE_KAFKA_LIMITED_PASSWORD",
            "SECURE_KAFKA_ADMIN_PASSWORD",
        ]
        .iter()
        .filter_map(|key| self.vars.get(*key).cloned())
        .collect();
        for key in ["SECURE_CLIENT_KEY", "SECURE_OTHER_CLIENT_KEY"] {
            if let Some(pem) = self
                .vars
                .get(key)
                .and_then(|p| std::fs::read_to_string(p).ok())
            {
                // A line from the middle of the key: any part of it is enough to tell a leak.
                if let Some(line) = pem.lines().nth(3) {
                    secrets.push(line.to_owned());
                }
            }
        }
        secrets
    }

    /// Panics when `text` holds any of [`SecureStack::secrets`].
    pub fn assert_no_secret(&self, what: &str, text: &str) {
        for secret in self.secrets() {
            assert!(
                !text.contains(&secret),
                "{what} leaks a secret of the secure stack:\n{text}"
            );
        }
    }

    /// `DATABASE_URL` with `database` instead of `orders` (verify-full, the stack's CA).
    pub fn database_url(&self, database: &str) -> String {
        self.var("DATABASE_URL")
            .replacen("/orders?", &format!("/{database}?"), 1)
    }
}

#[cfg(feature = "store")]
mod store {
    use super::SecureStack;
    use crate::db::TestDb;
    use order_store::{migrate, Db, PostgresArgs};

    impl SecureStack {
        /// Pool settings for `url` with the timeouts tests use.
        pub fn postgres_args(&self, url: String) -> PostgresArgs {
            PostgresArgs {
                database_url: url,
                pool_size: 4,
                statement_timeout_ms: 30_000,
                connect_timeout_ms: 5_000,
            }
        }

        /// A new, migrated database on the secure server (over verify-full TLS), dropped when
        /// the guard drops.
        pub async fn fresh_db(&self) -> TestDb {
            let admin_args = self.postgres_args(self.database_url("orders"));
            let admin = Db::connect(&admin_args)
                .await
                .expect("pool on the secure PostgreSQL");
            let name = crate::unique_name("tls");
            let client = admin
                .pool()
                .get()
                .await
                .expect("connect to the secure PostgreSQL");
            crate::db::create_database(&client, &name, "a test database").await;
            drop(client);
            admin.pool().close();
            let db = Db::connect(&self.postgres_args(self.database_url(&name)))
                .await
                .expect("pool on the test database");
            let db = TestDb::adopt(db, name, admin_args);
            migrate::up(&db).await.expect("migrate the test database");
            db
        }

        /// Pool settings for `database` on which every session acts as query-api's read-only
        /// group role (`orders_reader`, `SET ROLE` at connect, as [`crate::db::role_url`] does on
        /// the plain stack): `secure.sh` makes the stack's `orders` user a member of it.
        pub fn read_only_args(&self, database: &str) -> PostgresArgs {
            let url = format!(
                "{}&options=-c%20role%3D{}",
                self.database_url(database),
                crate::db::READER
            );
            self.postgres_args(url)
        }
    }
}

#[cfg(feature = "cache")]
mod cache {
    use super::SecureStack;
    use crate::prefix::TestPrefix;
    use order_cache::{RedisArgs, RedisTlsArgs};

    impl SecureStack {
        /// `rediss://` with the ACL user, the stack's CA and a fresh key prefix (unguarded:
        /// [`SecureStack::test_prefix`] removes its keys afterwards).
        pub fn redis_args(&self) -> RedisArgs {
            RedisArgs {
                redis_url: self.var("REDIS_URL").to_owned(),
                tls: RedisTlsArgs {
                    ca_file: Some(self.var("REDIS_TLS_CA_FILE").into()),
                    ..RedisTlsArgs::default()
                },
                // A TLS handshake on a busy CI machine can take longer than a plain connect.
                timeout_ms: 2_000,
                ..crate::redis_args()
            }
        }

        /// [`SecureStack::redis_args`] whose keys are removed when the guard drops.
        pub fn test_prefix(&self) -> TestPrefix {
            TestPrefix::guard(self.redis_args())
        }
    }
}

#[cfg(feature = "kafka")]
mod kafka {
    use super::SecureStack;
    use pipeline_kafka::{KafkaArgs, KafkaSecurityArgs, SaslMechanism, SecurityProtocol};

    impl SecureStack {
        /// Mutual TLS on the mTLS listener, presenting `{client}_CERT` and `{client}_KEY` of
        /// `secure.env` (e.g. `SECURE_CLIENT`, or `SECURE_OTHER_CLIENT` from an unrelated CA).
        pub fn kafka_mtls_args(&self, client: &str) -> KafkaArgs {
            KafkaArgs {
                brokers: self.var("SECURE_KAFKA_MTLS_BROKERS").to_owned(),
                security: KafkaSecurityArgs {
                    protocol: SecurityProtocol::Ssl,
                    ssl_ca_location: Some(self.var("SECURE_CA_FILE").into()),
                    ssl_certificate_location: Some(self.var(&format!("{client}_CERT")).into()),
                    ssl_key_location: Some(self.var(&format!("{client}_KEY")).into()),
                    ..KafkaSecurityArgs::default()
                },
                ..self.kafka_args()
            }
        }

        /// SASL_SSL as user `orders` with the stack's CA and default topic names.
        pub fn kafka_args(&self) -> KafkaArgs {
            KafkaArgs {
                brokers: self.var("KAFKA_BROKERS").to_owned(),
                security: KafkaSecurityArgs {
                    protocol: SecurityProtocol::SaslSsl,
                    sasl_mechanism: Some(SaslMechanism::ScramSha512),
                    sasl_username: Some(self.var("KAFKA_SASL_USERNAME").to_owned()),
                    sasl_password: Some(self.var("KAFKA_SASL_PASSWORD").to_owned()),
                    ssl_ca_location: Some(self.var("KAFKA_SSL_CA_LOCATION").into()),
                    ..KafkaSecurityArgs::default()
                },
                ..crate::kafka::local()
            }
        }

        /// The same with `topics` as the topic names.
        pub fn kafka_args_for(&self, topics: &crate::kafka::TestTopics) -> KafkaArgs {
            KafkaArgs {
                orders_topic: topics.orders.clone(),
                retry_topic: topics.retry.clone(),
                dlq_topic: topics.dlq.clone(),
                ..self.kafka_args()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_quoted_and_plain_values() {
        let vars = super::parse("# c\nA='x=y'\nB=plain\n\nC=''\n");
        assert_eq!(vars["A"], "x=y");
        assert_eq!(vars["B"], "plain");
        assert_eq!(vars["C"], "");
    }
}
