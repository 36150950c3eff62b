//! The read model on a Redis Cluster (contract §10, `REDIS_CLUSTER_URLS`): the same keys and
//! values as on one Redis, spread over the cluster's hash slots. The cluster client follows
//! MOVED/ASK redirections and refreshes its slot map after a failover; this module adds what the
//! client leaves to us: writes of a batch grouped by slot (a pipeline must not cross slots) and
//! sent to all masters at once, a lazy connection like the single-node one, and retries kept short
//! so a dead master costs a caller one timeout, after which it reads PostgreSQL.

use crate::config::RedisTlsArgs;
use crate::{connect, CacheError};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Hash slots of a Redis Cluster (fixed by its protocol).
pub const SLOTS: u16 = 16_384;

/// Slot groups for callers that track health per part of the keyspace: 256 slots each, so a
/// master's range (contiguous as `--cluster create` and resharding leave it) spans whole groups
/// except at its two ends.
pub const GROUPS: usize = 64;

/// The slot group of `key` (see [`GROUPS`]).
pub fn group(key: &str) -> usize {
    usize::from(slot(key.as_bytes())) * GROUPS / usize::from(SLOTS)
}

/// The comma-separated seed URLs, trimmed, empty entries dropped.
pub fn seeds(urls: &str) -> Vec<String> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The cluster client for `urls`, with the TLS settings of contract §9 when the seeds are
/// `rediss://` (the same trust and client certificate as for one Redis; every node's
/// certificate must name the address the cluster announces for it).
pub fn builder(urls: &str, tls: &RedisTlsArgs) -> Result<ClusterClientBuilder, CacheError> {
    let seeds = seeds(urls);
    let secure = seeds
        .iter()
        .filter(|url| url.starts_with("rediss://"))
        .count();
    if seeds.is_empty() {
        return Err(CacheError::Config(
            "REDIS_CLUSTER_URLS lists no seed URL".into(),
        ));
    }
    if secure == 0 {
        // The same checks as for one Redis: TLS files without rediss:// would do nothing.
        connect::client(&seeds[0], tls)?;
        return Ok(ClusterClientBuilder::new(seeds));
    }
    if secure != seeds.len() {
        return Err(CacheError::Config(
            "REDIS_CLUSTER_URLS mixes redis:// and rediss:// seeds".into(),
        ));
    }
    if seeds.iter().any(|url| url.contains("#insecure")) {
        return Err(CacheError::Config(
            "rediss:// URLs with #insecure are refused: certificates are always verified".into(),
        ));
    }
    Ok(ClusterClientBuilder::new(seeds).certs(connect::tls_certificates(tls)?))
}

/// The hash slot of `key`: CRC16 (XMODEM) of the key, or of its `{hash tag}` when it has a
/// non-empty one, modulo 16384 (the Redis Cluster specification).
pub fn slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16_xmodem(hashed) % SLOTS
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &byte| {
        (0..8).fold(crc ^ (u16::from(byte) << 8), |crc, _| {
            if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            }
        })
    })
}

/// A lazily connected cluster client. Cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    client: ClusterClient,
    connection: Arc<OnceLock<ClusterConnection>>,
    connecting: Arc<tokio::sync::Mutex<()>>,
    timeout: Duration,
}

impl Cluster {
    /// `builder` carries the seeds (and TLS, when the URLs are `rediss://`); nothing is contacted
    /// until first use.
    pub fn new(builder: ClusterClientBuilder, timeout: Duration) -> Result<Self, CacheError> {
        let client = builder
            .connection_timeout(timeout)
            .response_timeout(timeout)
            // A redirection (MOVED/ASK) uses one retry, a reconnection after a failover another;
            // more would only queue callers behind a master that is gone.
            .retries(2)
            .min_retry_wait(10)
            .max_retry_wait(100)
            .build()?;
        Ok(Self {
            client,
            connection: Default::default(),
            connecting: Default::default(),
            timeout,
        })
    }

