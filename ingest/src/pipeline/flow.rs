//! Flow control: the one place that pauses and resumes partitions. Everything else only says
//! *why* consumption should stop — a hold on every partition (a dependency outage, batches that
//! stopped settling) or one retry partition parked until its next record is due — and
//! [`Flow::apply`] turns the sum of those reasons into pause/resume calls. It runs on the consume
//! loop's thread (the loop, and the rebalance callbacks librdkafka calls from its poll), so pauses
//! for different reasons never undo each other and librdkafka's pause state is only ever changed
//! from here. Every reason is also a named stall ([`Flow::stalls`]): `/readyz` and the metric
//! `ingest_stalled{reason}` show them in the same words.

use super::record::TopicPartition;
pub use super::stall::{Hold, HoldReason, Parked, RETRY_PARKED};
use super::state::{list, lock, partitions_of};
use crate::events::Events;
use crate::health::Stall;
use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::TopicPartitionList;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct FlowState {
    next_id: u64,
    holds: BTreeMap<u64, Hold>,
    parked: HashMap<TopicPartition, Parked>,
    /// What librdkafka was last told: these partitions are paused.
    paused: HashSet<TopicPartition>,
    /// Something changed since the last [`Flow::apply`].
    dirty: bool,
}

impl FlowState {
    fn holding(&self) -> bool {
        !self.holds.is_empty()
    }

    fn count(&self, reason: HoldReason) -> usize {
        self.holds.values().filter(|h| h.reason == reason).count()
    }

    fn should_pause(&self, tp: &TopicPartition) -> bool {
        self.holding() || self.parked.contains_key(tp)
    }
}

#[derive(Debug)]
pub struct Flow {
    state: Mutex<FlowState>,
    /// Wakes the consume loop when a batch task changed what should be paused.
    changed: Notify,
    events: Events,
}

/// Keeps its hold while alive; dropping it releases the hold (however the holder ends).
#[derive(Debug)]
pub struct HoldGuard<'a> {
    flow: &'a Flow,
    id: u64,
}

impl HoldGuard<'_> {
    /// The cause changed (e.g. another error while still unavailable).
    pub fn update(&self, cause: &str) {
        let mut state = lock(&self.flow.state);
        let Some(hold) = state.holds.get_mut(&self.id) else {
            return;
        };
        if hold.cause == cause {
            return;
        }
        hold.cause = cause.to_owned();
        drop(state);
        self.flow.publish();
    }

    pub fn reason(&self) -> Option<HoldReason> {
        lock(&self.flow.state).holds.get(&self.id).map(|h| h.reason)
    }
}

impl Drop for HoldGuard<'_> {
    fn drop(&mut self) {
        self.flow.release(self.id);
    }
}

impl Flow {
    pub fn new(events: Events) -> Self {
        Self {
            state: Mutex::default(),
            changed: Notify::new(),
            events,
        }
    }

