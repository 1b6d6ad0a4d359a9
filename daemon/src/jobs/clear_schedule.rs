//! Scheduled clears: each namespace with `clear_every` and/or `clear_at` is cleared on that
//! schedule (rules in [`timing`]). [`ClearScheduler`] owns the schedule state and its timer.
//!
//! The last run of each namespace is persisted atomically in `<state_dir>/clear_schedule.json`
//! (`{"version": 1, "namespaces": {"<ns>": {"since_unix_ms": …, "last_run_unix_ms": …,
//! "last_result": "…"}}}`), so a clear that fell due while the daemon was down runs as soon
//! as it starts again, with a log line saying it catches up. `since_unix_ms` is when the
//! schedule was first seen: the anchor of a namespace that never ran. One task sleeps until
//! the earliest due time (woken early by a reload); no polling.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cachemgr_proto::ClearScheduleInfo;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::atomic_file::write_atomic;
use crate::config::Config;
use crate::store::clock::unix_ms_now;
use crate::store::Store;

pub use crate::config::clear_timing as timing;

pub use timing::{next_run, plan_for, validate, ClearPlan};

/// Name of the state file inside the state directory.
pub const STATE_FILE: &str = "clear_schedule.json";
const STATE_VERSION: u32 = 1;
/// Longest sleep between wake-ups: the wall clock is re-read at least this often, so a clock
/// change or a suspend delays a clear by at most this much.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// Why the schedule state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Not JSON of the expected shape.
    #[error("the clear schedule state file {} is unreadable: {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// Written by another version.
    #[error("the clear schedule state file {} has version {found}; this daemon reads {STATE_VERSION}", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// Reading or writing failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What is remembered of one namespace's schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    since_unix_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_run_unix_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_result: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Persisted {
    version: u32,
    #[serde(default)]
    namespaces: BTreeMap<String, Entry>,
}

/// Owner of the scheduled clears (see the module docs).
#[derive(Debug)]
pub struct ClearScheduler {
    file: PathBuf,
    state: Mutex<Persisted>,
    wake: Notify,
    started_unix_ms: u64,
}

impl ClearScheduler {
    /// Loads `<state_dir>/clear_schedule.json` (absent = nothing ran yet).
    pub fn load(state_dir: &Path) -> Result<Arc<ClearScheduler>, ScheduleError> {
        let file = state_dir.join(STATE_FILE);
        let state = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice::<Persisted>(&bytes)
                .map_err(|source| ScheduleError::Corrupt { path: file.clone(), source })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Persisted { version: STATE_VERSION, ..Persisted::default() }
            }
            Err(source) => return Err(ScheduleError::Io { path: file, source }),
        };
        if state.version != STATE_VERSION {
            return Err(ScheduleError::UnsupportedVersion { path: file, found: state.version });
        }
        Ok(Arc::new(ClearScheduler {
            file,
            state: Mutex::new(state),
            wake: Notify::new(),
            started_unix_ms: unix_ms_now(),
        }))
    }

    /// Makes the loop re-read the config (after a reload).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Every schedule of `config`, sorted by namespace, with last and next runs.
    pub fn list(&self, config: &Config) -> Vec<ClearScheduleInfo> {
        let now = unix_ms_now();
        let state = self.lock();
        plans(config)
            .into_iter()
            .map(|(ns, plan)| {
                let entry = state.namespaces.get(&ns).cloned().unwrap_or_default();
                let anchor = entry.last_run_unix_ms.unwrap_or(if entry.since_unix_ms == 0 {
                    now
                } else {
                    entry.since_unix_ms
                });
                ClearScheduleInfo {
                    next_run_unix_ms: next_run(plan, anchor, &TimeZone::system()),
                    ns,
                    every_ms: plan.every_ms,
                    at: plan.at.map(|at| at.to_string()),
                    last_run_unix_ms: entry.last_run_unix_ms,
                    last_result: entry.last_result,
                }
            })
            .collect()
    }

    /// Runs until `shutdown`: clears each namespace when due, records and persists the run.
    pub async fn run(self: Arc<Self>, store: Arc<Store>, shutdown: CancellationToken) {
        loop {
            let config = store.current_config();
            let now = unix_ms_now();
            self.adopt(&config, now);
            let mut next_wake = now.saturating_add(MAX_SLEEP.as_millis() as u64);
            for row in self.list(&config) {
                if row.next_run_unix_ms > now {
                    next_wake = next_wake.min(row.next_run_unix_ms);
                    continue;
                }
                if row.next_run_unix_ms < self.started_unix_ms {
                    tracing::warn!(
                        namespace = %row.ns,
                        due_unix_ms = row.next_run_unix_ms,
                        "a scheduled clear was missed while the daemon was down; catching up now"
                    );
                }
                let result = match store.clear(&row.ns).await {
                    Ok((entries, bytes)) => {
                        tracing::info!(namespace = %row.ns, entries, bytes, "scheduled clear: namespace cleared");
                        format!("{entries} entries, {bytes} bytes")
                    }
                    Err(err) => {
                        tracing::error!(namespace = %row.ns, "scheduled clear failed: {err}");
                        format!("failed: {err}")
                    }
                };
                self.record(&row.ns, now, result);
                next_wake = now;
            }
            let sleep = Duration::from_millis(next_wake.saturating_sub(unix_ms_now()));
            if sleep.is_zero() {
                continue;
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Remembers when each new schedule was first seen; forgets namespaces without one.
    fn adopt(&self, config: &Config, now: u64) {
        let plans = plans(config);
        let mut state = self.lock();
        let before = state.clone();
        state.namespaces.retain(|ns, _| plans.contains_key(ns));
        for ns in plans.keys() {
            state
                .namespaces
                .entry(ns.clone())
                .or_insert_with(|| Entry { since_unix_ms: now, ..Entry::default() });
        }
        if *state != before {
            self.save(&state);
        }
    }

    fn record(&self, ns: &str, at: u64, result: String) {
        let mut state = self.lock();
        let entry = state
            .namespaces
            .entry(ns.to_owned())
            .or_insert_with(|| Entry { since_unix_ms: at, ..Entry::default() });
        entry.last_run_unix_ms = Some(at);
        entry.last_result = Some(result);
        self.save(&state);
    }

    fn save(&self, state: &Persisted) {
        let written =
            serde_json::to_vec_pretty(state).map_err(std::io::Error::from).and_then(|mut json| {
                json.push(b'\n');
                write_atomic(&self.file, &json)
            });
        if let Err(err) = written {
            tracing::warn!(file = %self.file.display(), "could not save the clear schedule: {err}");
        }
    }

    fn lock(&self) -> MutexGuard<'_, Persisted> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The configured schedules by namespace.
fn plans(config: &Config) -> BTreeMap<String, ClearPlan> {
    config
        .namespaces
        .iter()
        .filter_map(|(ns, settings)| Some((ns.clone(), plan_for(settings)?)))
        .collect()
}
