//! Typed helpers on [`Client`]: one method per protocol operation, turning the response
//! variant into a plain Rust value so callers never match on `ResponseBody` themselves.

use std::path::Path;
use std::time::Duration;

use cachemgr_proto::{
    AutodumpInfo, Entry, KeyPattern, NamespaceSummary, RequestBody, ResponseBody, RestoreMode,
    RotatedNamespace, ServerInfo, SetCondition,
};
use serde_bytes::ByteBuf;

use crate::client::Client;
use crate::error::ClientError;
use crate::types::{
    absolute_path, response_name, ttl_to_ms, DumpReport, KeyStatus, PatternStats, Progress,
    RestoreReport, StatsReport,
};

/// Page size [`Client::keys`] asks for; the daemon's default too.
pub const KEYS_PAGE: u32 = 1000;

/// The error for a well-formed answer of the wrong variant.
pub(crate) fn unexpected(
    request: &'static str,
    expected: &'static str,
    got: &ResponseBody,
) -> ClientError {
    ClientError::UnexpectedResponse { request, expected, got: response_name(got) }
}

/// Expands to the body of a helper: call, match one variant, else `UnexpectedResponse`. The
/// request's name in that error is the one `cachemgr-proto` derives for the wire, so it is
/// written nowhere here; `$expected` names the answer(s) that would have made sense.
macro_rules! expect {
    ($client:expr, $request:expr, $expected:literal, $pattern:pat => $value:expr) => {{
        let request = $request;
        let op = request.name();
        match $client.call(request).await? {
            $pattern => Ok($value),
            other => Err(unexpected(op, $expected, &other)),
        }
    }};
}

fn strings<K: AsRef<str>>(keys: &[K]) -> Vec<String> {
    keys.iter().map(|key| key.as_ref().to_owned()).collect()
}

impl Client {
    /// Liveness check: succeeds when the daemon answers `pong`.
    pub async fn ping(&self) -> Result<(), ClientError> {
        expect!(self, RequestBody::Ping {}, "pong", ResponseBody::Pong {} => ())
    }

    /// Version, pid, uptime and paths of the running daemon.
    pub async fn info(&self) -> Result<ServerInfo, ClientError> {
        expect!(self, RequestBody::Info {}, "info", ResponseBody::Info(info) => *info)
    }

    /// Counters of one namespace (`Some`) or of all of them plus the total (`None`).
    pub async fn stats(&self, ns: Option<&str>) -> Result<StatsReport, ClientError> {
        let request = RequestBody::Stats { ns: ns.map(str::to_owned) };
        expect!(self, request, "stats",
            ResponseBody::Stats { total, namespaces } => StatsReport { total, namespaces })
    }

    /// Every counter and gauge of the daemon in the Prometheus text format (version 0.0.4),
    /// trimmed like [`Client::stats`] to what this caller may see; for a scraper or exporter
    /// that reaches the daemon through its socket rather than its HTTP endpoint.
    pub async fn metrics(&self) -> Result<String, ClientError> {
        expect!(self, RequestBody::Metrics {}, "metrics",
            ResponseBody::Metrics { text } => text)
    }

    /// The namespaces that exist, sorted by name, with their settings.
    pub async fn list_namespaces(&self) -> Result<Vec<NamespaceSummary>, ClientError> {
        expect!(self, RequestBody::ListNamespaces {}, "namespaces",
            ResponseBody::Namespaces { namespaces } => namespaces)
    }

    /// Stores a value; returns whether it was written (false when `condition` failed).
    /// `ttl`: `None` = the namespace's default TTL, `Some(Duration::ZERO)` = never expires.
    pub async fn set(
        &self,
        ns: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
        ttl: Option<Duration>,
        condition: SetCondition,
    ) -> Result<bool, ClientError> {
        let request = RequestBody::Set {
            ns: ns.to_owned(),
            key: key.to_owned(),
            value: ByteBuf::from(value.into()),
            ttl_ms: ttl.map(ttl_to_ms),
            condition,
        };
        expect!(self, request, "stored", ResponseBody::Stored { stored } => stored)
    }

    /// Reads a value; `None` when the key does not exist (or expired).
    pub async fn get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, ClientError> {
        let request = RequestBody::Get { ns: ns.to_owned(), key: key.to_owned() };
        expect!(self, request, "value",
            ResponseBody::Value { value } => value.map(ByteBuf::into_vec))
    }

    /// Deletes keys; returns how many existed.
    pub async fn delete<K: AsRef<str>>(&self, ns: &str, keys: &[K]) -> Result<u64, ClientError> {
        let request = RequestBody::Delete { ns: ns.to_owned(), keys: strings(keys) };
        expect!(self, request, "count", ResponseBody::Count { count, .. } => count)
    }

    /// Whether a key exists and has not expired.
    pub async fn exists(&self, ns: &str, key: &str) -> Result<bool, ClientError> {
        let request = RequestBody::Exists { ns: ns.to_owned(), key: key.to_owned() };
        expect!(self, request, "count", ResponseBody::Count { count, .. } => count > 0)
    }

