//! The pressure monitor: on a timer (`pressure.check_every`), read memory (honouring a
//! cgroup limit) and the file systems holding the daemon's files, and when usage reaches a
//! high mark, free space in stages ([`stages`]) until it is below the low mark. Each resource
//! has a [`hysteresis::Trigger`]: after acting, the monitor waits until usage has fallen
//! below the low mark before it may act again.
//!
//! [`PressureMonitor`] owns the triggers, the last readings and a bounded history of actions;
//! `pressure_status` / `pressure_check` read it, and the daemon spawns [`PressureMonitor::run`]
//! once. Two hooks are for other modules: [`PressureMonitor::set_extra_paths`] adds paths to
//! watch (disposable directories) and [`PressureMonitor::set_trim_hook`] installs stage (c).

pub mod cgroup;
use crate::config::pressure as config;
pub mod history;
pub mod hysteresis;
pub mod readings;
pub mod stages;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use cachemgr_proto::{DiskPressure, DiskUsage, MemoryPressure, PressureInfo};
use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

pub use config::{PressureConfig, MIN_CHECK_EVERY};

use crate::config::Config;
use crate::store::clock::unix_ms_now;
use crate::store::Store;
use history::History;
use hysteresis::{Step, Trigger};
use readings::MemoryReading;
use stages::{Resource, Response};

/// Extra paths whose file systems are watched (called at every check).
pub type PathsHook = Arc<dyn Fn() -> Vec<PathBuf> + Send + Sync>;

/// What stage (c) freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrimFreed {
    /// Files removed.
    pub files: u64,
    /// Bytes they held.
    pub bytes: u64,
}

/// Stage (c): trims disposable directories and says what it freed.
pub type TrimHook = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = TrimFreed> + Send>> + Send + Sync>;

#[derive(Debug, Default)]
struct Inner {
    memory: Trigger,
    disk: Trigger,
    last_memory: MemoryReading,
    last_disks: Vec<DiskUsage>,
    history: History,
    checks: u64,
    last_check_unix_ms: Option<u64>,
}

/// Owner of the pressure triggers, readings and history (see the module docs).
pub struct PressureMonitor {
    /// The daemon's own paths: the state directory and the disk layer's file.
    own_paths: Vec<PathBuf>,
    extra_paths: RwLock<Option<PathsHook>>,
    trim: RwLock<Option<TrimHook>>,
    inner: Mutex<Inner>,
    /// One check at a time (the timer and `pressure_check` may meet).
    running: tokio::sync::Mutex<()>,
    config_changed: Notify,
}

impl std::fmt::Debug for PressureMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PressureMonitor")
            .field("own_paths", &self.own_paths)
            .finish_non_exhaustive()
    }
}

impl PressureMonitor {
    /// A monitor watching the state directory and the disk layer's file (`disk.path`,
    /// default `<state_dir>/cache.redb`).
    pub fn new(config: &Config, state_dir: PathBuf) -> Arc<PressureMonitor> {
        let disk_file = crate::paths::disk_path(config.disk.path.clone(), &state_dir);
        Arc::new(PressureMonitor {
            own_paths: vec![state_dir, disk_file],
            extra_paths: RwLock::new(None),
            trim: RwLock::new(None),
            inner: Mutex::new(Inner::default()),
            running: tokio::sync::Mutex::new(()),
            config_changed: Notify::new(),
        })
    }

