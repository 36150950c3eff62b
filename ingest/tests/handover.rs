//! Clean handovers of partitions while dead letters are being written: members join and leave
//! (cooperative rebalances) under a steady stream of valid and poison records, and every poison
//! record must be dead-lettered exactly once (contract §2: a second dead letter only after a
//! crash, never after a clean handover).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every `POISON_EVERY`-th input record is malformed.
const POISON_EVERY: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handovers_with_dead_letters_in_flight_dead_letter_each_record_once() {
    let mut world = World::new(6).await;
    // Small batches that mix stored orders and dead letters: many batches are writing dead
    // letters at any moment, so the revokes below keep landing on some.
    world.config.batch_size = 40;
    world.config.batch_linger_ms = 5;
    let valid = orders(24, 1600);
    let mut input: Vec<(String, Vec<u8>)> = Vec::new();
    let mut poison = 0;
    for (uid, json) in &valid {
        if input.len() % POISON_EVERY == 0 {
            input.push((
                format!("poison-{poison}"),
                format!("{{not json {poison}").into_bytes(),
            ));
            poison += 1;
        }
        input.push((uid.clone(), json.clone().into_bytes()));
    }
    let feeder = {
        let topic = world.topics.orders.clone();
        tokio::spawn(async move {
            let producer = producer();
            for chunk in input.chunks(40) {
                let sends = chunk.iter().map(|(key, value)| {
                    produce(&producer, &topic, Some(key.as_bytes()), value, &[])
                });
                futures::future::join_all(sends).await;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };

    let mut members = vec![start(world.config.clone()).await];
    wait_until("first dead letters", || async {
        members[0]
            .metric("ingest_dead_letters_total{kind=\"malformed\"}")
            .await
            >= 10.0
    })
    .await;
    // Each join revokes partitions from the members there; each clean leave hands its
    // partitions over. Both happen while batches are writing dead letters.
    for _ in 0..3 {
        let joining = start(world.config.clone()).await;
        joining.wait_assigned().await;
        // The newcomer settles records of its own before the oldest leaves, so that both
        // handovers land on batches in flight (once the feed is over there is nothing left).
        wait_until("new member at work, or the feed over", || async {
            joining.metric("ingest_records_total").await > 0.0 || feeder.is_finished()
        })
        .await;
        members.push(joining);
        members.remove(0).stop().await;
    }
    feeder.await.expect("feeder");
    wait_until("every valid order stored", || async {
        world.stored_count().await >= valid.len() as i64
    })
    .await;
    wait_for_records(&world.topics.dlq, poison).await;
    for member in members {
        member.stop().await;
    }

    let letters = read_topic_async(&world.topics.dlq).await;
    let mut copies: BTreeMap<(String, String), usize> = BTreeMap::new();
    for letter in &letters {
        assert_eq!(letter.header("x-error-kind"), "malformed");
        let origin = (
            letter.header("x-original-partition").to_owned(),
            letter.header("x-original-offset").to_owned(),
        );
        *copies.entry(origin).or_default() += 1;
    }
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "dead-lettered more than once (partition, offset): {twice:?}"
    );
    assert_eq!(copies.len(), poison, "every poison record dead-lettered");
    assert_eq!(world.stored_count().await, valid.len() as i64);
}
