//! The Redis read model (contract §4): key `order:{order_uid}` holds the order JSON exactly as
//! the read API serves it. Ingest fills it after each stored batch; query-api reads it and fills
//! it on a miss. Every call has a timeout so a slow or dead Redis degrades to a miss, never a hang.
//! How the client connects (TLS, ACL login) is in [`connect`]. On a Redis Cluster
//! (`REDIS_CLUSTER_URLS`) the calls go through [`cluster`] instead.

pub mod cluster;
mod config;
pub mod connect;

pub use config::{RedisArgs, RedisTlsArgs};

use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;

/// Settings a binary may read from a mounted secret file (`REDIS_URL_FILE`, `REDIS_CLUSTER_URLS_FILE`).
pub const SECRET_SETTINGS: &[&str] = &["REDIS_URL", "REDIS_CLUSTER_URLS"];

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(redis::RedisError),
    /// Redis refused us for a reason only the operator can fix (credentials, certificate, host
    /// name): one line naming Redis and the cause (contract §9).
    #[error("{0}")]
    Refused(String),
    /// The settings cannot work (TLS files, URL).
    #[error("{0}")]
    Config(String),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis is not connected")]
    NotConnected,
    /// Some hash slots of a cluster write failed (typically those of a master that is down).
    #[error("redis cluster: {failed_slots} of {slots} slot writes failed, first: {first}")]
    Partial {
        failed_slots: usize,
        slots: usize,
        first: Box<CacheError>,
    },
}

impl From<redis::RedisError> for CacheError {
    fn from(err: redis::RedisError) -> Self {
        match connect::refusal(&err) {
            Some(failure) => CacheError::Refused(failure.to_string()),
            None => CacheError::Redis(err),
        }
    }
}

impl CacheError {
    /// A failure an operator must fix (see [`CacheError::Refused`]).
    pub fn is_refused(&self) -> bool {
        matches!(self, CacheError::Refused(_))
    }
}

/// A cheap-to-clone handle on the shared order cache.
#[derive(Clone)]
pub struct OrderCache {
    /// One Redis (`REDIS_URL`), or `None` on a cluster.
    client: Option<redis::Client>,
    /// Set with `REDIS_CLUSTER_URLS`: every call goes to the cluster.
    cluster: Option<cluster::Cluster>,
    connection: std::sync::Arc<std::sync::OnceLock<ConnectionManager>>,
    connecting: std::sync::Arc<tokio::sync::Mutex<()>>,
    key_prefix: String,
    ttl_secs: u64,
    timeout: Duration,
}

impl std::fmt::Debug for OrderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderCache")
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

impl OrderCache {
    /// Builds the handle; connecting happens on first use so a binary can start while Redis is
    /// down (orders are still stored and served from PostgreSQL).
    pub fn new(args: &RedisArgs) -> Result<Self, CacheError> {
        let timeout = Duration::from_millis(args.timeout_ms.max(1));
        let cluster = match &args.cluster_urls {
            Some(urls) => Some(cluster::Cluster::new(
                cluster::builder(urls, &args.tls)?,
                timeout,
            )?),
            None => None,
        };
        // REDIS_URL is ignored on a cluster (contract §10).
        let client = match cluster {
            Some(_) => None,
            None => Some(connect::client(&args.redis_url, &args.tls)?),
        };
        Ok(Self {
            client,
            cluster,
            connection: Default::default(),
            connecting: Default::default(),
            key_prefix: args.key_prefix.clone(),
            ttl_secs: args.ttl_secs,
            timeout,
        })
    }

    /// The bound on one call (and on connecting), `REDIS_TIMEOUT_MS`.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The Redis key of an order.
    pub fn key(&self, uid: &str) -> String {
        format!("{}order:{uid}", self.key_prefix)
    }

    /// How many groups of keys [`OrderCache::shard_group`] tells apart: 1 on one Redis.
    pub fn shard_groups(&self) -> usize {
        match self.cluster {
            Some(_) => cluster::GROUPS,
            None => 1,
        }
    }

    /// The group of hash slots `uid`'s key lives in (always 0 on one Redis), so a caller can
    /// track failures per group: on a cluster, one master down must not make every key look
    /// uncacheable.
    pub fn shard_group(&self, uid: &str) -> usize {
        match self.cluster {
            Some(_) => cluster::group(&self.key(uid)),
            None => 0,
        }
    }

