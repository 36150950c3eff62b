//! query-api on the clustered engines of contract §10 (`scripts/stack.sh up --cluster`): the
//! cache on the Redis Cluster (`REDIS_CLUSTER_URLS`), reads on the PostgreSQL replica
//! (`DATABASE_READ_URL`). Covers what only a cluster and a replica can show: reads by source,
//! a lagging replica's not-found checked on the primary, a replica that is down, and a master
//! that stops answering degrading only its own keys.
//!
//! The tests pause shared things (the replica's replay, a Redis master), so they take turns.

mod support;

use order_cache::cluster::slot;
use order_cache::{OrderCache, RedisArgs};
use order_model::ValidOrder;
use pipeline_testing::cluster::{
    database_read_url, master_of, pause_replay, redis_cluster_args, wait_replica_caught_up, Node,
    Paused,
};
use pipeline_testing::db::{read_only_args, TestDb, READER};
use pipeline_testing::prefix::TestPrefix;
use pipeline_testing::wait::within as wait_until;
use query_api::config::{ReadArgs, SecretUrl};
use serde_json::Value;
use std::time::Duration;
use support::{config, order, start, TestApp, TestResult};
use tokio::sync::{Mutex, MutexGuard};

static TURN: Mutex<()> = Mutex::const_new(());

async fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().await
}

/// A fresh database on the primary, already on the replica, and query-api reading both, with
/// its cache on the cluster. query-api connects to both with only the read-only role's grants
/// (orders_reader, replicated with the rest of the cluster), as deployed; the tests store orders
/// through `db`, the owner's pool.
async fn clustered_app(read: ReadArgs, redis: RedisArgs) -> TestApp {
    let db = TestDb::create().await;
    wait_replica_caught_up(Duration::from_secs(30)).await;
    let replica = format!(
        "{}?options=-c%20role%3D{READER}",
        database_read_url(db.name())
    );
    let read = ReadArgs {
        database_read_url: read.database_read_url.or(Some(SecretUrl(replica))),
        ..read
    };
    let prefix = TestPrefix::guard(redis);
    let mut app = start(config(read_only_args(db.name()), prefix.args(), read)).await;
    app.db = Some(db);
    app.prefix = Some(prefix);
    app
}

fn no_near_cache() -> ReadArgs {
    ReadArgs {
        near_cache_entries: 0,
        ..ReadArgs::default()
    }
}

async fn get_order(app: &TestApp, uid: &str) -> (u16, Option<String>) {
    let response = app.get(&format!("/order/{uid}")).await;
    let cache = response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), cache)
}

const FROM_REPLICA: &str = "order_db_reads_total{source=\"replica\"}";
const FROM_PRIMARY: &str = "order_db_reads_total{source=\"primary\"}";

#[tokio::test]
async fn reads_come_from_the_replica_and_the_cache_from_the_cluster() -> TestResult {
    let _turn = turn().await;
    let app = clustered_app(no_near_cache(), redis_cluster_args()).await;
    let stored = order("cluster-read-1", "2024-05-01T10:00:00Z");
    app.store(std::slice::from_ref(&stored)).await;
    wait_replica_caught_up(Duration::from_secs(30)).await;

    assert_eq!(
        get_order(&app, stored.uid()).await,
        (200, Some("miss".into()))
    );
    assert_eq!(app.metric(FROM_REPLICA).await, 1.0);
    assert_eq!(app.metric(FROM_PRIMARY).await, 0.0);
    let cached = app.redis_entry(stored.uid()).await;
    assert_eq!(
        cached.as_deref(),
        Some(stored.canonical_json()),
        "filled into the cluster"
    );
    assert_eq!(
        get_order(&app, stored.uid()).await,
        (200, Some("hit".into()))
    );

    let list: Value = app.get("/orders?limit=5").await.json().await?;
    assert_eq!(list[0]["order_uid"], "cluster-read-1");
    assert_eq!(
        app.metric(FROM_REPLICA).await,
        2.0,
        "the list comes from the replica too"
    );
    assert_eq!(app.metric(FROM_PRIMARY).await, 0.0);

    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["postgres_replica"], "up", "{body}");
    assert_eq!(body["redis"], "up", "every master answers: {body}");
    app.stop().await
}

#[tokio::test]
async fn a_not_found_on_a_lagging_replica_is_checked_on_the_primary() -> TestResult {
    let _turn = turn().await;
    let app = clustered_app(no_near_cache(), redis_cluster_args()).await;
    let paused = pause_replay();
    let stored = order("cluster-lag-1", "2024-05-01T10:00:00Z");
    app.store(std::slice::from_ref(&stored)).await;

    // The replica does not have it yet; the primary does.
    assert_eq!(
        get_order(&app, stored.uid()).await,
        (200, Some("miss".into()))
    );
    assert_eq!(
        app.metric("order_db_replica_fallbacks_total{reason=\"not_found\"}")
            .await,
        1.0
    );
    assert_eq!(app.metric(FROM_PRIMARY).await, 1.0);
    // A uid stored nowhere is a 404 after both said so.
    assert_eq!(get_order(&app, "cluster-lag-nowhere").await.0, 404);
    assert_eq!(app.metric(FROM_PRIMARY).await, 2.0);
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(
        (status, &body["postgres_replica"]),
        (200, &Value::from("up")),
        "{body}"
    );
    drop(paused);
    app.stop().await
}

