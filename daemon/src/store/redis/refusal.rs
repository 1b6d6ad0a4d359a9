//! Redis refusing a request, told apart from Redis being out of reach.
//!
//! Out of reach (I/O error, timeout, connection refused or dropped) is an outage: the breaker
//! counts it and the daemon serves from its local layers. A refusal is Redis answering with an
//! error (`OOM` at `maxmemory` with `noeviction`, `READONLY` on a replica, `NOPERM`, an invalid
//! argument): Redis is there and did not do what was asked, so the request fails with that
//! answer. A write served locally instead would be acknowledged while every other daemon goes
//! on reading Redis's old value.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Redis answered a request with an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Redis refused {what}: {answer}{}", more(*.commands))]
pub struct Refused {
    /// The request (`SET`, `UNLINK`, ...).
    pub what: &'static str,
    /// Redis's answer as it sent it (e.g. `OOM command not allowed when used memory >
    /// 'maxmemory'.`), the first one when several commands of a pipeline were refused.
    pub answer: String,
    /// The error code (`OOM`, `READONLY`, `ERR`, ...); `None` when the answer was not a Redis
    /// error reply (a reply of an unexpected shape).
    pub code: Option<String>,
    /// How many commands of the request Redis refused.
    pub commands: usize,
}

fn more(commands: usize) -> String {
    if commands > 1 {
        format!(" ({commands} commands refused)")
    } else {
        String::new()
    }
}

/// Codes that mean "not now" rather than "never": a replica during a failover, a dataset
/// still loading, a busy script, a cluster reconfiguring.
const TRANSIENT: [&str; 6] =
    ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", "READONLY"];

impl Refused {
    /// Builds the refusal of `what` from the client's error, with Redis's own wording.
    pub fn from_error(what: &'static str, err: &redis::RedisError) -> Refused {
        let replies = err.clone().into_server_errors().filter(|replies| !replies.is_empty());
        let Some(replies) = replies else {
            return Refused { what, answer: err.to_string(), code: None, commands: 1 };
        };
        let first = &replies[0].1;
        let answer = match first.details() {
            Some(details) => format!("{} {details}", first.code()),
            None => first.code().to_owned(),
        };
        Refused { what, answer, code: Some(first.code().to_owned()), commands: replies.len() }
    }

    /// Whether Redis is likely to accept the request later without anyone changing anything
    /// (the caller may retry); otherwise an operator has to act (free memory, fix an ACL).
    pub fn transient(&self) -> bool {
        self.code.as_deref().is_some_and(|code| TRANSIENT.contains(&code))
    }
}

/// What the layer remembers of refusals: how many, and whether Redis is refusing writes now.
#[derive(Debug, Default)]
pub struct Refusals {
    count: AtomicU64,
    refusing: AtomicBool,
    since: Mutex<Option<(Instant, String)>>,
}

impl Refusals {
    /// Counts a refused request; a refused write marks Redis as refusing writes (with its
    /// answer) until a `SET` is accepted again.
    pub fn note(&self, refused: &Refused, write: bool) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if write {
            let mut since = self.since.lock().unwrap_or_else(PoisonError::into_inner);
            let started = since.as_ref().map_or_else(Instant::now, |(at, _)| *at);
            *since = Some((started, refused.to_string()));
            self.refusing.store(true, Ordering::Release);
        }
    }

    /// Redis accepted a `SET` (a client's or the write probe's): it is not refusing writes
    /// (any more).
    pub fn accepted(&self) {
        if self.refusing.swap(false, Ordering::AcqRel) {
            *self.since.lock().unwrap_or_else(PoisonError::into_inner) = None;
            tracing::info!("Redis accepts writes again");
        }
    }

    /// Whether Redis refused the last write it was sent (or the last write probe).
    pub fn refusing(&self) -> bool {
        self.refusing.load(Ordering::Acquire)
    }

    /// Since when Redis refuses writes and its last answer, while it does.
    pub fn current(&self) -> Option<(Duration, String)> {
        let since = self.since.lock().unwrap_or_else(PoisonError::into_inner);
        since.as_ref().map(|(at, answer)| (at.elapsed(), answer.clone()))
    }

    /// Requests Redis refused since the daemon started.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error the client makes of an error reply, through its own parser.
    fn server_error(reply: &str) -> redis::RedisError {
        match redis::parse_redis_value(format!("-{reply}\r\n").as_bytes()) {
            Ok(redis::Value::ServerError(error)) => error.into(),
            other => panic!("not an error reply: {other:?}"),
        }
    }

    #[test]
    fn a_refusal_names_redis_s_own_answer() {
        let oom = "OOM command not allowed when used memory > 'maxmemory'.";
        let refused = Refused::from_error("SET", &server_error(oom));
        assert_eq!(refused.answer, oom);
        assert_eq!(refused.code.as_deref(), Some("OOM"));
        assert_eq!(refused.to_string(), format!("Redis refused SET: {oom}"));
        assert!(!refused.transient(), "out of memory stays so until someone frees memory");

        let readonly = "READONLY You can't write against a read only replica.";
        let refused = Refused::from_error("UNLINK", &server_error(readonly));
        assert_eq!(refused.answer, readonly);
        assert_eq!(refused.code.as_deref(), Some("READONLY"));
        assert!(refused.transient(), "a replica refuses writes during a failover");
    }

    #[test]
    fn marks_refusing_on_a_refused_write_only_and_clears_on_an_accepted_one() {
        let refusals = Refusals::default();
        let refused = Refused::from_error("GET", &server_error("NOPERM no permissions"));
        refusals.note(&refused, false);
        assert_eq!(refusals.count(), 1);
        assert!(!refusals.refusing(), "a refused read says nothing about writes");
        let refused = Refused::from_error("SET", &server_error("OOM out of memory"));
        refusals.note(&refused, true);
        assert!(refusals.refusing());
        let (_, answer) = refusals.current().expect("refusing");
        assert!(answer.contains("OOM out of memory"), "{answer}");
        refusals.accepted();
        assert!(!refusals.refusing());
        assert_eq!(refusals.current(), None);
        assert_eq!(refusals.count(), 2, "the count is a total, not a state");
    }
}