    /// The shared connection (one multiplexed connection per node inside), opened on first use.
    /// As for one Redis, callers that find it being opened fail fast instead of queueing.
    async fn connection(&self) -> Result<ClusterConnection, CacheError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        let Ok(_connecting) = self.connecting.try_lock() else {
            return Err(CacheError::NotConnected);
        };
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        let connection = tokio::time::timeout(self.timeout, self.client.get_async_connection())
            .await
            .map_err(|_| CacheError::Timeout(self.timeout))??;
        let _ = self.connection.set(connection.clone());
        Ok(connection)
    }

    /// See `OrderCache::is_connected`.
    pub fn is_connected(&self) -> bool {
        self.connection.get().is_some()
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut connection = self.connection().await?;
        crate::bounded(
            self.timeout,
            redis::cmd("GET").arg(key).query_async(&mut connection),
        )
        .await
    }

    /// See [`crate::OrderCache::get_many`]: one MGET per hash slot, all slots at once.
    pub async fn get_many(&self, keys: &[String]) -> Vec<Result<Option<String>, Arc<CacheError>>> {
        let connection = match self.connection().await {
            Ok(connection) => connection,
            Err(err) => return vec![Err(Arc::new(err)); keys.len()],
        };
        let mut by_slot: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
        for (index, key) in keys.iter().enumerate() {
            by_slot.entry(slot(key.as_bytes())).or_default().push(index);
        }
        let reads = by_slot.into_values().map(|indexes| {
            let mut connection = connection.clone();
            let mut command = redis::cmd("MGET");
            for &index in &indexes {
                command.arg(&keys[index]);
            }
            async move {
                let read = crate::bounded(
                    self.timeout,
                    command.query_async::<Vec<Option<String>>>(&mut connection),
                )
                .await;
                (indexes, read)
            }
        });
        let mut found: Vec<Result<Option<String>, Arc<CacheError>>> =
            vec![Err(Arc::new(CacheError::NotConnected)); keys.len()];
        for (indexes, read) in futures::future::join_all(reads).await {
            match read {
                Ok(values) if values.len() == indexes.len() => {
                    for (index, value) in indexes.into_iter().zip(values) {
                        found[index] = Ok(value);
                    }
                }
                Ok(_) => {
                    let failure =
                        Arc::new(CacheError::Config("MGET answered a wrong count".into()));
                    for index in indexes {
                        found[index] = Err(Arc::clone(&failure));
                    }
                }
                Err(err) => {
                    let failure = Arc::new(err);
                    for index in indexes {
                        found[index] = Err(Arc::clone(&failure));
                    }
                }
            }
        }
        found
    }

    /// Runs one command per key: one pipeline per hash slot, all slots at once, so a batch
    /// costs about one round trip per master. Fails when any slot's commands failed (the others
    /// run all the same).
    pub async fn pipelined(
        &self,
        commands: Vec<(String, redis::Cmd)>,
    ) -> Result<usize, CacheError> {
        let count = commands.len();
        if count == 0 {
            return Ok(0);
        }
        let mut by_slot: BTreeMap<u16, redis::Pipeline> = BTreeMap::new();
        for (key, command) in commands {
            by_slot
                .entry(slot(key.as_bytes()))
                .or_default()
                .add_command(command)
                .ignore();
        }
        let connection = self.connection().await?;
        let writes = by_slot.values().map(|pipe| {
            let mut connection = connection.clone();
            async move { pipe.query_async::<()>(&mut connection).await }
        });
        let results = crate::bounded(self.timeout, async {
            Ok(futures::future::join_all(writes).await)
        });
        let results = results.await?;
        let slots = results.len();
        let mut failures = results.into_iter().filter_map(Result::err);
        match failures.next() {
            None => Ok(count),
            Some(first) => Err(CacheError::Partial {
                failed_slots: 1 + failures.count(),
                slots,
                first: Box::new(first.into()),
            }),
        }
    }

    /// Every master answers PING: with one down (before its replica took over) part of the
    /// keys cannot be cached, which readiness reports.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut connection = self.connection().await?;
        let routing = RoutingInfo::MultiNode((
            MultipleNodeRoutingInfo::AllMasters,
            Some(ResponsePolicy::AllSucceeded),
        ));
        crate::bounded(
            self.timeout,
            connection.route_command(&redis::cmd("PING"), routing),
        )
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_cluster_specification() {
        // Values from the specification and from `CLUSTER KEYSLOT`.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
        assert_eq!(slot(b"foo"), 12_182);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"{user1000}.followers"), slot(b"{user1000}.following"));
        // An empty tag does not count: the whole key is hashed.
        assert_eq!(slot(b"foo{}{bar}"), crc16_xmodem(b"foo{}{bar}") % SLOTS);
        assert_eq!(slot(b"foo{{bar}}zap"), slot(b"{bar"));
        assert_eq!(slot(b""), 0);
        assert_eq!(group("foo"), 12_182 * GROUPS / 16_384);
    }

    #[test]
    fn seeds_must_agree_on_tls_and_tls_files_need_rediss() {
        let none = RedisTlsArgs::default();
        let error = |urls: &str, tls: &RedisTlsArgs| match builder(urls, tls) {
            Ok(_) => panic!("{urls} was accepted"),
            Err(err) => err.to_string(),
        };
        let mixed = error("redis://a:7000,rediss://b:7001", &none);
        assert!(mixed.contains("mixes"), "{mixed}");
        assert!(error(" , ", &none).contains("no seed"));
        let ca = RedisTlsArgs {
            ca_file: Some("/ca.pem".into()),
            ..RedisTlsArgs::default()
        };
        let plain = error("redis://a:7000", &ca);
        assert!(plain.contains("rediss://"), "{plain}");
        let missing = error("rediss://a:7000", &ca);
        assert!(missing.contains("/ca.pem"), "{missing}");
        assert!(builder("redis://a:7000,redis://b:7001", &none).is_ok());
    }

    #[test]
    fn seeds_are_split_and_trimmed() {
        assert_eq!(
            seeds(" redis://a:7000, ,redis://b:7001 ,"),
            vec!["redis://a:7000".to_owned(), "redis://b:7001".to_owned()]
        );
    }
}
