//! The circuit breaker in front of Redis.
//!
//! Hand-written rather than a crate: it is twenty lines of state, and it has to expose its
//! state and history to `cachectl status`, which the breaker crates keep private.
//!
//! Closed: requests go to Redis; `failures` consecutive failures open it. Open: requests are
//! served locally at once, without touching the network. After `cool_down` one probe (the
//! supervisor's PING) is let through (half-open): success closes the breaker, failure opens
//! it for another `cool_down`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where the breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Redis is used.
    Closed,
    /// Redis is skipped; everything is served locally.
    Open,
    /// One probe is checking whether Redis is back; requests are still served locally.
    HalfOpen,
}

impl BreakerState {
    /// The name `status` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    since: Instant,
    times_opened: u64,
}

/// A thread-safe breaker; every call is a short uncontended lock.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

/// What a state change was, so the caller can log it and react.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changed.
    None,
    /// The breaker just opened.
    Opened,
    /// The breaker just closed (Redis is back).
    Closed,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cool_down: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cool_down,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                since: Instant::now(),
                times_opened: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a request may go to Redis now.
    pub fn allows(&self) -> bool {
        self.lock().state == BreakerState::Closed
    }

    /// Records a request that reached Redis.
    pub fn success(&self) -> Transition {
        let mut inner = self.lock();
        inner.consecutive_failures = 0;
        if inner.state == BreakerState::Closed {
            return Transition::None;
        }
        inner.state = BreakerState::Closed;
        inner.since = Instant::now();
        Transition::Closed
    }

    /// Records a request that failed for want of Redis.
    pub fn failure(&self) -> Transition {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let trips = inner.consecutive_failures >= self.threshold;
        if inner.state == BreakerState::HalfOpen || (inner.state == BreakerState::Closed && trips) {
            inner.state = BreakerState::Open;
            inner.since = Instant::now();
            inner.times_opened += 1;
            return Transition::Opened;
        }
        Transition::None
    }

    /// Moves an open breaker whose cool-down has passed to half-open; true when the caller
    /// should now send the probe.
    pub fn probe_due(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        if inner.state == BreakerState::Open && now.duration_since(inner.since) >= self.cool_down {
            inner.state = BreakerState::HalfOpen;
            return true;
        }
        false
    }

    /// State, consecutive failures, time in this state, and how often it opened.
    pub fn snapshot(&self) -> (BreakerState, u32, Duration, u64) {
        let inner = self.lock();
        (inner.state, inner.consecutive_failures, inner.since.elapsed(), inner.times_opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_probes_after_cool_down_and_closes_on_success() {
        let breaker = Breaker::new(3, Duration::from_millis(50));
        assert_eq!(breaker.failure(), Transition::None);
        assert_eq!(breaker.failure(), Transition::None);
        assert!(breaker.allows());
        assert_eq!(breaker.failure(), Transition::Opened);
        assert!(!breaker.allows());
        assert!(!breaker.probe_due(Instant::now()));
        let later = Instant::now() + Duration::from_millis(60);
        assert!(breaker.probe_due(later));
        assert_eq!(breaker.snapshot().0, BreakerState::HalfOpen);
        assert!(!breaker.allows(), "half-open lets only the probe through");
        assert!(!breaker.probe_due(later), "one probe at a time");
        assert_eq!(breaker.success(), Transition::Closed);
        assert!(breaker.allows());
        assert_eq!(breaker.snapshot().3, 1);
    }

    #[test]
    fn a_failed_probe_opens_again_and_a_success_resets_the_count() {
        let breaker = Breaker::new(2, Duration::ZERO);
        breaker.failure();
        breaker.success();
        assert_eq!(breaker.failure(), Transition::None, "count was reset by the success");
        assert_eq!(breaker.failure(), Transition::Opened);
        assert!(breaker.probe_due(Instant::now()));
        assert_eq!(breaker.failure(), Transition::Opened);
        assert_eq!(breaker.snapshot().3, 2);
    }
}
