//! Small result types and conversions of the typed client API, kept apart from the calls so
//! the call file reads as a list of operations.

use std::time::Duration;

use std::path::Path;

use cachemgr_proto::{CacheStats, NamespaceKey, NamespaceStats, ResponseBody};
use serde::Serialize;

use crate::error::ClientError;

/// Answer of [`crate::Client::stats`]: the sum and the per-namespace rows, as the daemon sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    /// Sum over the namespaces listed.
    pub total: CacheStats,
    /// One row per namespace.
    pub namespaces: Vec<NamespaceStats>,
}

/// Answer of [`crate::Client::pattern_stats`]: what a pattern operation would touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PatternStats {
    /// Matching keys.
    pub keys: u64,
    /// Bytes of their keys and values.
    pub bytes: u64,
    /// How many of them have a TTL.
    pub with_ttl: u64,
}

/// Answer of [`crate::Client::key_status`]: the key source and each namespace's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStatus {
    /// The key source (`keyring`, `credential`, `env`, `file`, `ephemeral`).
    pub source: String,
    /// Whether the key survives a daemon restart (false: ephemeral).
    pub persistent: bool,
    /// A short fingerprint of the master key, to compare hosts.
    pub fingerprint: String,
    /// One row per namespace, sorted by name.
    pub namespaces: Vec<NamespaceKey>,
}

/// One `progress` report of a long request, handed to the caller's callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// What is being worked on: a namespace or an app.
    pub ns: String,
    /// Units done in it so far.
    pub done: u64,
    /// Units to do in it.
    pub total: u64,
    /// What is counted: `None` = entries; `bytes`, `files` or `steps`.
    pub unit: Option<String>,
}

impl Progress {
    /// Fraction done, 0.0 ..= 1.0; an empty namespace counts as done.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            (self.done as f64 / self.total as f64).min(1.0)
        }
    }
}

/// Answer of [`crate::Client::dump`]: the file is complete and in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpReport {
    /// The file written (absolute).
    pub path: String,
    /// Entries written.
    pub entries: u64,
    /// Size of the file.
    pub bytes: u64,
}

/// Answer of [`crate::Client::restore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// Entries loaded.
    pub entries: u64,
    /// Entries left out because their TTL had passed.
    pub skipped_expired: u64,
    /// Namespaces written to, sorted.
    pub namespaces: Vec<String>,
}

/// The absolute, UTF-8 form of a path the daemon will open: the daemon has its own working
/// directory, so a relative path is resolved against this process's one first (without
/// touching the file system, so a dump target need not exist yet).
pub fn absolute_path(path: &Path) -> Result<String, ClientError> {
    let absolute = std::path::absolute(path).map_err(|err| {
        ClientError::InvalidArgument(format!("cannot make {} absolute: {err}", path.display()))
    })?;
    absolute.into_os_string().into_string().map_err(|raw| {
        ClientError::InvalidArgument(format!(
            "{} is not valid UTF-8, which the protocol needs for paths",
            Path::new(&raw).display()
        ))
    })
}

/// Converts a TTL to the wire's milliseconds, rounding up so that a short non-zero TTL never
/// becomes 0 (which the protocol reads as "no expiry"), and saturating instead of wrapping.
pub fn ttl_to_ms(ttl: Duration) -> u64 {
    let ms =
        ttl.as_millis().saturating_add(u128::from(!ttl.subsec_nanos().is_multiple_of(1_000_000)));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// Wire name of a response variant, for [`crate::ClientError::UnexpectedResponse`].
pub fn response_name(body: &ResponseBody) -> &'static str {
    body.name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_become_absolute() -> Result<(), ClientError> {
        let cwd =
            std::env::current_dir().map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        let expected = cwd.join("dumps/x.cmdump").display().to_string();
        assert_eq!(absolute_path(Path::new("dumps/x.cmdump"))?, expected);
        assert_eq!(absolute_path(Path::new("/var/x"))?, "/var/x");
        let bad = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"/tmp/\xff");
        assert!(matches!(absolute_path(Path::new(bad)), Err(ClientError::InvalidArgument(_))));
        Ok(())
    }

    #[test]
    fn progress_fraction() {
        let at = |done, total| Progress { ns: "n".into(), done, total, unit: None }.fraction();
        assert_eq!(at(45, 100), 0.45);
        assert_eq!(at(0, 0), 1.0);
        assert_eq!(at(7, 5), 1.0);
    }

    #[test]
    fn ttl_rounds_up_to_the_millisecond() {
        assert_eq!(ttl_to_ms(Duration::ZERO), 0);
        assert_eq!(ttl_to_ms(Duration::from_micros(1)), 1);
        assert_eq!(ttl_to_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(ttl_to_ms(Duration::from_micros(1500)), 2);
        assert_eq!(ttl_to_ms(Duration::MAX), u64::MAX);
    }
}
