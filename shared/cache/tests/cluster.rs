//! The order cache on the local Redis Cluster (contract §10; `scripts/stack.sh up --cluster`):
//! keys as on one Redis, batches spread over every master, and redirections followed while a
//! slot moves between masters (ASK during the move, MOVED after it).

use order_cache::cluster::slot;
use order_cache::{CacheError, OrderCache, RedisArgs};
use pipeline_testing::cluster::{master_of, nodes, redis_cluster_args, wait_healthy, Node};
use std::collections::BTreeSet;
use std::time::Duration;

fn cache_with_prefix(prefix: &str) -> OrderCache {
    let args = RedisArgs {
        key_prefix: prefix.to_owned(),
        timeout_ms: 2_000,
        ..redis_cluster_args()
    };
    OrderCache::new(&args).expect("cluster settings")
}

fn get(node: &Node, key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut node.connection())
        .expect("GET on the owning master")
}

#[tokio::test]
async fn a_batch_is_spread_over_every_master_under_the_usual_keys() {
    let args = redis_cluster_args();
    let prefix = args.key_prefix.clone();
    let cache = OrderCache::new(&args).expect("cluster settings");
    cache.ping().await.expect("every master answers");
    let orders: Vec<(String, String)> = (0..300)
        .map(|n| (format!("uid-{n}"), format!("{{\"order_uid\":\"uid-{n}\"}}")))
        .collect();
    let written = cache
        .put_many(
            orders
                .iter()
                .map(|(uid, json)| (uid.as_str(), json.as_str())),
        )
        .await
        .expect("one batch over many slots");
    assert_eq!(written, orders.len());

    let mut masters = BTreeSet::new();
    for (uid, json) in &orders {
        assert_eq!(
            cache.get(uid).await.expect("get").as_deref(),
            Some(json.as_str())
        );
        // Where the cluster itself says the key lives, under the single-node key name.
        let key = format!("{prefix}order:{uid}");
        assert_eq!(cache.key(uid), key);
        let owner = master_of(slot(key.as_bytes()));
        assert_eq!(
            get(&owner, &key).as_deref(),
            Some(json.as_str()),
            "{key} on {}",
            owner.port
        );
        masters.insert(owner.port);
    }
    assert_eq!(
        masters.len(),
        3,
        "300 keys land on all three masters: {masters:?}"
    );
    let (uid, _) = &orders[0];
    let key = cache.key(uid);
    let ttl = master_of(slot(key.as_bytes())).command(&["TTL", &key]);
    assert!(
        matches!(ttl, redis::Value::Int(t) if t > 0 && t <= 600),
        "{ttl:?}"
    );
    let server_slot = master_of(0).command(&["CLUSTER", "KEYSLOT", &key]);
    assert_eq!(
        server_slot,
        redis::Value::Int(i64::from(slot(key.as_bytes())))
    );
    assert_eq!(cache.get("never-written").await.expect("get"), None);
}

/// `call`'s outcome; fails the test if it has none within a minute (a bound on a hang, not a
/// speed check: the calls below end in milliseconds).
async fn unless_hung<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within a minute: it hung"))
}

/// Whether `err` says the call's bound of `limit` ended it: ours around the call, or the cluster
/// client's own connection and response timeouts, which the cache sets to the same bound.
fn timed_out(err: &CacheError, limit: Duration) -> bool {
    match err {
        CacheError::Timeout(bound) => *bound == limit,
        CacheError::Redis(err) => err.is_timeout() || err.to_string().contains("timed out"),
        _ => false,
    }
}

#[tokio::test]
async fn unreachable_seeds_fail_and_silent_ones_by_the_timeout() {
    let limit = Duration::from_millis(300);
    let cache_on = |urls: String| {
        let args = RedisArgs {
            cluster_urls: Some(urls),
            timeout_ms: 300,
            ..redis_cluster_args()
        };
        OrderCache::new(&args).expect("settings are valid")
    };
    // Nothing listens: each call fails, with whatever the refusals said.
    let cache = cache_on("redis://127.0.0.1:1,redis://127.0.0.1:2".into());
    assert!(unless_hung("get", cache.get("x")).await.is_err());
    assert!(unless_hung("put", cache.put_many([("x", "{}")]))
        .await
        .is_err());
    assert!(unless_hung("ping", cache.ping()).await.is_err());

    // Seeds that accept and never answer: only the bound can end a call, and the error says so.
    let silent = format!(
        "redis://127.0.0.1:{},redis://127.0.0.1:{}",
        pipeline_testing::silent_port().await,
        pipeline_testing::silent_port().await
    );
    let cache = cache_on(silent);
    let errors = [
        unless_hung("get", cache.get("x")).await.err(),
        unless_hung("put", cache.put_many([("x", "{}")]))
            .await
            .err(),
        unless_hung("ping", cache.ping()).await.err(),
    ];
    for error in errors {
        let error = error.expect("no answer from a silent seed, yet it succeeded");
        assert!(timed_out(&error, limit), "{error:?}");
    }
}

