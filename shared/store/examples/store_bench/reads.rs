//! The read figures: [`READERS`] concurrent tasks reading pseudo-random orders for a while, and
//! the reference read of the same order as plain rows.

use crate::Result;
use order_store::Db;
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;

/// Concurrent readers, one pool connection each.
pub const READERS: usize = 16;

/// Reads done in `secs` seconds by [`READERS`] tasks, each running `read` on pseudo-random uids,
/// and the time they took.
pub async fn reads<F, Fut>(uids: Arc<Vec<String>>, secs: f64, read: F) -> Result<(u64, Duration)>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<bool>> + Send + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..READERS as u64)
        .map(|reader| {
            let (uids, done, read) = (uids.clone(), done.clone(), read.clone());
            tokio::spawn(async move {
                let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ (reader + 1);
                while Instant::now() < deadline {
                    state ^= state << 13; // xorshift64
                    state ^= state >> 7;
                    state ^= state << 17;
                    let uid = uids[(state % uids.len() as u64) as usize].clone();
                    if !read(uid).await? {
                        return Err::<(), Box<dyn Error + Send + Sync>>("order not found".into());
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    let started = Instant::now();
    for task in tasks {
        task.await??;
    }
    Ok((done.load(Ordering::Relaxed), started.elapsed()))
}

/// The reference read: the same order as plain rows in two queries, no JSON assembly.
pub async fn read_rows(db: Db, uid: String) -> Result<bool> {
    let client = db.pool().get().await?;
    let head = client
        .prepare_cached(
            "SELECT o.*, d.*, p.* FROM orders o JOIN deliveries d USING (order_uid) \
             JOIN payments p USING (order_uid) WHERE o.order_uid = $1",
        )
        .await?;
    let lines = client
        .prepare_cached("SELECT * FROM items WHERE order_uid = $1 ORDER BY line_no")
        .await?;
    let params: [&(dyn ToSql + Sync); 1] = [&uid];
    let (head, lines) = futures::try_join!(
        client.query_opt(&head, &params),
        client.query(&lines, &params)
    )?;
    Ok(head.is_some() && !lines.is_empty())
}
