//! The auto-dump scheduler: dumps the cache to a file every `every`, and survives restarts.
//!
//! [`Autodump`] owns the settings and the timer. Handlers call [`Autodump::start`],
//! [`change`](Autodump::change), [`stop`](Autodump::stop) and [`status`](Autodump::status); the
//! daemon spawns [`Autodump::run`] once with a closure that writes a dump.
//!
//! Schedule (times are wall-clock unix ms, persisted in `<state_dir>/autodump.json`):
//! - the first run happens `every` **after** `start` (not at once: `cachectl dump` exists for
//!   that, and a restart loop must not turn into a dump loop);
//! - each later run is due `every` after the previous run *started*; a run that takes longer
//!   than `every` is followed at once by the next, never overlapped;
//! - after a restart the next run is due at `last run + every`, so a run missed while the
//!   daemon was down happens promptly at start-up;
//! - `change --every` applies the new interval to the same anchor (the last run, or the start
//!   if none ran yet); `change --to` only changes the file;
//! - a due time is never more than `every` ahead of now, so a wall clock that jumped back does
//!   not postpone dumps;
//! - the loop sleeps on a tokio timer until the due time and is woken early only by
//!   start/change/stop (a [`Notify`]): no polling. A timer does not count time the machine
//!   spends suspended; the due time is rechecked against the wall clock on every wake-up.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cachemgr_proto::KeyPattern;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::atomic_file::write_atomic;
use crate::dump::DumpSummary;

mod error;

pub use error::AutodumpError;

/// Shortest interval accepted: a dump rewrites the whole file, so sub-second periods are a
/// mistake rather than a wish.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// Name of the state file inside the state directory.
pub const STATE_FILE: &str = "autodump.json";
/// Version of the state file this build writes and reads.
const STATE_VERSION: u32 = 1;

/// What to dump, where, and how often; persisted so that it survives a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutodumpSettings {
    /// The dump file (absolute), replaced atomically by each run.
    pub path: PathBuf,
    /// Interval between runs (≥ [`MIN_EVERY`]); written like `"10m"` in the state file.
    #[serde(with = "humantime_serde")]
    pub every: Duration,
    /// Only this namespace; `None` = every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Only keys matching this pattern; `None` = every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<KeyPattern>,
    /// Who asked for the schedule: each run writes the file as that user would be allowed
    /// to (through the path resolver); `None` (older state files) = the daemon's own user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_uid: Option<u32>,
}

/// The scheduler's state as `cachectl autodump status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AutodumpStatus {
    /// Current settings; `None` when stopped.
    pub settings: Option<AutodumpSettings>,
    /// When the last run started (successful or not).
    pub last_run_unix_ms: Option<u64>,
    /// `ok: ...` or `failed: <error>` for the last run.
    pub last_result: Option<String>,
    /// When the last successful run started: the age of the newest good dump.
    pub last_ok_unix_ms: Option<u64>,
    /// When the next run is due; `None` when stopped.
    pub next_run_unix_ms: Option<u64>,
}

/// The wall clock the scheduler reads; injectable so tests can run on tokio's paused time.
pub trait WallClock: Send + Sync + 'static {
    /// Milliseconds since the unix epoch.
    fn now_unix_ms(&self) -> u64;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// The state file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Persisted {
    version: u32,
    #[serde(default)]
    settings: Option<AutodumpSettings>,
    /// When the current settings were started: the anchor of the first run.
    #[serde(default)]
    started_unix_ms: Option<u64>,
    #[serde(default)]
    last_run_unix_ms: Option<u64>,
    #[serde(default)]
    last_result: Option<String>,
    #[serde(default)]
    last_ok_unix_ms: Option<u64>,
}

impl Persisted {
    /// When the next run is due, seen at `now`.
    fn next_run(&self, now: u64) -> Option<u64> {
        let settings = self.settings.as_ref()?;
        let anchor = self.last_run_unix_ms.max(self.started_unix_ms).unwrap_or(now);
        Some(anchor.min(now).saturating_add(duration_ms(settings.every)))
    }