    /// Also watches the file systems of the paths `hook` returns (asked at every check).
    pub fn set_extra_paths(&self, hook: PathsHook) {
        *self.extra_paths.write().unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    /// Installs stage (c), e.g. the disposable directories' `trim_for_pressure()`.
    pub fn set_trim_hook(&self, hook: TrimHook) {
        *self.trim.write().unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    /// Tells the loop the config was reloaded (a new interval, enabled or not).
    pub fn config_changed(&self) {
        self.config_changed.notify_one();
    }

    /// Every path watched now.
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        let mut paths = self.own_paths.clone();
        if let Some(hook) = self.extra_paths.read().unwrap_or_else(PoisonError::into_inner).clone()
        {
            paths.extend(hook());
        }
        paths
    }

    /// Checks on the timer until `shutdown`; the first check runs at once, and after a
    /// reload that changes the interval the next one runs an interval later.
    pub async fn run(self: Arc<Self>, store: Arc<Store>, shutdown: CancellationToken) {
        let mut first = true;
        loop {
            let config = store.current_config();
            if !config.pressure.enabled {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.config_changed.notified() => continue,
                }
            }
            let every = config.pressure.check_every;
            let start = if first { Instant::now() } else { Instant::now() + every };
            first = false;
            let mut timer = tokio::time::interval_at(start, every);
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.config_changed.notified() => break,
                    _ = timer.tick() => {}
                }
                let config = store.current_config();
                if !config.pressure.enabled || config.pressure.check_every != every {
                    break;
                }
                self.check(&store, true).await;
            }
        }
    }

    /// Reads usage now and, when `act` and a trigger fires, runs the staged response.
    pub async fn check(&self, store: &Arc<Store>, act: bool) -> PressureInfo {
        let _one_at_a_time = self.running.lock().await;
        let config = store.current_config();
        let paths = self.watched_paths();
        let read_paths = paths.clone();
        let read =
            tokio::task::spawn_blocking(move || (readings::memory(), readings::disks(&read_paths)));
        let (memory, disks) = match read.await {
            Ok(readings) => readings,
            Err(err) => {
                tracing::error!("pressure check failed: {err}");
                return self.info(&config);
            }
        };
        let p = &config.pressure;
        let disk_used = disks.first().map_or(0.0, |d| d.used_percent);
        let (memory_step, disk_step) = {
            let mut inner = self.lock();
            inner.checks += 1;
            inner.last_check_unix_ms = Some(unix_ms_now());
            inner.last_memory = memory;
            inner.last_disks = disks;
            if act {
                (
                    inner.memory.observe(memory.percent(), p.memory_high, p.memory_low),
                    inner.disk.observe(disk_used, p.disk_high, p.disk_low),
                )
            } else {
                (Step::Quiet, Step::Quiet)
            }
        };
        for (resource, step, used) in [
            (Resource::Memory, memory_step, memory.percent()),
            (Resource::Disk, disk_step, disk_used),
        ] {
            match step {
                Step::Fire => {
                    tracing::warn!(
                        trigger = resource.as_str(),
                        used_percent = format!("{used:.1}"),
                        "pressure: high mark reached, freeing space"
                    );
                    let trim = self.trim.read().unwrap_or_else(PoisonError::into_inner).clone();
                    let response =
                        Response { store, config: &config, resource, paths: paths.clone(), trim };
                    let actions = response.run(used).await;
                    let mut inner = self.lock();
                    for action in actions {
                        inner.history.push(action);
                    }
                }
                Step::Rearm => {
                    tracing::info!(
                        trigger = resource.as_str(),
                        used_percent = format!("{used:.1}"),
                        "pressure: below the low mark, re-armed"
                    );
                }
                Step::Quiet | Step::Hold => {}
            }
        }
        self.info(&config)
    }

    /// The state as `pressure_status` reports it.
    pub fn info(&self, config: &Config) -> PressureInfo {
        let p = &config.pressure;
        let inner = self.lock();
        PressureInfo {
            enabled: p.enabled,
            check_every_ms: u64::try_from(p.check_every.as_millis()).unwrap_or(u64::MAX),
            last_check_unix_ms: inner.last_check_unix_ms,
            checks: inner.checks,
            memory: MemoryPressure {
                used_bytes: inner.last_memory.used,
                total_bytes: inner.last_memory.total,
                used_percent: inner.last_memory.percent(),
                cgroup_limit_bytes: inner.last_memory.cgroup_limit,
                high: p.memory_high,
                low: p.memory_low,
                state: inner.memory.state(),
            },
            disk: DiskPressure {
                filesystems: inner.last_disks.clone(),
                high: p.disk_high,
                low: p.disk_low,
                state: inner.disk.state(),
            },
            actions: inner.history.to_vec(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
