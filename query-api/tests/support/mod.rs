//! Starts query-api in-process on port 0 against the real local PostgreSQL (a fresh database per
//! test) and Redis (a random key prefix per test), both removed when the app drops (also when the
//! test panics), and offers the few helpers the tests share.
//! [`spawn_app`] runs with access control on (an API key with both scopes, which the app's
//! client sends with every request); [`config`] is auth off, for tests about other things.
#![allow(dead_code)] // each test binary uses a different subset

pub mod http;
pub mod jwt;
pub mod keys;

use order_cache::OrderCache;
use order_cache::RedisArgs;
use order_model::{decode, ValidOrder, SAMPLE_JSON};
use order_store::PostgresArgs;
use order_store::{Db, OrderRepository};
use pipeline_runtime::config::TelemetryArgs;
use pipeline_runtime::shutdown::{Shutdown, ShutdownTrigger};
use pipeline_testing::db::{read_only_args, TestDb};
use pipeline_testing::prefix::TestPrefix;
use query_api::config::{AuthArgs, Config, ReadArgs};
use query_api::Application;
use std::time::Duration;
use tokio::task::JoinHandle;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A running app and what it runs against.
pub struct TestApp {
    pub address: String,
    /// The admin listener (`/metrics`, `/healthz`, `/readyz`).
    pub admin: String,
    /// The credential `client` sends, when auth is on.
    pub token: Option<String>,
    /// A client that sends no credential.
    pub anonymous: reqwest::Client,
    /// The database this app owns (dropped with it); take it to keep it past [`TestApp::stop`].
    pub db: Option<TestDb>,
    pub postgres: PostgresArgs,
    pub redis: RedisArgs,
    /// The key prefix this app owns (its keys are removed with it).
    pub prefix: Option<TestPrefix>,
    pub client: reqwest::Client,
    trigger: ShutdownTrigger,
    handle: JoinHandle<anyhow::Result<()>>,
    _keys: Option<tempfile::TempDir>,
}

/// Logs to the terminal when `TEST_LOG` is set (quiet by default).
fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = pipeline_runtime::telemetry::init(&TelemetryArgs::default(), "test");
    }
}

pub fn config(postgres: PostgresArgs, redis: RedisArgs, read: ReadArgs) -> Config {
    Config {
        http_addr: "127.0.0.1:0".parse().expect("literal address"),
        admin_addr: "127.0.0.1:0".parse().expect("literal address"),
        auth: AuthArgs::off(),
        read,
        postgres,
        redis,
        telemetry: TelemetryArgs::default(),
    }
}

/// A fresh database and Redis prefix, default read settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(ReadArgs::default()).await
}

/// Auth on (`api-key`), one key with both scopes, sent by `client`.
pub async fn spawn_app_with(read: ReadArgs) -> TestApp {
    let keys = keys::KeysFile::new(&[("test-client", keys::FULL_SCOPES)]);
    let auth = keys.auth_args();
    let token = keys.key("test-client");
    let mut app = spawn_app_with_auth(read, auth, Some(token)).await;
    app._keys = Some(keys.into_dir());
    app
}

/// A fresh database and Redis prefix, these auth settings; `client` sends `token` when given.
pub async fn spawn_app_with_auth(read: ReadArgs, auth: AuthArgs, token: Option<String>) -> TestApp {
    let db = TestDb::create().await;
    let prefix = TestPrefix::new();
    // query-api connects with only the read-only role's grants (orders_reader), as deployed; the
    // test stores orders through `db`, the owner's pool.
    let mut config = config(read_only_args(db.name()), prefix.args(), read);
    config.auth = auth;
    let mut app = start_as(config, token).await;
    app.db = Some(db);
    app.prefix = Some(prefix);
    app
}

/// A second instance sharing `other`'s database and Redis prefix (auth off).
pub async fn spawn_sibling(other: &TestApp) -> TestApp {
    start(config(
        other.postgres.clone(),
        other.redis.clone(),
        ReadArgs::default(),
    ))
    .await
}

/// Starts an app with exactly this configuration (the caller owns any database).
pub async fn start(config: Config) -> TestApp {
    start_as(config, None).await
}