    fn status(&self, now: u64) -> AutodumpStatus {
        AutodumpStatus {
            settings: self.settings.clone(),
            last_run_unix_ms: self.last_run_unix_ms,
            last_result: self.last_result.clone(),
            last_ok_unix_ms: self.last_ok_unix_ms,
            next_run_unix_ms: self.next_run(now),
        }
    }
}

/// Owner of the auto-dump settings and timer (see the module docs for the schedule).
pub struct Autodump {
    file: PathBuf,
    clock: Arc<dyn WallClock>,
    state: Mutex<Persisted>,
    wake: Notify,
}

impl std::fmt::Debug for Autodump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autodump").field("file", &self.file).finish_non_exhaustive()
    }
}

impl Autodump {
    /// Loads `<state_dir>/autodump.json` (absent = stopped). A damaged file is an error naming
    /// it; the daemon logs it and runs without autodump rather than guess the settings.
    pub fn load(state_dir: &Path) -> Result<Arc<Autodump>, AutodumpError> {
        Self::load_with_clock(state_dir, Arc::new(SystemClock))
    }

    /// [`load`](Self::load) with another clock (tests, simulations).
    pub fn load_with_clock(
        state_dir: &Path,
        clock: Arc<dyn WallClock>,
    ) -> Result<Arc<Autodump>, AutodumpError> {
        let file = state_dir.join(STATE_FILE);
        let mut state = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice::<Persisted>(&bytes)
                .map_err(|source| AutodumpError::Corrupt { path: file.clone(), source })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Persisted { version: STATE_VERSION, ..Persisted::default() }
            }
            Err(source) => return Err(AutodumpError::Io { path: file, source }),
        };
        if state.version != STATE_VERSION {
            let (found, supported) = (state.version, STATE_VERSION);
            return Err(AutodumpError::UnsupportedVersion { path: file, found, supported });
        }
        if let Some(settings) = &state.settings {
            // The directory is not required here: if it went away, runs fail and say so.
            let checked = check_every(settings.every).and_then(|()| check_absolute(&settings.path));
            if let Err(err) = checked {
                let detail = err.to_string();
                return Err(AutodumpError::Invalid { path: file, detail });
            }
            state.started_unix_ms = state.started_unix_ms.or(Some(clock.now_unix_ms()));
        }
        Ok(Arc::new(Autodump { file, clock, state: Mutex::new(state), wake: Notify::new() }))
    }

    /// Starts dumping with `settings`, replacing any running schedule; the first run is due
    /// `every` from now. Persists before answering (a blocking write of a small file).
    pub fn start(&self, settings: AutodumpSettings) -> Result<AutodumpStatus, AutodumpError> {
        validate(settings.every, &settings.path)?;
        let now = self.clock.now_unix_ms();
        self.update(|state| {
            state.settings = Some(settings);
            state.started_unix_ms = Some(now);
            Ok(())
        })
    }

    /// Changes the interval and/or the file of the running schedule; the new interval counts
    /// from the last run (or the start). Errors if autodump is not started.
    pub fn change(
        &self,
        every: Option<Duration>,
        path: Option<PathBuf>,
        owner_uid: u32,
    ) -> Result<AutodumpStatus, AutodumpError> {
        self.update(|state| {
            let settings = state.settings.as_mut().ok_or(AutodumpError::NotStarted)?;
            let new_every = every.unwrap_or(settings.every);
            let moved = path.is_some();
            let new_path = path.unwrap_or_else(|| settings.path.clone());
            validate(new_every, &new_path)?;
            settings.every = new_every;
            settings.path = new_path;
            if moved {
                settings.owner_uid = Some(owner_uid);
            }
            Ok(())
        })
    }

    /// Stops the schedule (a run in progress finishes); the history stays. Stopping when
    /// already stopped is not an error.
    pub fn stop(&self) -> Result<AutodumpStatus, AutodumpError> {
        self.update(|state| {
            state.settings = None;
            state.started_unix_ms = None;
            Ok(())
        })
    }

    /// Settings, history and the next due time.
    pub fn status(&self) -> AutodumpStatus {
        self.lock().status(self.clock.now_unix_ms())
    }

    /// Runs until `shutdown` is cancelled: sleeps until the next run is due, calls `dump` with
    /// the settings of that moment, records the result and persists it. A failed dump is
    /// recorded in `last_result`; the dump writer being atomic, it leaves the last good file.
    /// A dump still running at shutdown is dropped (its temp file removed), not recorded.
    pub async fn run<F, Fut>(self: Arc<Self>, dump: F, shutdown: CancellationToken)
    where
        F: Fn(AutodumpSettings) -> Fut,
        Fut: Future<Output = Result<DumpSummary, String>>,
    {
        loop {
            let now = self.clock.now_unix_ms();
            let due = {
                let state = self.lock();
                state.settings.clone().zip(state.next_run(now))
            };
            let Some((settings, due)) = due else {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => continue,
                }
            };
            if due > now {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(due - now)) => {}
                }
                continue;
            }
            let result = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                result = dump(settings.clone()) => result,
            };
            self.record(now, &settings, result);
        }
    }

    /// Stores a run's outcome; a failure to persist it is logged, the memory state still moves.
    fn record(
        &self,
        started: u64,
        settings: &AutodumpSettings,
        result: Result<DumpSummary, String>,
    ) {
        let mut state = self.lock();
        state.last_run_unix_ms = Some(started);
        match result {
            Ok(summary) => {
                tracing::info!(
                    path = %settings.path.display(),
                    entries = summary.entries,
                    bytes = summary.bytes,
                    "autodump written"
                );
                state.last_ok_unix_ms = Some(started);
                state.last_result = Some(format!(
                    "ok: {} entries in {} namespaces, {} bytes written to {}",
                    summary.entries,
                    summary.namespaces.len(),
                    summary.bytes,
                    settings.path.display()
                ));
            }
            Err(err) => {
                tracing::warn!(path = %settings.path.display(), error = %err, "autodump failed");
                state.last_result = Some(format!("failed: {err}"));
            }
        }
        if let Err(err) = persist(&self.file, &state) {
            tracing::warn!(error = %err, "could not save the autodump state");
        }
    }

    /// Applies `change` to a copy, persists it, then makes it current and wakes the loop; on
    /// any error nothing changes.
    fn update(
        &self,
        change: impl FnOnce(&mut Persisted) -> Result<(), AutodumpError>,
    ) -> Result<AutodumpStatus, AutodumpError> {
        let mut state = self.lock();
        let mut next = state.clone();
        change(&mut next)?;
        if next != *state {
            persist(&self.file, &next)?;
            *state = next;
            self.wake.notify_one();
        }
        Ok(state.status(self.clock.now_unix_ms()))
    }

    fn lock(&self) -> MutexGuard<'_, Persisted> {
        // The state is replaced whole under the lock, so a panic elsewhere cannot tear it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Checks an interval and a dump path given by a client.
fn validate(every: Duration, path: &Path) -> Result<(), AutodumpError> {
    check_every(every)?;
    check_absolute(path)?;
    match path.parent() {
        Some(dir) if dir.is_dir() => Ok(()),
        _ => Err(AutodumpError::NoDirectory { path: path.to_path_buf() }),
    }
}

fn check_every(every: Duration) -> Result<(), AutodumpError> {
    if every < MIN_EVERY {
        return Err(AutodumpError::IntervalTooShort { every });
    }
    Ok(())
}

fn check_absolute(path: &Path) -> Result<(), AutodumpError> {
    if !path.is_absolute() {
        return Err(AutodumpError::RelativePath { path: path.to_path_buf() });
    }
    Ok(())
}

/// Writes the state file atomically.
fn persist(file: &Path, state: &Persisted) -> Result<(), AutodumpError> {
    let io = |source| AutodumpError::Io { path: file.to_path_buf(), source };
    let mut json = serde_json::to_vec_pretty(state).map_err(|err| io(err.into()))?;
    json.push(b'\n');
    write_atomic(file, &json).map_err(io)
}

fn duration_ms(every: Duration) -> u64 {
    u64::try_from(every.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