    /// Holds every partition for `reason` until the guard is dropped.
    pub fn hold(&self, reason: HoldReason, cause: &str) -> HoldGuard<'_> {
        let mut state = lock(&self.state);
        state.next_id += 1;
        let id = state.next_id;
        self.start(state, id, reason, cause);
        HoldGuard { flow: self, id }
    }

    /// Sets or clears the one hold of `reason` that no single task owns (a condition seen in
    /// librdkafka's statistics, such as every broker being unreachable).
    pub fn set_condition(&self, reason: HoldReason, cause: Option<&str>) {
        let id = u64::MAX - reason as u64;
        let state = lock(&self.state);
        let present = state.holds.contains_key(&id);
        match cause {
            Some(cause) if !present => self.start(state, id, reason, cause),
            None if present => {
                drop(state);
                self.release(id);
            }
            _ => {}
        }
    }

    /// Records hold `id`, then (with the lock released) reports the reason's first hold, wakes
    /// the consume loop and publishes the new state.
    fn start(
        &self,
        mut state: MutexGuard<'_, FlowState>,
        id: u64,
        reason: HoldReason,
        cause: &str,
    ) {
        let first = state.count(reason) == 0;
        let hold = Hold {
            reason,
            cause: cause.to_owned(),
            since: SystemTime::now(),
            started: Instant::now(),
        };
        state.holds.insert(id, hold);
        state.dirty = true;
        drop(state);
        if first {
            self.events.hold_started(reason, cause);
        }
        self.changed.notify_one();
        self.publish();
    }

    fn release(&self, id: u64) {
        let mut state = lock(&self.state);
        let Some(hold) = state.holds.remove(&id) else {
            return;
        };
        let last = state.count(hold.reason) == 0;
        state.dirty = true;
        drop(state);
        if last {
            self.events.hold_ended(hold.reason, hold.started.elapsed());
        }
        self.changed.notify_one();
        self.publish();
    }

    /// Every partition is held (for any reason).
    pub fn holding(&self) -> bool {
        lock(&self.state).holding()
    }

    /// The holds active now, oldest first.
    pub fn holds(&self) -> Vec<Hold> {
        lock(&self.state).holds.values().cloned().collect()
    }

    /// Pauses one retry partition until `due`.
    pub fn park(&self, tp: &TopicPartition, due: tokio::time::Instant) {
        let now = SystemTime::now();
        let parked = Parked {
            due,
            due_at: now + due.saturating_duration_since(tokio::time::Instant::now()),
            since: now,
        };
        let mut state = lock(&self.state);
        state.parked.insert(tp.clone(), parked);
        state.dirty = true;
        drop(state);
        self.publish();
    }

    pub fn unpark(&self, tp: &TopicPartition) {
        let mut state = lock(&self.state);
        if state.parked.remove(tp).is_some() {
            state.dirty = true;
            drop(state);
            self.publish();
        }
    }

    /// Every reason for no progress now, holds first (oldest first; batches held for the same
    /// reason and cause count once), then parked partitions.
    pub fn stalls(&self) -> Vec<Stall> {
        let state = lock(&self.state);
        let mut holds: BTreeMap<(HoldReason, &str), SystemTime> = BTreeMap::new();
        for hold in state.holds.values() {
            let since = holds
                .entry((hold.reason, hold.cause.as_str()))
                .or_insert(hold.since);
            *since = (*since).min(hold.since);
        }
        let mut stalls: Vec<Stall> = holds
            .into_iter()
            .map(|((reason, cause), since)| Stall {
                reason: reason.label(),
                dependency: reason.dependency(),
                cause: cause.to_owned(),
                since,
                blocking: true,
            })
            .collect();
        stalls.sort_by_key(|s| s.since);
        let mut parked: Vec<_> = state.parked.iter().collect();
        parked.sort_by(|a, b| a.0.cmp(b.0));
        stalls.extend(
            parked
                .into_iter()
                .map(|(tp, p)| super::stall::parked(tp, p.due_at, p.since)),
        );
        stalls
    }

    /// Hands the current stalls to `/readyz` and the metrics.
    fn publish(&self) {
        self.events.stalls_changed(self.stalls());
    }

    /// Resolves once something changed that [`Flow::apply`] should act on.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Whether [`Flow::apply`] has anything to do.
    pub fn needs_apply(&self) -> bool {
        lock(&self.state).dirty
    }

    /// Brings librdkafka's pause state of the current assignment in line with the reasons.
    pub fn apply<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K) {
        let assignment = match consumer.assignment() {
            Ok(assignment) => partitions_of(&assignment),
            Err(err) => return self.events.offsets_failed("assignment", &err),
        };
        let mut state = lock(&self.state);
        state.dirty = false;
        let desired: HashSet<TopicPartition> = assignment
            .iter()
            .filter(|tp| state.should_pause(tp))
            .cloned()
            .collect();
        let pause: Vec<TopicPartition> = desired.difference(&state.paused).cloned().collect();
        let resume: Vec<TopicPartition> = assignment
            .iter()
            .filter(|tp| state.paused.contains(*tp) && !desired.contains(*tp))
            .cloned()
            .collect();
        state.paused = desired;
        drop(state);
        self.set(consumer, &pause, &resume);
    }

    /// Newly assigned partitions: librdkafka keeps an application pause across revoke and
    /// assign, so each one's state is set explicitly.
    pub fn assigned<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
        tpl: &TopicPartitionList,
    ) {
        let assigned = partitions_of(tpl);
        let mut state = lock(&self.state);
        let (pause, resume): (Vec<_>, Vec<_>) =
            assigned.into_iter().partition(|tp| state.should_pause(tp));
        for tp in &pause {
            state.paused.insert(tp.clone());
        }
        for tp in &resume {
            state.paused.remove(tp);
        }
        drop(state);
        self.set(consumer, &pause, &resume);
    }

    /// Revoked partitions are neither parked nor paused by us any more.
    pub fn revoked(&self, partitions: &[TopicPartition]) {
        let mut state = lock(&self.state);
        for tp in partitions {
            state.parked.remove(tp);
            state.paused.remove(tp);
        }
        drop(state);
        self.publish();
    }

    fn set<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
        pause: &[TopicPartition],
        resume: &[TopicPartition],
    ) {
        if !pause.is_empty() {
            if let Err(err) = consumer.pause(&list(pause)) {
                self.events.offsets_failed("pause", &err);
            }
        }
        if !resume.is_empty() {
            if let Err(err) = consumer.resume(&list(resume)) {
                self.events.offsets_failed("resume", &err);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;
    use crate::metrics::IngestMetrics;
    use std::sync::Arc;

    fn flow() -> Flow {
        let metrics = Arc::new(IngestMetrics::new().expect("metrics"));
        Flow::new(Events::new(metrics, Arc::new(Health::default())))
    }

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition {
            topic: "orders.retry".into(),
            partition,
        }
    }

    #[test]
    fn holds_of_different_reasons_do_not_release_each_other() {
        let flow = flow();
        let outage = flow.hold(HoldReason::DependencyUnavailable, "refused");
        let second = flow.hold(HoldReason::DependencyUnavailable, "refused");
        let stuck = flow.hold(HoldReason::BatchStuck, "no batch settled");
        drop(outage);
        assert!(flow.holding());
        drop(stuck);
        assert!(flow.holding(), "the second batch still waits");
        second.update("timeout");
        assert_eq!(flow.holds()[0].cause, "timeout");
        drop(second);
        assert!(!flow.holding());
        assert!(flow.needs_apply());
    }

    #[test]
    fn a_parked_partition_is_paused_until_unparked_and_named_meanwhile() {
        let flow = flow();
        flow.park(&tp(0), tokio::time::Instant::now());
        let state = lock(&flow.state);
        assert!(state.should_pause(&tp(0)) && !state.should_pause(&tp(1)));
        drop(state);
        let stalls = flow.stalls();
        assert_eq!(stalls.len(), 1);
        assert_eq!(
            (stalls[0].reason, stalls[0].blocking),
            (RETRY_PARKED, false)
        );
        assert!(
            stalls[0].cause.starts_with("orders.retry/0 paused"),
            "{}",
            stalls[0].cause
        );
        flow.revoked(&[tp(0)]);
        assert!(flow.stalls().is_empty());
    }

    #[test]
    fn a_condition_is_set_once_and_cleared() {
        let flow = flow();
        flow.set_condition(HoldReason::KafkaUnavailable, Some("Kafka: no broker is up"));
        flow.set_condition(HoldReason::KafkaUnavailable, Some("Kafka: still none"));
        assert_eq!(flow.holds().len(), 1);
        let stall = &flow.stalls()[0];
        assert_eq!(
            (stall.reason, stall.dependency),
            ("kafka_unavailable", "kafka")
        );
        flow.set_condition(HoldReason::KafkaUnavailable, None);
        assert!(!flow.holding());
    }
}