/// [`start`], with a client that sends `token` as its bearer credential.
pub async fn start_as(config: Config, token: Option<String>) -> TestApp {
    init_logging();
    let postgres = config.postgres.clone();
    let redis = config.redis.clone();
    let app = Application::build(config).await.expect("build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let admin = format!("http://127.0.0.1:{}", app.admin_port());
    let (trigger, shutdown) = Shutdown::new();
    let handle = tokio::spawn(app.run_until_stopped(shutdown));
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &token {
        let value = format!("Bearer {token}").parse().expect("header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let client = http_client(headers);
    TestApp {
        address,
        admin,
        token,
        anonymous: http_client(Default::default()),
        _keys: None,
        db: None,
        postgres,
        redis,
        prefix: None,
        client,
        trigger,
        handle,
    }
}

fn http_client(headers: reqwest::header::HeaderMap) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("http client")
}

impl TestApp {
    /// GET with the app's credential (if any).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path).await
    }

    /// The owner's pool of the database this app owns.
    pub fn owned_db(&self) -> &Db {
        self.db.as_deref().expect("this app owns a database")
    }

    /// Stores orders straight into the database, as ingest would.
    pub async fn store(&self, orders: &[ValidOrder]) {
        OrderRepository::new(self.owned_db().clone())
            .store_batch(orders)
            .await
            .expect("store orders");
    }

    /// Stores the contract's sample order, as ingest would, and returns it.
    pub async fn store_sample(&self) -> ValidOrder {
        let sample = sample_order();
        self.store(std::slice::from_ref(&sample)).await;
        sample
    }

    /// GET with `authorization` as the whole `Authorization` header (`None`: no header).
    pub async fn get_with(&self, path: &str, authorization: Option<&str>) -> reqwest::Response {
        self.send_with(reqwest::Method::GET, path, authorization)
            .await
    }

    /// `method` on `path` with `authorization` as the whole `Authorization` header (`None`: no
    /// header).
    pub async fn send_with(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let what = format!("{method} {path}");
        let mut request = self
            .anonymous
            .request(method, format!("{}{path}", self.address));
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"))
    }

    /// GET on the admin listener.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.anonymous
            .get(format!("{}{path}", self.admin))
            .send()
            .await
            .expect("GET admin")
    }

    /// The admin listener's `/metrics` text.
    pub async fn metrics_text(&self) -> String {
        self.admin_get("/metrics")
            .await
            .text()
            .await
            .expect("metrics text")
    }

    /// The value of a metric on the admin listener, summed over its label sets (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        metric_value(&self.metrics_text().await, name)
    }

    /// What Redis holds for `uid`, waiting (up to 30 s, a busy machine) for the background fill;
    /// `None` if it never came.
    pub async fn redis_entry(&self, uid: &str) -> Option<String> {
        let cache = OrderCache::new(&self.redis).expect("redis settings");
        let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(json)) = cache.get(uid).await {
                return Some(json);
            }
            if tokio::time::Instant::now() >= give_up {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    /// Stops the app (graceful); its database and keys go when it drops, here. An unclean stop
    /// is an error, so a test ends with `app.stop().await` (and `?` stops mid-test).
    pub async fn stop(self) -> TestResult {
        self.trigger.fire();
        let stopped = tokio::time::timeout(Duration::from_secs(15), self.handle).await;
        if matches!(stopped, Ok(Ok(Ok(())))) {
            Ok(())
        } else {
            Err(format!("app did not stop cleanly: {stopped:?}").into())
        }
    }
}

pub use pipeline_testing::metrics::metric_value;

/// The contract's sample order.
pub fn sample_order() -> ValidOrder {
    decode(SAMPLE_JSON.as_bytes()).expect("the sample order is valid")
}

/// The sample order under another uid and date (RFC 3339).
pub fn order(uid: &str, date_created: &str) -> ValidOrder {
    let mut value: serde_json::Value = serde_json::from_str(SAMPLE_JSON).expect("sample JSON");
    value["order_uid"] = uid.into();
    value["payment"]["transaction"] = uid.into();
    value["date_created"] = date_created.into();
    let bytes = serde_json::to_vec(&value).expect("serialize");
    decode(&bytes).expect("a variant of the sample order is valid")
}
