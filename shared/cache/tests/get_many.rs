//! `OrderCache::get_many`, the read model's batched Redis read: every uid's answer in the order
//! asked, cached and not cached alike (and gone after `remove_many`), on one Redis (one MGET)
//! and on the local Redis Cluster (one MGET per hash slot; `scripts/stack.sh up --cluster`), and
//! a Redis that cannot be reached fails every uid the read covered.

use order_cache::{OrderCache, RedisArgs};
use pipeline_testing::cluster::redis_cluster_args;
use pipeline_testing::prefix::TestPrefix;
use pipeline_testing::redis_args;

/// Caches every other one of 40 uids, then reads all 40 and one that never existed.
async fn answers_in_order(cache: &OrderCache) {
    let uids: Vec<String> = (0..40).map(|n| format!("uid-{n}")).collect();
    let cached: Vec<(&str, String)> = uids
        .iter()
        .step_by(2)
        .map(|uid| (uid.as_str(), format!("{{\"order_uid\":\"{uid}\"}}")))
        .collect();
    cache
        .put_many(cached.iter().map(|(uid, json)| (*uid, json.as_str())))
        .await
        .expect("put");
    let mut asked: Vec<&str> = uids.iter().map(String::as_str).collect();
    asked.push("never-cached");
    let answers = cache.get_many(&asked).await;
    assert_eq!(answers.len(), asked.len());
    for (n, (uid, answer)) in asked.iter().zip(answers).enumerate() {
        let answer = answer.unwrap_or_else(|err| panic!("{uid}: {err}"));
        let expected = (n % 2 == 0 && n < 40).then(|| format!("{{\"order_uid\":\"{uid}\"}}"));
        assert_eq!(answer, expected, "{uid}");
    }
    assert!(cache.get_many(&[]).await.is_empty());

    // A writer takes back what it announced: those entries go, the others stay.
    let removed = cache
        .remove_many(["uid-0", "uid-2", "never-cached"])
        .await
        .expect("remove");
    assert_eq!(removed, 3, "one DEL per uid asked");
    let after: Vec<Option<String>> = cache
        .get_many(&["uid-0", "uid-2", "uid-4"])
        .await
        .into_iter()
        .map(|answer| answer.expect("read"))
        .collect();
    let kept = Some("{\"order_uid\":\"uid-4\"}".to_owned());
    assert_eq!(after, [None, None, kept]);
}

#[tokio::test]
async fn one_redis_answers_every_uid_in_order() {
    let prefix = TestPrefix::new();
    let cache = OrderCache::new(&prefix.args()).expect("settings");
    answers_in_order(&cache).await;
}

#[tokio::test]
async fn a_cluster_answers_every_uid_in_order_across_slots() {
    let cache = OrderCache::new(&redis_cluster_args()).expect("cluster settings");
    answers_in_order(&cache).await;
}

#[tokio::test]
async fn an_unreachable_redis_fails_every_uid_it_was_asked_for() {
    let args = RedisArgs {
        redis_url: format!("redis://127.0.0.1:{}", pipeline_testing::free_port()),
        ..redis_args()
    };
    let cache = OrderCache::new(&args).expect("settings");
    let answers = cache.get_many(&["a", "b", "c"]).await;
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(Result::is_err), "{answers:?}");
}
