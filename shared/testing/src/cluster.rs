//! The clustered engines of contract §10 as tests see them (`scripts/stack.sh up --cluster`):
//! settings pointing at the Redis Cluster and the PostgreSQL replica, and the Redis Cluster's
//! topology read from `CLUSTER NODES`, so a test can act on the master that owns a key (pause
//! it, move its slot) without guessing, since masters move after failovers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The local Redis Cluster's seeds (`TEST_REDIS_CLUSTER_URLS` overrides them).
pub fn redis_cluster_urls() -> String {
    std::env::var("TEST_REDIS_CLUSTER_URLS").unwrap_or_else(|_| {
        (7000..=7005)
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Redis settings for the cluster with a fresh key prefix; `REDIS_URL` points nowhere, so a
/// client that used it instead of the cluster would fail. Calls may take 5 s: a batch is one
/// pipeline per hash slot (300 keys, nearly 300 pipelines over three masters), which took over
/// the single-node tests' 0.5 s while CI ran other test binaries beside it; a test of the bound
/// itself sets its own.
pub fn redis_cluster_args() -> order_cache::RedisArgs {
    order_cache::RedisArgs {
        redis_url: "redis://127.0.0.1:1".into(),
        cluster_urls: Some(redis_cluster_urls()),
        timeout_ms: 5_000,
        ..crate::redis_args()
    }
}

/// The replica's URL for database `db` (`TEST_DATABASE_READ_HOST_PORT`, default localhost:5433).
pub fn database_read_url(db: &str) -> String {
    let at =
        std::env::var("TEST_DATABASE_READ_HOST_PORT").unwrap_or_else(|_| "localhost:5433".into());
    format!("postgres://orders:orders@{at}/{db}")
}

fn replica_port() -> String {
    std::env::var("TEST_DATABASE_READ_HOST_PORT")
        .ok()
        .and_then(|at| at.rsplit_once(':').map(|(_, port)| port.to_owned()))
        .unwrap_or_else(|| "5433".into())
}

/// Runs one statement on the replica as the `postgres` superuser (replay control needs it).
fn replica_superuser(sql: &str) -> String {
    let mut psql = std::process::Command::new("su");
    psql.args([
        "postgres",
        "-c",
        &format!("psql -p {} -qAtX -c \"{sql}\"", replica_port()),
    ])
    .current_dir("/");
    let what = format!(
        "psql as postgres (tests that pause the replica run as root): {sql} on the replica"
    );
    let out = crate::process::run_ok(&mut psql, &what);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// While this lives, the replica receives WAL but does not apply it: it lags like a replica
/// under load. Dropping it resumes replay.
#[derive(Debug)]
pub struct ReplayPaused(());

/// Pauses the replica's replay (see [`ReplayPaused`]) and waits until it is paused.
pub fn pause_replay() -> ReplayPaused {
    replica_superuser("SELECT pg_wal_replay_pause()");
    let deadline = Instant::now() + Duration::from_secs(10);
    while replica_superuser("SELECT pg_get_wal_replay_pause_state()") != "paused" {
        assert!(Instant::now() < deadline, "replay did not pause");
        std::thread::sleep(Duration::from_millis(50));
    }
    ReplayPaused(())
}

impl Drop for ReplayPaused {
    fn drop(&mut self) {
        replica_superuser("SELECT pg_wal_replay_resume()");
    }
}

/// Waits until the replica has applied everything the primary had written when called (a
/// database created or a row stored on the primary is then visible on the replica).
pub async fn wait_replica_caught_up(limit: Duration) {
    let primary = crate::db::admin_url();
    let replica = database_read_url("orders");
    let target = query_text(&primary, "SELECT pg_current_wal_lsn()::text").await;
    let deadline = Instant::now() + limit;
    loop {
        let caught_up = format!("SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn");
        if query_text(&replica, &caught_up).await == "t" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica did not replay up to {target} within {limit:?} (is it streaming? \
             `scripts/stack.sh status --cluster`)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn query_text(url: &str, sql: &str) -> String {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| {
            panic!("connect for {sql}: {err} (run `scripts/stack.sh up --cluster`)")
        });
    tokio::spawn(connection);
    let row = client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    match row.try_get::<_, String>(0) {
        Ok(text) => text,
        Err(_) if row.get::<_, bool>(0) => "t".to_owned(),
        Err(_) => "f".to_owned(),
    }
}

/// One node of the cluster, from a `CLUSTER NODES` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub port: u16,
    pub master: bool,
    /// Slot ranges this node serves (masters only), inclusive.
    pub slots: Vec<(u16, u16)>,
}

impl Node {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(lo, hi)| (lo..=hi).contains(&slot))
    }

    /// A plain (not cluster-aware) connection to this node.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(5)))
            .unwrap_or_else(|err| panic!("cannot connect to redis node {}: {err}", self.port))
    }

    pub fn command(&self, args: &[&str]) -> redis::Value {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(&mut self.connection())
            .unwrap_or_else(|err| panic!("{args:?} on redis node {}: {err}", self.port))
    }
}

/// While this lives, a master answers no client (`CLIENT PAUSE … ALL`; not the cluster bus, so
/// no failover) until the pause it was given ends. Redis blocks even `CLIENT UNPAUSE` meanwhile,
/// so the end is waited for, not forced: a connection opened before the pause sends a PING as
/// soon as it starts, and the answer to it marks the end ([`Paused::is_over`]). Dropping it waits
/// for the end.
#[derive(Debug)]
pub struct Paused {
    over: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl Paused {
    /// Pauses `node`'s clients for `millis` milliseconds.
    pub fn new(node: &Node, millis: u64) -> Self {
        // Opened first: a new connection's handshake would wait for the pause too.
        let mut watch = node.connection();
        node.command(&["CLIENT", "PAUSE", &millis.to_string(), "ALL"]);
        let over = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&over);
        let watcher = std::thread::spawn(move || {
            let _: redis::RedisResult<String> = redis::cmd("PING").query(&mut watch);
            flag.store(true, Ordering::SeqCst);
        });
        Paused {
            over,
            watcher: Some(watcher),
        }
    }

    /// Whether the master has answered again (the pause is over).
    pub fn is_over(&self) -> bool {
        self.over.load(Ordering::SeqCst)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
    }
}

/// The nodes that are connected, as the first reachable seed sees them.
pub fn nodes() -> Vec<Node> {
    let text = redis_cluster_urls()
        .split(',')
        .find_map(|url| {
            let mut connection = redis::Client::open(url.trim())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
                .ok()?;
            redis::cmd("CLUSTER")
                .arg("NODES")
                .query::<String>(&mut connection)
                .ok()
        })
        .expect("no Redis Cluster node answers: run `scripts/stack.sh up --cluster`");
    parse_nodes(&text)
}

fn parse_nodes(text: &str) -> Vec<Node> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = *fields.get(2)?;
            if flags.contains("fail") || fields.get(7) != Some(&"connected") {
                return None;
            }
            let port = fields[1]
                .split('@')
                .next()?
                .rsplit(':')
                .next()?
                .parse()
                .ok()?;
            let slots = fields[8..]
                .iter()
                .filter(|range| !range.starts_with('['))
                .filter_map(|range| match range.split_once('-') {
                    Some((lo, hi)) => Some((lo.parse().ok()?, hi.parse().ok()?)),
                    None => range.parse().ok().map(|s| (s, s)),
                })
                .collect();
            Some(Node {
                id: fields[0].to_owned(),
                port,
                master: flags.contains("master"),
                slots,
            })
        })
        .collect()
}