    /// `(exists, remaining)`: remaining is `None` when the key is missing or never expires.
    pub async fn ttl(&self, ns: &str, key: &str) -> Result<(bool, Option<Duration>), ClientError> {
        let request = RequestBody::Ttl { ns: ns.to_owned(), key: key.to_owned() };
        expect!(self, request, "ttl",
            ResponseBody::Ttl { exists, ttl_ms } => (exists, ttl_ms.map(Duration::from_millis)))
    }

    /// Gives a key a new TTL from now (`None` removes its expiry); returns whether it exists.
    pub async fn expire(
        &self,
        ns: &str,
        key: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, ClientError> {
        let request = RequestBody::Expire {
            ns: ns.to_owned(),
            key: key.to_owned(),
            ttl_ms: ttl.map(ttl_to_ms),
        };
        expect!(self, request, "ttl", ResponseBody::Ttl { exists, .. } => exists)
    }

    /// Reads many keys in one round trip; one slot per key, in order, `None` where missing.
    pub async fn get_many<K: AsRef<str>>(
        &self,
        ns: &str,
        keys: &[K],
    ) -> Result<Vec<Option<Vec<u8>>>, ClientError> {
        let request = RequestBody::GetMany { ns: ns.to_owned(), keys: strings(keys) };
        expect!(self, request, "values",
            ResponseBody::Values { values } =>
                values.into_iter().map(|value| value.map(ByteBuf::into_vec)).collect())
    }

    /// Writes many entries in one round trip; returns how many were written.
    pub async fn set_many(&self, ns: &str, entries: Vec<Entry>) -> Result<u64, ClientError> {
        let request = RequestBody::SetMany { ns: ns.to_owned(), entries };
        expect!(self, request, "count", ResponseBody::Count { count, .. } => count)
    }

    /// One page of matching keys and the cursor of the next page (`None`: iteration done).
    /// Start with `cursor = 0`; a page may be empty before the end.
    pub async fn keys_page(
        &self,
        ns: &str,
        pattern: Option<KeyPattern>,
        cursor: u64,
        count: u32,
    ) -> Result<(Vec<String>, Option<u64>), ClientError> {
        let request = RequestBody::Keys { ns: ns.to_owned(), pattern, cursor, count };
        expect!(self, request, "keys",
            ResponseBody::Keys { keys, next_cursor } => (keys, next_cursor))
    }

    /// Every matching key, following the cursor to the end; for small namespaces and tests
    /// (use [`Client::keys_page`] to stream large ones).
    pub async fn keys(
        &self,
        ns: &str,
        pattern: Option<KeyPattern>,
    ) -> Result<Vec<String>, ClientError> {
        let mut all = Vec::new();
        let mut cursor = 0;
        loop {
            let (keys, next) = self.keys_page(ns, pattern.clone(), cursor, KEYS_PAGE).await?;
            all.extend(keys);
            match next {
                Some(next) => cursor = next,
                None => return Ok(all),
            }
        }
    }

    /// Counts the keys matching a pattern (`None`: all) and the bytes they hold.
    pub async fn pattern_stats(
        &self,
        ns: &str,
        pattern: Option<KeyPattern>,
    ) -> Result<PatternStats, ClientError> {
        let request = RequestBody::PatternStats { ns: ns.to_owned(), pattern };
        expect!(self, request, "pattern_stats",
            ResponseBody::PatternStats { keys, bytes, with_ttl } =>
                PatternStats { keys, bytes, with_ttl })
    }

    /// Deletes every key matching a pattern; returns how many.
    pub async fn delete_pattern(&self, ns: &str, pattern: KeyPattern) -> Result<u64, ClientError> {
        let request = RequestBody::DeletePattern { ns: ns.to_owned(), pattern };
        expect!(self, request, "count", ResponseBody::Count { count, .. } => count)
    }

    /// Gives every key matching a pattern a new TTL (`None`: never expires); returns how many.
    pub async fn expire_pattern(
        &self,
        ns: &str,
        pattern: KeyPattern,
        ttl: Option<Duration>,
    ) -> Result<u64, ClientError> {
        let request =
            RequestBody::ExpirePattern { ns: ns.to_owned(), pattern, ttl_ms: ttl.map(ttl_to_ms) };
        expect!(self, request, "count", ResponseBody::Count { count, .. } => count)
    }

    /// Drops every entry of a namespace; returns `(entries, bytes)` freed.
    pub async fn clear(&self, ns: &str) -> Result<(u64, u64), ClientError> {
        let request = RequestBody::Clear { ns: ns.to_owned() };
        expect!(self, request, "cleared",
            ResponseBody::Cleared { entries, bytes } => (entries, bytes))
    }

    /// Drops every entry of every namespace; returns `(entries, bytes)` freed.
    pub async fn clear_all(&self) -> Result<(u64, u64), ClientError> {
        expect!(self, RequestBody::ClearAll {}, "cleared",
            ResponseBody::Cleared { entries, bytes } => (entries, bytes))
    }

    /// Makes the daemon re-read its configuration; returns one line per change applied.
    pub async fn reload(&self) -> Result<Vec<String>, ClientError> {
        expect!(self, RequestBody::Reload {}, "reloaded",
            ResponseBody::Reloaded { changes } => changes)
    }

    /// Asks the daemon to stop gracefully; returns once it has acknowledged.
    pub async fn shutdown(&self) -> Result<(), ClientError> {
        expect!(self, RequestBody::Shutdown {}, "done", ResponseBody::Done {} => ())
    }

    /// The key source, its fingerprint, and each namespace's key and rotation.
    pub async fn key_status(&self) -> Result<KeyStatus, ClientError> {
        expect!(self, RequestBody::KeyStatus {}, "key_status",
            ResponseBody::KeyStatus { source, persistent, fingerprint, namespaces } =>
                KeyStatus { source, persistent, fingerprint, namespaces })
    }

    /// Moves one namespace (`Some`) or all of them to a new key, resealing their values (or
    /// dropping them with `clear`); `on_progress` sees each progress report as it arrives.
    pub async fn key_rotate(
        &self,
        ns: Option<&str>,
        clear: bool,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<Vec<RotatedNamespace>, ClientError> {
        let request = RequestBody::KeyRotate { ns: ns.map(str::to_owned), clear };
        let op = request.name();
        match self.streamed(request, &mut on_progress).await? {
            ResponseBody::Rotated { namespaces } => Ok(namespaces),
            other => Err(unexpected(op, "rotated", &other)),
        }
    }

    /// Sends a long request, handing each `progress` response to `on_progress` as a
    /// [`Progress`]; returns the terminal answer. The common half of every streamed call.
    pub(crate) async fn streamed(
        &self,
        request: RequestBody,
        on_progress: &mut impl FnMut(&Progress),
    ) -> Result<ResponseBody, ClientError> {
        self.call_with_progress(request, |body| {
            if let ResponseBody::Progress { ns, done, total, unit } = body {
                on_progress(&Progress {
                    ns: ns.clone(),
                    done: *done,
                    total: *total,
                    unit: unit.clone(),
                });
            }
        })
        .await
    }

    /// Makes the daemon write the entries (of `ns`, matching `pattern`) to a dump file; a
    /// relative `path` is taken from this process's working directory.
    pub async fn dump(
        &self,
        path: &Path,
        ns: Option<&str>,
        pattern: Option<KeyPattern>,
    ) -> Result<DumpReport, ClientError> {
        let request =
            RequestBody::Dump { path: absolute_path(path)?, ns: ns.map(str::to_owned), pattern };
        expect!(self, request, "dumped",
            ResponseBody::Dumped { path, entries, bytes } => DumpReport { path, entries, bytes })
    }

    /// Makes the daemon load a dump file (all of it, or namespace `ns`), merging into or
    /// replacing what is cached; the daemon verifies the whole file before changing anything.
    pub async fn restore(
        &self,
        path: &Path,
        ns: Option<&str>,
        mode: RestoreMode,
    ) -> Result<RestoreReport, ClientError> {
        let request =
            RequestBody::Restore { path: absolute_path(path)?, ns: ns.map(str::to_owned), mode };
        expect!(self, request, "restored",
            ResponseBody::Restored { entries, skipped_expired, namespaces } =>
                RestoreReport { entries, skipped_expired, namespaces })
    }

    /// Schedules a dump to `path` every `every` (replacing any schedule); returns the new state.
    pub async fn autodump_start(
        &self,
        path: &Path,
        every: Duration,
        ns: Option<&str>,
        pattern: Option<KeyPattern>,
    ) -> Result<AutodumpInfo, ClientError> {
        let request = RequestBody::AutodumpStart {
            path: absolute_path(path)?,
            every_ms: ttl_to_ms(every),
            ns: ns.map(str::to_owned),
            pattern,
        };
        expect!(self, request, "autodump", ResponseBody::Autodump(info) => *info)
    }

    /// Changes the interval and/or the file of the running schedule; returns the new state.
    pub async fn autodump_change(
        &self,
        every: Option<Duration>,
        path: Option<&Path>,
    ) -> Result<AutodumpInfo, ClientError> {
        let request = RequestBody::AutodumpChange {
            every_ms: every.map(ttl_to_ms),
            path: path.map(absolute_path).transpose()?,
        };
        expect!(self, request, "autodump", ResponseBody::Autodump(info) => *info)
    }

    /// Stops the schedule (the dumps written stay); returns the new state.
    pub async fn autodump_stop(&self) -> Result<AutodumpInfo, ClientError> {
        expect!(self, RequestBody::AutodumpStop {}, "autodump",
            ResponseBody::Autodump(info) => *info)
    }

    /// The schedule and how its last run went.
    pub async fn autodump_status(&self) -> Result<AutodumpInfo, ClientError> {
        expect!(self, RequestBody::AutodumpStatus {}, "autodump",
            ResponseBody::Autodump(info) => *info)
    }
}
