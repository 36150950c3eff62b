//! Per-caller rate limits (contract §8): governor's GCRA, one cell per caller in a sharded map.
//!
//! Memory stays bounded although callers are not (client addresses when auth is off, or many
//! token subjects): every [`PRUNE_EVERY`] the map drops each caller whose bucket has refilled
//! (indistinguishable from a new caller), so an entry outlives its caller's last request by at
//! most burst ÷ rate plus that period; if more than [`MAX_CALLERS`] are still owing, the map is
//! emptied (each caller then starts with a full burst: fairer than growing without bound).
//! IPv6 clients are keyed by their /64, which one host usually owns whole.

use crate::metrics::ApiMetrics;
use arc_swap::ArcSwap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use pipeline_runtime::shutdown::Shutdown;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How often idle callers are forgotten.
pub const PRUNE_EVERY: Duration = Duration::from_secs(10);
/// Callers tracked at most (about 100 bytes each).
pub const MAX_CALLERS: usize = 200_000;

/// Who a request is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// An API key, by its id.
    ApiKey(Arc<str>),
    /// A JWT, by its `sub`.
    Subject(Arc<str>),
    /// The client address (auth off).
    Address(IpAddr),
}

impl Caller {
    /// The client address as a caller: IPv4 as is, IPv6 by its /64 network.
    pub fn address(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Caller::Address(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    Caller::Address(IpAddr::V6(Ipv6Addr::from(network)))
                }
            },
            v4 => Caller::Address(v4),
        }
    }
}

type Keyed<C> =
    RateLimiter<Caller, DashMapStateStore<Caller>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A rate per caller. Generic over the clock so tests drive time by hand.
pub struct Limiter<C: Clock + Clone = DefaultClock> {
    quota: Quota,
    clock: C,
    /// Replaced whole when it holds too many callers (governor has no `clear`).
    cells: ArcSwap<Keyed<C>>,
}

impl Limiter<DefaultClock> {
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self::with_clock(per_second, burst, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Limiter<C> {
    pub fn with_clock(per_second: NonZeroU32, burst: NonZeroU32, clock: C) -> Self {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        let cells = RateLimiter::dashmap_with_clock(quota, clock.clone());
        Self {
            quota,
            clock,
            cells: ArcSwap::from_pointee(cells),
        }
    }

    /// Counts one request of `caller`; over the rate: the whole seconds (≥ 1) until it may
    /// ask again, for `Retry-After`.
    pub fn check(&self, caller: &Caller) -> Result<(), u64> {
        self.cells.load().check_key(caller).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// Forgets callers whose bucket is full again; returns how many are still tracked.
    pub fn prune(&self) -> usize {
        let cells = self.cells.load();
        cells.retain_recent();
        cells.shrink_to_fit();
        let tracked = cells.len();
        if tracked <= MAX_CALLERS {
            return tracked;
        }
        tracing::warn!(
            callers = tracked,
            "rate limiter: too many callers owing requests; every bucket starts afresh"
        );
        let fresh = RateLimiter::dashmap_with_clock(self.quota, self.clock.clone());
        self.cells.store(Arc::new(fresh));
        0
    }

    /// Prunes every [`PRUNE_EVERY`] until `shutdown`.
    pub async fn maintain(&self, metrics: &ApiMetrics, shutdown: Shutdown) {
        let mut ticks = tokio::time::interval(PRUNE_EVERY);
        loop {
            tokio::select! {
                _ = ticks.tick() => metrics.rate_limited_callers(self.prune()),
                () = shutdown.wait() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
    }

    fn key(id: &str) -> Caller {
        Caller::ApiKey(Arc::from(id))
    }

    #[test]
    fn a_burst_then_the_rate_with_retry_after_in_whole_seconds() {
        let clock = FakeRelativeClock::default();
        // 1 per 2 s is not expressible per second; 1/s with a burst of 3.
        let limiter = Limiter::with_clock(nz(1), nz(3), clock.clone());
        for _ in 0..3 {
            assert_eq!(limiter.check(&key("a")), Ok(()));
        }
        assert_eq!(limiter.check(&key("a")), Err(1));
        // Callers do not share buckets.
        assert_eq!(limiter.check(&key("b")), Ok(()));
        clock.advance(Duration::from_millis(999));
        assert_eq!(limiter.check(&key("a")), Err(1), "rounded up, never 0");
        clock.advance(Duration::from_millis(1));
        assert_eq!(limiter.check(&key("a")), Ok(()));
        assert_eq!(limiter.check(&key("a")), Err(1));
    }

    #[test]
    fn slow_rates_say_how_many_seconds_to_wait() {
        let clock = FakeRelativeClock::default();
        let limiter = Limiter::with_clock(nz(1), nz(1), clock.clone());
        assert_eq!(limiter.check(&key("a")), Ok(()));
        clock.advance(Duration::from_millis(100));
        assert_eq!(limiter.check(&key("a")), Err(1));
        let fast = Limiter::with_clock(nz(1000), nz(1), clock.clone());
        assert_eq!(fast.check(&key("a")), Ok(()));
        assert_eq!(fast.check(&key("a")), Err(1), "1 ms left is still 1 s");
    }

    #[test]
    fn idle_callers_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let limiter = Limiter::with_clock(nz(10), nz(20), clock.clone());
        for n in 0..1000u32 {
            let ip = IpAddr::from([10, 0, (n >> 8) as u8, n as u8]);
            assert_eq!(limiter.check(&Caller::address(ip)), Ok(()));
        }
        assert_eq!(limiter.prune(), 1000);
        // A full bucket of 20 refills in 2 s.
        clock.advance(Duration::from_secs(2));
        assert_eq!(limiter.prune(), 0);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        let b: IpAddr = "2001:db8:1:2:bbbb::2"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(Caller::address(a), Caller::address(b));
        assert_ne!(Caller::address(a), Caller::address(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(
            Caller::address(mapped),
            Caller::address(IpAddr::from([192, 0, 2, 7]))
        );
    }
}