    /// The shared connection, connecting on first use. While one caller connects, the others
    /// fail fast with `NotConnected` instead of queueing behind it: a dead Redis must cost each
    /// request at most one timeout, never a queue of them.
    async fn connection(&self) -> Result<ConnectionManager, CacheError> {
        if let Some(manager) = self.connection.get() {
            return Ok(manager.clone());
        }
        let Some(client) = &self.client else {
            return Err(CacheError::NotConnected);
        };
        let Ok(_connecting) = self.connecting.try_lock() else {
            return Err(CacheError::NotConnected);
        };
        if let Some(manager) = self.connection.get() {
            return Ok(manager.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let manager = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| CacheError::Timeout(self.timeout))??;
        // Only this caller holds `connecting`, so the cell is still empty.
        let _ = self.connection.set(manager.clone());
        Ok(manager)
    }

    /// Whether the connection is open (it may still fail on its next use).
    pub fn is_connected(&self) -> bool {
        match &self.cluster {
            Some(cluster) => cluster.is_connected(),
            None => self.connection.get().is_some(),
        }
    }

    /// The cached JSON of an order, if present.
    pub async fn get(&self, uid: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(uid);
        if let Some(cluster) = &self.cluster {
            return cluster.get(&key).await;
        }
        let mut connection = self.connection().await?;
        bounded(
            self.timeout,
            redis::cmd("GET").arg(&key).query_async(&mut connection),
        )
        .await
    }

    /// The cached JSON of each of `uids`, in their order (`None`: not cached), or the failure
    /// of the read that covered it, shared by the uids it covered: one MGET on one Redis; on a
    /// cluster one MGET per hash slot (a multi-key command must not cross slots), all at once.
    pub async fn get_many(&self, uids: &[&str]) -> Vec<Result<Option<String>, Arc<CacheError>>> {
        if uids.is_empty() {
            return Vec::new();
        }
        let keys: Vec<String> = uids.iter().map(|uid| self.key(uid)).collect();
        if let Some(cluster) = &self.cluster {
            return cluster.get_many(&keys).await;
        }
        let read = async {
            let mut connection = self.connection().await?;
            bounded(
                self.timeout,
                redis::cmd("MGET")
                    .arg(&keys)
                    .query_async::<Vec<Option<String>>>(&mut connection),
            )
            .await
        };
        match read.await {
            Ok(values) if values.len() == keys.len() => values.into_iter().map(Ok).collect(),
            Ok(values) => {
                let failure = Arc::new(CacheError::Config(format!(
                    "MGET of {} keys answered {} values",
                    keys.len(),
                    values.len()
                )));
                vec![Err(failure); keys.len()]
            }
            Err(err) => vec![Err(Arc::new(err)); keys.len()],
        }
    }

    /// Stores many `(uid, json)` pairs in one pipelined round trip.
    pub async fn put_many<'a, I>(&self, entries: I) -> Result<usize, CacheError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let commands = entries.into_iter().map(|(uid, json)| {
            let key = self.key(uid);
            let mut command = redis::cmd("SET");
            command.arg(&key).arg(json);
            if self.ttl_secs > 0 {
                command.arg("EX").arg(self.ttl_secs);
            }
            (key, command)
        });
        self.pipelined(commands.collect()).await
    }

    /// Removes the entries of `uids` in one pipelined round trip: for a writer that announced
    /// orders which then were not stored.
    pub async fn remove_many<'a, I>(&self, uids: I) -> Result<usize, CacheError>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let commands = uids.into_iter().map(|uid| {
            let key = self.key(uid);
            let mut command = redis::cmd("DEL");
            command.arg(&key);
            (key, command)
        });
        self.pipelined(commands.collect()).await
    }

    /// One command per key, pipelined: one round trip on one Redis, one per master on a
    /// cluster (a pipeline must not cross hash slots).
    async fn pipelined(&self, commands: Vec<(String, redis::Cmd)>) -> Result<usize, CacheError> {
        if let Some(cluster) = &self.cluster {
            return cluster.pipelined(commands).await;
        }
        let count = commands.len();
        if count == 0 {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for (_, command) in commands {
            pipe.add_command(command).ignore();
        }
        let mut connection = self.connection().await?;
        bounded(self.timeout, pipe.query_async::<()>(&mut connection)).await?;
        Ok(count)
    }

    /// Round trip to Redis, for readiness checks.
    pub async fn ping(&self) -> Result<(), CacheError> {
        if let Some(cluster) = &self.cluster {
            return cluster.ping().await;
        }
        let mut connection = self.connection().await?;
        bounded(
            self.timeout,
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await
        .map(|_| ())
    }
}

/// `call`, failing with [`CacheError::Timeout`] after `timeout` (every Redis call is bounded, on a
/// single Redis and on a cluster alike).
async fn bounded<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, CacheError> {
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| CacheError::Timeout(timeout))?
        .map_err(Into::into)
}
