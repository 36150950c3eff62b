//! Safe replay: by default a dead letter goes back only to the topic ingest consumes; one whose
//! `x-original-topic` names any other topic (a forged or foreign dead letter) is skipped and
//! reported with the topic named, and is replayed there only when `--to` names it.

mod dlq_support;

use dlq_support::{put, replay_args, Env, Letter};
use pipeline_testing::kafka::TestTopic;

#[tokio::test]
async fn a_dead_letter_naming_another_topic_is_skipped_unless_to_names_it() {
    let env = Env::new(1).await;
    let victim_topic = TestTopic::create("t_victim", &[]).await;
    let victim = victim_topic.name.clone();
    put(
        &env,
        &Letter::new(
            &env.topics.orders,
            "genuine",
            "invalid",
            "2024-05-01T00:00:00Z",
        ),
    )
    .await;
    put(
        &env,
        &Letter::new(&victim, "forged", "invalid", "2024-05-01T00:00:00Z"),
    )
    .await;

    let (summary, text) = env.replay(&replay_args(&["--all"])).await;
    assert_eq!(
        (
            summary.replayed,
            summary.skipped_foreign_topic,
            summary.failed
        ),
        (1, 1, 0),
        "{text}"
    );
    assert!(
        text.contains(&format!("x-original-topic names {victim}")),
        "{text}"
    );
    assert!(text.contains(&format!("--to {victim}")), "{text}");
    assert_eq!(
        env.high_watermarks(&victim),
        0,
        "nothing written to the victim topic"
    );
    assert_eq!(env.high_watermarks(&env.topics.orders), 1);

    // Named explicitly, the operator's choice is honoured; the genuine one is not replayed twice.
    let (summary, text) = env.replay(&replay_args(&["--all", "--to", &victim])).await;
    assert_eq!(
        (summary.replayed, summary.skipped_already_replayed),
        (1, 1),
        "{text}"
    );
    assert_eq!(env.high_watermarks(&victim), 1);
}