/// The master serving `slot` now.
pub fn master_of(slot: u16) -> Node {
    nodes()
        .into_iter()
        .find(|node| node.master && node.serves(slot))
        .unwrap_or_else(|| panic!("no connected master serves slot {slot}"))
}

/// Waits until every node agrees the cluster is healthy: state ok and every slot served by a
/// connected master (after a test moved a slot or a drill killed a node).
pub fn wait_healthy(limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let nodes = nodes();
        let covered: u32 = nodes
            .iter()
            .filter(|n| n.master)
            .flat_map(|n| n.slots.iter())
            .map(|&(lo, hi)| u32::from(hi - lo) + 1)
            .sum();
        let ok = nodes.iter().all(|node| {
            matches!(node.command(&["CLUSTER", "INFO"]),
                redis::Value::BulkString(ref info) if String::from_utf8_lossy(info).contains("cluster_state:ok"))
        });
        if ok && covered == 16_384 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the Redis Cluster is not healthy after {limit:?}: {covered} slots covered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_lines_parse() {
        let text = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7004@17004 slave a1 0 1 2 connected
c3 127.0.0.1:7001@17001 master - 0 1 2 connected 5461-10921 10922 [10923->-d4]
d4 127.0.0.1:7002@17002 master,fail - 0 1 3 disconnected 10923-16383
";
        let nodes = parse_nodes(text);
        assert_eq!(nodes.len(), 3, "the failed node is left out");
        assert_eq!(nodes[0].port, 7000);
        assert!(nodes[0].master && nodes[0].serves(5460) && !nodes[0].serves(5461));
        assert!(!nodes[1].master && nodes[1].slots.is_empty());
        assert_eq!(nodes[2].slots, vec![(5461, 10921), (10922, 10922)]);
    }
}