#[tokio::test]
async fn a_replica_that_is_down_leaves_reads_to_the_primary_and_readiness_up() -> TestResult {
    let _turn = turn().await;
    // Nothing listens on port 1: a replica that is down, refusing connections.
    let read = ReadArgs {
        database_read_url: Some(SecretUrl(
            "postgres://orders:orders@127.0.0.1:1/orders".into(),
        )),
        redis_breaker_failures: 2,
        ..no_near_cache()
    };
    let app = clustered_app(read, redis_cluster_args()).await;
    let orders: Vec<ValidOrder> = (0..4)
        .map(|n| order(&format!("cluster-down-{n}"), "2024-05-01T10:00:00Z"))
        .collect();
    app.store(&orders).await;
    for stored in &orders {
        assert_eq!(get_order(&app, stored.uid()).await.0, 200);
    }
    assert_eq!(app.metric(FROM_PRIMARY).await, 4.0);
    assert_eq!(
        app.metric("order_db_replica_fallbacks_total{reason=\"failed\"}")
            .await,
        2.0
    );
    assert_eq!(
        app.metric("order_db_replica_fallbacks_total{reason=\"skipped\"}")
            .await,
        2.0
    );
    assert_eq!(app.metric("order_db_replica_breaker_open").await, 1.0);
    assert_eq!(app.get("/orders?limit=2").await.status(), 200);
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["postgres"], "up", "{body}");
    assert_eq!(body["postgres_replica"], "down", "{body}");
    app.stop().await
}

/// Two uids whose keys (under `prefix`) live on different masters.
fn uids_on_two_masters(prefix: &str) -> ((String, Node), (String, Node)) {
    let mut first: Option<(String, Node)> = None;
    for n in 0.. {
        let uid = format!("cluster-shard-{n}");
        let master = master_of(slot(format!("{prefix}order:{uid}").as_bytes()));
        match &first {
            None => first = Some((uid, master)),
            Some((_, other)) if other.id != master.id => {
                return (first.take().expect("set above"), (uid, master));
            }
            Some(_) => {}
        }
    }
    unreachable!("the keyspace is spread over several masters")
}

#[tokio::test]
async fn a_master_that_stops_answering_sends_only_its_keys_to_postgres() -> TestResult {
    let _turn = turn().await;
    let read = ReadArgs {
        redis_breaker_failures: 2,
        redis_breaker_cooldown_ms: 300,
        ..no_near_cache()
    };
    // A bound well inside the pause: the reads below wait it out twice before the breaker opens.
    let redis = RedisArgs {
        timeout_ms: 500,
        ..redis_cluster_args()
    };
    let app = clustered_app(read, redis).await;
    let prefix = app.redis.key_prefix.clone();
    let ((slow_uid, slow_master), (fine_uid, _)) = uids_on_two_masters(&prefix);
    let orders = [
        order(&slow_uid, "2024-05-01T10:00:00Z"),
        order(&fine_uid, "2024-05-01T10:00:01Z"),
    ];
    app.store(&orders).await;
    let cache = OrderCache::new(&app.redis)?;
    cache
        .put_many(orders.iter().map(|o| (o.uid(), o.canonical_json())))
        .await?;
    assert_eq!(get_order(&app, &slow_uid).await, (200, Some("hit".into())));
    assert_eq!(get_order(&app, &fine_uid).await, (200, Some("hit".into())));

    // Longer than the checks below need; they are answered before it ends, which is the point.
    let paused = Paused::new(&slow_master, 8_000);
    for _ in 0..4 {
        assert_eq!(get_order(&app, &slow_uid).await, (200, Some("miss".into())));
        assert!(
            !paused.is_over(),
            "answered only once its master answered again: the read waited for the master"
        );
        assert_eq!(
            get_order(&app, &fine_uid).await,
            (200, Some("hit".into())),
            "the other masters' keys stay cached"
        );
    }
    assert_eq!(
        app.metric("order_cache_breaker_open").await,
        1.0,
        "one slot group skipped"
    );
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(
        (status, &body["redis"]),
        (200, &Value::from("down")),
        "{body}"
    );
    assert!(
        !paused.is_over(),
        "readiness was checked while the master was paused"
    );

    tokio::task::spawn_blocking(move || drop(paused)).await?;
    wait_until(
        "the cache is used again once the master answers",
        Duration::from_secs(60),
        || async { get_order(&app, &slow_uid).await == (200, Some("hit".into())) },
    )
    .await;
    assert_eq!(app.metric("order_cache_breaker_open").await, 0.0);
    app.stop().await
}

#[tokio::test]
async fn redis_url_is_ignored_when_cluster_urls_are_set() -> TestResult {
    let _turn = turn().await;
    // redis_cluster_args points REDIS_URL at a dead port: everything still works.
    let args = redis_cluster_args();
    assert!(args.redis_url.ends_with(":1"));
    let app = clustered_app(ReadArgs::default(), args).await;
    let stored = order("cluster-url-1", "2024-05-01T10:00:00Z");
    app.store(std::slice::from_ref(&stored)).await;
    assert_eq!(get_order(&app, stored.uid()).await.0, 200);
    assert!(app.redis_entry(stored.uid()).await.is_some());
    app.stop().await
}
