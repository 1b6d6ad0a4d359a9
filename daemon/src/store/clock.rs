//! The cache clock: milliseconds since the daemon started, monotonic, never 0.
//!
//! Deadlines are stored as these `u64`s (0 means "never expires"), which is both smaller than
//! an `Instant` and immune to wall-clock jumps.

use std::time::{Duration, Instant};

/// Monotonic millisecond clock anchored at the daemon's start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self { origin: Instant::now() }
    }

    /// The current time in cache-clock milliseconds (≥ 1).
    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64 + 1
    }

    /// The deadline `ttl_ms` from now; a TTL of 0 means no deadline.
    pub fn deadline_after(&self, ttl_ms: u64) -> u64 {
        if ttl_ms == 0 {
            0
        } else {
            self.now_ms().saturating_add(ttl_ms)
        }
    }

    /// The instant a cache-clock deadline falls on, for timers.
    pub fn instant_of(&self, deadline_ms: u64) -> Instant {
        self.origin + Duration::from_millis(deadline_ms.saturating_sub(1))
    }
}
