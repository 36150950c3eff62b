//! Schema migrations embedded in the binary, so `ingest migrate up` needs no files at run time
//! and a running service can tell that its database is older than the code
//! ([`ensure_current`]).
//!
//! Applied versions are recorded in `schema_migrations`. Each migration runs in its own
//! transaction holding a transaction-scoped advisory lock, so several instances migrating at once
//! (e.g. every replica running `migrate up` on deploy) apply each step exactly once.

use super::{Db, StoreError};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

/// One schema step: its version (the file's numeric prefix), name and SQL both ways.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

/// A [`Migration`] from its version, name and the stem of its pair of files in `migrations/`.
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            up: include_str!(concat!("../../../migrations/", $file, ".up.sql")),
            down: include_str!(concat!("../../../migrations/", $file, ".down.sql")),
        }
    };
}

/// Every migration, ascending by version. Add new files to `migrations/` and a line here.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "orders", "0001_orders"),
    migration!(2, "dlq_replays", "0002_dlq_replays"),
    migration!(3, "order_documents", "0003_order_documents"),
    migration!(4, "roles", "0004_roles"),
];

/// Key of the advisory lock that serializes migrators ("orders.migrate" in ASCII, truncated).
const LOCK_KEY: i64 = 0x6f72_6465_7273_6d69;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    bigint PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// A migration known to this build and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    pub version: i64,
    pub name: String,
    /// When it was applied; `None` when pending (or, from [`down`], just reverted).
    pub applied_at: Option<DateTime<Utc>>,
}

/// The version this build needs: the newest embedded migration.
pub fn required_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Applies every pending migration, oldest first, and returns the ones applied now.
#[tracing::instrument(skip_all, err)]
pub async fn up(db: &Db) -> Result<Vec<MigrationStatus>, StoreError> {
    let mut client = db.pool().get().await?;
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let tx = locked_transaction(&mut client).await?;
        // Re-checked under the lock: another migrator may have applied it meanwhile.
        let present = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[&migration.version],
            )
            .await?
            .is_some();
        if present {
            continue;
        }
        tx.batch_execute(migration.up)
            .await
            .map_err(|err| failed(migration, "up", err))?;
        let row = tx
            .query_one(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2) RETURNING applied_at",
                &[&migration.version, &migration.name],
            )
            .await?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        applied.push(MigrationStatus {
            version: migration.version,
            name: migration.name.to_owned(),
            applied_at: Some(row.try_get(0)?),
        });
    }
    Ok(applied)
}

/// Reverts the newest `steps` applied migrations, newest first, and returns them.
#[tracing::instrument(skip_all, fields(steps = steps), err)]
pub async fn down(db: &Db, steps: usize) -> Result<Vec<MigrationStatus>, StoreError> {
    let mut client = db.pool().get().await?;
    let mut reverted = Vec::new();
    for _ in 0..steps {
        let tx = locked_transaction(&mut client).await?;
        let newest = tx
            .query_opt(
                "SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1",
                &[],
            )
            .await?;
        let Some(row) = newest else { break };
        let version: i64 = row.try_get(0)?;
        let migration = MIGRATIONS
            .iter()
            .find(|m| m.version == version)
            .ok_or_else(|| {
                StoreError::Other(format!(
                "schema version {version} was applied by a newer build; revert it with that build"
            ))
            })?;
        tx.batch_execute(migration.down)
            .await
            .map_err(|err| failed(migration, "down", err))?;
        tx.execute(
            "DELETE FROM schema_migrations WHERE version = $1",
            &[&version],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, name = migration.name, "migration reverted");
        reverted.push(MigrationStatus {
            version,
            name: migration.name.to_owned(),
            applied_at: None,
        });
    }
    Ok(reverted)
}

/// Every embedded migration with the time it was applied, if it was.
#[tracing::instrument(skip_all, err)]
pub async fn status(db: &Db) -> Result<Vec<MigrationStatus>, StoreError> {
    let client = db.pool().get().await?;
    let applied = applied_versions(&client).await?;
    Ok(MIGRATIONS
        .iter()
        .map(|m| MigrationStatus {
            version: m.version,
            name: m.name.to_owned(),
            applied_at: applied
                .iter()
                .find(|(v, _)| *v == m.version)
                .map(|(_, at)| *at),
        })
        .collect())
}

/// Fails with [`StoreError::SchemaBehind`] when the database lacks a migration this build needs.
/// A *newer* schema is accepted: migrations are written to stay compatible with the previous
/// release, so a rollback of the code does not need a rollback of the data.
#[tracing::instrument(skip_all, err)]
pub async fn ensure_current(db: &Db) -> Result<(), StoreError> {
    let client = db.pool().get().await?;
    let applied = applied_versions(&client).await?;
    let current = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
    let required = required_version();
    let missing = MIGRATIONS
        .iter()
        .any(|m| !applied.iter().any(|(v, _)| *v == m.version));
    if missing {
        return Err(StoreError::SchemaBehind { current, required });
    }
    Ok(())
}

/// Applied `(version, applied_at)` pairs; none when `schema_migrations` does not exist yet.
async fn applied_versions(
    client: &tokio_postgres::Client,
) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
    let exists = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .try_get::<_, bool>(0)?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT version, applied_at FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// Opens a transaction that holds the migration lock until it ends, with the bookkeeping table
/// in place (creating it under the lock avoids racing `CREATE TABLE IF NOT EXISTS`).
async fn locked_transaction(
    client: &mut deadpool_postgres::Client,
) -> Result<Transaction<'_>, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(CREATE_TABLE).await?;
    Ok(tx)
}

/// Names the migration in the error while keeping its classification.
fn failed(migration: &Migration, direction: &str, err: tokio_postgres::Error) -> StoreError {
    let prefix = format!(
        "migration {} ({}) {direction}",
        migration.version, migration.name
    );
    match StoreError::from(err) {
        StoreError::Unavailable(m) => StoreError::Unavailable(format!("{prefix}: {m}")),
        StoreError::Transient(m) => StoreError::Transient(format!("{prefix}: {m}")),
        StoreError::Rejected(m) | StoreError::Other(m) => {
            StoreError::Other(format!("{prefix}: {m}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_ascend_and_have_both_directions() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(MIGRATIONS
            .iter()
            .all(|m| !m.up.trim().is_empty() && !m.down.trim().is_empty()));
        assert_eq!(
            required_version(),
            MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
        );
    }
}
