//! A fresh, fully migrated database per test, so tests that write orders run in parallel and
//! never see each other's rows.
//!
//! Running the migrations for every test would cost more than the tests themselves, so the
//! schema is built once into the template database [`TEMPLATE`] and each test gets a copy
//! (`CREATE DATABASE … TEMPLATE`, about 0.2 s here). The template is rebuilt whenever the
//! embedded migrations change; a database comment records which ones it holds. Parallel test
//! binaries coordinate through advisory locks on the admin connection: cloning takes the lock
//! shared, rebuilding takes it exclusively.

use order_store::PostgresArgs;
use order_store::{migrate, Db};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, NoTls};

/// The migrated database every test database is copied from.
pub const TEMPLATE: &str = "orders_test_template";

/// Advisory lock key guarding [`TEMPLATE`] ("orders.tmpl" in ASCII).
const LOCK_KEY: i64 = 0x6f72_6465_7273_746d;

/// The server to create test databases on: `DATABASE_URL`, or the local stack's default.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://orders:orders@localhost:5432/orders".into())
}

/// The URL of database `name` on the [`admin_url`] server (for tests that start a binary).
pub fn database_url(name: &str) -> String {
    let url = admin_url();
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url.as_str(), None),
    };
    let Some((scheme, rest)) = base.split_once("://") else {
        return format!("{url} dbname={name}"); // key=value form
    };
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// The group role ingest's login belongs to (migration 0004_roles, scripts/db-roles.sql).
pub const WRITER: &str = "orders_writer";
/// The group role query-api's login belongs to: SELECT only.
pub const READER: &str = "orders_reader";

/// The URL of database `name` on which every session acts as `role` (`SET ROLE` when it
/// connects), so it has that role's grants and nothing else. The local stack makes its user a
/// member of [`WRITER`] and [`READER`] (scripts/stack/single.sh), which lets a test run ingest or
/// a reader with least privilege without creating logins (roles are cluster-wide; the grants
/// themselves live in the test's own database, so revoking one there affects no other test).
pub fn role_url(name: &str, role: &str) -> String {
    let url = database_url(name);
    let options = format!("options=-c%20role%3D{role}");
    if !url.contains("://") {
        return format!("{url} options='-c role={role}'"); // key=value form
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{options}")
}

/// Pool settings for database `name` with only the read-only role's grants ([`READER`]).
pub fn read_only_args(name: &str) -> PostgresArgs {
    PostgresArgs {
        database_url: role_url(name, READER),
        ..postgres_args(name)
    }
}

/// Pool settings for database `name`: a small pool and generous timeouts for slow CI machines.
pub fn postgres_args(name: &str) -> PostgresArgs {
    PostgresArgs {
        database_url: database_url(name),
        pool_size: 4,
        statement_timeout_ms: 30_000,
        connect_timeout_ms: 5_000,
    }
}

/// A fresh database holding the current schema and no rows, dropped (`DROP DATABASE … WITH
/// (FORCE)`, on a connection of its own) when this guard drops, also when the test panics.
/// Derefs to its [`Db`], the owner's pool.
pub struct TestDb {
    db: Db,
    name: String,
    /// Where to drop it from (the admin database of the same server).
    admin: PostgresArgs,
}

impl TestDb {
    /// A copy of the template on the [`admin_url`] server.
    pub async fn create() -> TestDb {
        let (db, name) = fresh_db().await;
        TestDb::adopt(db, name, admin_args(admin_url()))
    }

    /// A database with no schema at all (no migration applied), e.g. to see a binary refuse it.
    pub async fn create_empty() -> TestDb {
        let name = super::unique_name("t_empty");
        create_database(&connect_admin().await, &name, "an empty test database").await;
        let db = Db::connect(&postgres_args(&name))
            .await
            .expect("pool for the test database");
        TestDb::adopt(db, name, admin_args(admin_url()))
    }

    /// Guards database `name` made elsewhere (e.g. on the secure stack): dropped through `admin`.
    pub fn adopt(db: Db, name: String, admin: PostgresArgs) -> TestDb {
        TestDb { db, name, admin }
    }

    /// The database's name, for URLs and settings of a binary under test.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl std::ops::Deref for TestDb {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("name", &self.name).finish()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db.pool().close();
        let (name, admin) = (self.name.clone(), self.admin.clone());
        crate::cleanup::run(format!("test database {name}"), move || {
            crate::cleanup::block_on(drop_database(&admin, &name))?
        });
    }
}

/// Settings for a one-connection pool on the server's admin database `url`.
pub fn admin_args(url: String) -> PostgresArgs {
    PostgresArgs {
        database_url: url,
        pool_size: 1,
        ..postgres_args("postgres")
    }
}

/// Creates a new database with a random name holding the current schema and no rows, and a
/// [`Db`] for it, unguarded: prefer [`TestDb::create`]. Whoever calls this drops the database
/// with [`drop_db`].
pub async fn fresh_db() -> (Db, String) {
    let admin = connect_admin().await;
    let name = super::unique_name("t");
    clone_template(&admin, &name).await;
    let db = Db::connect(&postgres_args(&name))
        .await
        .expect("pool for the test database");
    (db, name)
}