/// Puts the slot back on its first master whatever happens to the test.
struct SlotHome {
    slot: u16,
    home: Node,
}

impl Drop for SlotHome {
    fn drop(&mut self) {
        let here = master_of_any(self.slot);
        for node in nodes().iter().filter(|n| n.master) {
            let _ = redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(self.slot)
                .arg("STABLE")
                .query::<()>(&mut node.connection());
        }
        if let Some(here) = here.filter(|n| n.id != self.home.id) {
            move_slot(self.slot, &here, &self.home);
        }
        wait_healthy(Duration::from_secs(30));
    }
}

fn master_of_any(slot: u16) -> Option<Node> {
    nodes().into_iter().find(|n| n.master && n.serves(slot))
}

fn set_slot(node: &Node, slot: u16, state: &str, id: &str) {
    node.command(&["CLUSTER", "SETSLOT", &slot.to_string(), state, id]);
}

fn migrate_keys(slot: u16, from: &Node, to: &Node) {
    let keys: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(1000)
        .query(&mut from.connection())
        .expect("keys in slot");
    if keys.is_empty() {
        return;
    }
    let mut migrate = redis::cmd("MIGRATE");
    migrate
        .arg("127.0.0.1")
        .arg(to.port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS");
    for key in &keys {
        migrate.arg(key);
    }
    migrate
        .query::<()>(&mut from.connection())
        .expect("MIGRATE");
}

/// The whole move of the Redis Cluster specification: importing, migrating, keys, new owner.
fn move_slot(slot: u16, from: &Node, to: &Node) {
    set_slot(to, slot, "IMPORTING", &from.id);
    set_slot(from, slot, "MIGRATING", &to.id);
    migrate_keys(slot, from, to);
    finish_move(slot, to);
}

fn finish_move(slot: u16, to: &Node) {
    set_slot(to, slot, "NODE", &to.id);
    for node in nodes().iter().filter(|n| n.master && n.id != to.id) {
        set_slot(node, slot, "NODE", &to.id);
    }
}

#[tokio::test]
async fn redirections_are_followed_while_a_slot_moves_between_masters() {
    // A hash tag in the prefix puts every key of this test in one slot.
    let tag = pipeline_testing::unique_name("moving");
    let cache = cache_with_prefix(&format!("{{{tag}}}:"));
    let moving = slot(tag.as_bytes());
    let from = master_of(moving);
    let to = nodes()
        .into_iter()
        .find(|n| n.master && n.id != from.id)
        .expect("another master");
    let _home = SlotHome {
        slot: moving,
        home: from.clone(),
    };
    cache
        .put_many([("before", "{\"n\":1}")])
        .await
        .expect("write");
    assert_eq!(slot(cache.key("before").as_bytes()), moving);

    // Mid-move: the key already migrated is answered with ASK by its old master.
    set_slot(&to, moving, "IMPORTING", &from.id);
    set_slot(&from, moving, "MIGRATING", &to.id);
    migrate_keys(moving, &from, &to);
    let left = from.command(&["CLUSTER", "COUNTKEYSINSLOT", &moving.to_string()]);
    assert_eq!(left, redis::Value::Int(0), "the key left its old master");
    assert_eq!(
        cache.get("before").await.expect("ASK followed").as_deref(),
        Some("{\"n\":1}")
    );
    cache
        .put_many([("during", "{\"n\":2}")])
        .await
        .expect("a new key goes to the importing master");

    // After the move: the client's slot map is stale and the old master answers MOVED.
    finish_move(moving, &to);
    assert_eq!(
        cache
            .get("before")
            .await
            .expect("MOVED followed")
            .as_deref(),
        Some("{\"n\":1}")
    );
    assert_eq!(
        cache
            .get("during")
            .await
            .expect("MOVED followed")
            .as_deref(),
        Some("{\"n\":2}")
    );
    cache
        .put_many([("after", "{\"n\":3}")])
        .await
        .expect("write after the move");
    for (uid, json) in [
        ("before", "{\"n\":1}"),
        ("during", "{\"n\":2}"),
        ("after", "{\"n\":3}"),
    ] {
        assert_eq!(
            get(&to, &cache.key(uid)).as_deref(),
            Some(json),
            "{uid} on the new master"
        );
    }
}
