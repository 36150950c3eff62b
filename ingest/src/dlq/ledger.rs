//! The durable record of replayed dead letters (`dlq_replays`, migration 0002), which makes
//! `ingest dlq replay` resumable and keeps it from publishing a dead letter twice.

use super::publish::Delivered;
use super::record::DeadLetter;
use anyhow::Context as _;
use order_store::{Db, PooledClient};
use std::collections::HashMap;

/// The ledger rows of one DLQ topic.
#[derive(Debug, Clone)]
pub struct Ledger {
    db: Db,
    dlq_topic: String,
}

impl Ledger {
    /// Checks that the table exists (i.e. `ingest migrate` has run).
    #[tracing::instrument(skip(db))]
    pub async fn open(db: &Db, dlq_topic: &str) -> anyhow::Result<Ledger> {
        let client = connect(db).await?;
        let exists: bool = client
            .query_one("SELECT to_regclass('dlq_replays') IS NOT NULL", &[])
            .await
            .context("cannot read the replay ledger")?
            .try_get(0)?;
        anyhow::ensure!(
            exists,
            "the replay ledger (table dlq_replays) is missing: run `ingest migrate up` first"
        );
        Ok(Ledger {
            db: db.clone(),
            dlq_topic: dlq_topic.to_owned(),
        })
    }

    /// Runs `body` holding a session advisory lock on this DLQ topic, so two replays of the same
    /// DLQ cannot interleave; fails at once if another replay holds it. The lock lives on its
    /// own pooled connection and is released before that connection goes back to the pool.
    pub async fn exclusive<T>(
        &self,
        body: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let client = connect(&self.db).await?;
        let name = format!("ingest.dlq-replay:{}", self.dlq_topic);
        let acquired: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                &[&name],
            )
            .await
            .context("cannot take the replay lock")?
            .try_get(0)?;
        anyhow::ensure!(
            acquired,
            "another `ingest dlq replay` of {} is running; try again when it has finished",
            self.dlq_topic
        );
        let result = body.await;
        let unlocked = client
            .query_one(
                "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                &[&name],
            )
            .await
            .context("cannot release the replay lock");
        let value = result?;
        unlocked?;
        Ok(value)
    }

    /// Every dead letter of this topic replayed so far: `(partition, offset)` → the dead
    /// letter's record timestamp, which tells a recreated topic's records from the old ones.
    #[tracing::instrument(skip(self), fields(topic = %self.dlq_topic))]
    pub async fn replayed(&self) -> anyhow::Result<HashMap<(i32, i64), Option<i64>>> {
        let client = connect(&self.db).await?;
        let rows = client
            .query(
                r#"SELECT partition, "offset", dlq_timestamp_ms FROM dlq_replays
                   WHERE dlq_topic = $1"#,
                &[&self.dlq_topic],
            )
            .await
            .context("cannot read the replay ledger")?;
        rows.iter()
            .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
            .collect()
    }

    /// Records that `dead_letter` was published to `target`, landing at `at`. A row left by an
    /// earlier topic of the same name (other timestamp) is replaced.
    pub async fn record(
        &self,
        dead_letter: &DeadLetter,
        target: &str,
        at: Delivered,
    ) -> anyhow::Result<()> {
        let client = connect(&self.db).await?;
        client
            .execute(
                r#"INSERT INTO dlq_replays (dlq_topic, partition, "offset", dlq_timestamp_ms,
                                            target_topic, target_partition, target_offset)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (dlq_topic, partition, "offset") DO UPDATE
                   SET dlq_timestamp_ms = excluded.dlq_timestamp_ms,
                       target_topic = excluded.target_topic,
                       target_partition = excluded.target_partition,
                       target_offset = excluded.target_offset,
                       replayed_at = now()
                   WHERE dlq_replays.dlq_timestamp_ms
                         IS DISTINCT FROM excluded.dlq_timestamp_ms"#,
                &[
                    &self.dlq_topic,
                    &dead_letter.partition,
                    &dead_letter.offset,
                    &dead_letter.timestamp_ms,
                    &target,
                    &at.partition,
                    &at.offset,
                ],
            )
            .await
            .with_context(|| format!("cannot record {} as replayed", dead_letter.coordinates()))?;
        Ok(())
    }
}

async fn connect(db: &Db) -> anyhow::Result<PooledClient> {
    db.pool()
        .get()
        .await
        .context("cannot connect to PostgreSQL")
}