/// Drops a test database, disconnecting whoever is still connected (best effort: a leftover
/// randomly named database harms nothing).
pub async fn drop_db(name: &str) {
    let _ = drop_database(&admin_args(admin_url()), name).await;
}

/// `CREATE DATABASE name` (an empty one, not from the template) on `admin`'s server; panics
/// naming `what` when refused.
pub(crate) async fn create_database(admin: &Client, name: &str, what: &str) {
    admin
        .batch_execute(&format!("CREATE DATABASE {}", quote(name)))
        .await
        .unwrap_or_else(|err| panic!("create {what}: {err}"));
}

/// The one value `sql` returns (first row, first column) on a connection of `db`'s pool, e.g. a
/// count; panics naming the statement when it fails.
pub async fn query_value<T>(db: &Db, sql: &str, params: &[&(dyn ToSql + Sync)]) -> T
where
    T: for<'a> FromSql<'a>,
{
    let client = db
        .pool()
        .get()
        .await
        .unwrap_or_else(|err| panic!("a connection for {sql}: {err}"));
    let row = client
        .query_one(sql, params)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    row.get(0)
}

/// `DROP DATABASE … WITH (FORCE)` through `admin`.
async fn drop_database(admin: &PostgresArgs, name: &str) -> Result<(), String> {
    let pool = Db::connect(admin).await.map_err(|err| err.to_string())?;
    let client = pool
        .pool()
        .get()
        .await
        .map_err(|err| format!("no admin connection: {err}"))?;
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(name));
    let dropped = client.batch_execute(&sql).await;
    drop(client);
    pool.pool().close();
    dropped.map_err(|err| format!("{sql}: {err}"))
}

async fn connect_admin() -> Client {
    let (client, connection) = tokio_postgres::connect(&admin_url(), NoTls)
        .await
        .expect("connect to PostgreSQL for test databases (is `scripts/stack.sh up` running?)");
    tokio::spawn(connection);
    client
}

/// Copies the template into `name`, (re)building the template first when it is missing or stale.
async fn clone_template(admin: &Client, name: &str) {
    loop {
        lock(admin, "pg_advisory_lock_shared").await;
        if template_is_current(admin).await {
            // The default strategy (WAL_LOG on PostgreSQL 15) measured faster and steadier here
            // than FILE_COPY, whose two checkpoints per copy stall under parallel tests.
            let sql = format!("CREATE DATABASE {} TEMPLATE {TEMPLATE}", quote(name));
            let created = retry_busy(|| admin.batch_execute(&sql)).await;
            lock(admin, "pg_advisory_unlock_shared").await;
            created.expect("create the test database from the template");
            return;
        }
        lock(admin, "pg_advisory_unlock_shared").await;
        lock(admin, "pg_advisory_lock").await;
        if !template_is_current(admin).await {
            rebuild_template(admin).await;
        }
        lock(admin, "pg_advisory_unlock").await;
    }
}

async fn rebuild_template(admin: &Client) {
    let template = quote(TEMPLATE);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {template} WITH (FORCE)"))
        .await
        .expect("drop the stale test template");
    create_database(admin, TEMPLATE, "the test template").await;
    let db = Db::connect(&postgres_args(TEMPLATE))
        .await
        .expect("pool for the test template");
    migrate::up(&db).await.expect("migrate the test template");
    db.pool().close();
    drop(db);
    // A database with sessions cannot be copied; wait for the pool's backends to exit.
    for _ in 0..250 {
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                &[&TEMPLATE],
            )
            .await
            .expect("count template sessions");
        if row.get::<_, i64>(0) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Written last: a template without it (a rebuild that died midway) is rebuilt again.
    let comment = format!("COMMENT ON DATABASE {template} IS '{}'", schema_tag());
    admin
        .batch_execute(&comment)
        .await
        .expect("tag the test template");
}

async fn template_is_current(admin: &Client) -> bool {
    let row = admin
        .query_opt(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&TEMPLATE],
        )
        .await
        .expect("look up the test template");
    row.and_then(|row| row.get::<_, Option<String>>(0))
        .as_deref()
        == Some(schema_tag().as_str())
}

/// Names the embedded migrations: their newest version and a hash of their SQL, so editing a
/// migration during development also refreshes the template.
fn schema_tag() -> String {
    let mut hash = Sha256::new();
    for migration in migrate::MIGRATIONS {
        hash.update(migration.version.to_le_bytes());
        hash.update(migration.up);
    }
    let digest: String = hash
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("orders schema v{} {digest}", migrate::required_version())
}

async fn lock(admin: &Client, function: &str) {
    admin
        .execute(&format!("SELECT {function}($1)"), &[&LOCK_KEY])
        .await
        .expect("test template advisory lock");
}

/// Retries while the template is briefly in use (SQLSTATE 55006, e.g. a backend of a just
/// closed pool that has not exited yet).
async fn retry_busy<F, Fut>(mut run: F) -> Result<(), tokio_postgres::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    let mut attempt = 0;
    loop {
        match run().await {
            Err(err) if attempt < 100 && err.code().is_some_and(|c| c.code() == "55006") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}
