//! The cache clock: milliseconds since the daemon started, monotonic, never 0.
//!
//! Deadlines are stored as these `u64`s (0 means "never expires"), which is both smaller than
//! an `Instant` and immune to wall-clock jumps.

use std::time::{Duration, Instant};

/// Monotonic millisecond clock anchored at the daemon's start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    /// Wall-clock unix ms at `origin`, to translate disk expiries (which must survive a
    /// restart) to and from cache-clock deadlines.
    origin_unix_ms: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self { origin: Instant::now(), origin_unix_ms: super::disk::unix_now_ms() }
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

    /// The unix-ms expiry of a cache-clock deadline (0 stays 0 = never).
    pub fn unix_of(&self, deadline_ms: u64) -> u64 {
        if deadline_ms == 0 {
            0
        } else {
            self.origin_unix_ms + deadline_ms
        }
    }

    /// The cache-clock deadline of a unix-ms expiry (0 stays 0; a past one becomes 1).
    pub fn deadline_of_unix(&self, unix_ms: u64) -> u64 {
        if unix_ms == 0 {
            0
        } else {
            unix_ms.saturating_sub(self.origin_unix_ms).max(1)
        }
    }

    /// The instant a cache-clock deadline falls on, for timers.
    pub fn instant_of(&self, deadline_ms: u64) -> Instant {
        self.origin + Duration::from_millis(deadline_ms.saturating_sub(1))
    }
}

/// Wall-clock Unix time in milliseconds (0 if the clock is before 1970), for timestamps
/// people read: backup times, schedules.
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
