//! What every connection and handler shares: the store, the live config, and the daemon's
//! identity (paths, start time, shutdown signal).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::Store;

/// What may be said about the master key: where it came from, never what it is.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// The source, for humans (`key file (/path)`, `ephemeral`...).
    pub source: String,
    /// Whether it survives a restart.
    pub persistent: bool,
    /// Its public fingerprint.
    pub fingerprint: String,
    /// The key dumps are sealed under (derived from the master key).
    pub dump_root: Arc<crate::keys::DerivedKey>,
}

/// Where the daemon lives on the file system.
#[derive(Debug)]
pub struct DaemonPaths {
    /// Socket path.
    pub socket: PathBuf,
    /// Config file in use, if any.
    pub config_path: Option<PathBuf>,
    /// State directory.
    pub state_dir: PathBuf,
}

/// The parts built at start-up before the state exists.
#[derive(Debug)]
pub struct Services {
    /// The cache layers.
    pub store: Arc<Store>,
    /// Start-up notices for `info`.
    pub notices: Vec<String>,
    /// The master key's description.
    pub key: KeyInfo,
    /// The auto-dump schedule.
    pub autodump: Option<Arc<crate::jobs::autodump::Autodump>>,
    /// Registered app caches (`None` when the registry could not be read).
    pub apps: Option<Arc<crate::apps::AppService>>,
    /// Disposable cache directories (`None` when their registry could not be read).
    pub dirs: Option<Arc<crate::dirs::DirService>>,
    /// The pressure monitor.
    pub pressure: Arc<crate::pressure::PressureMonitor>,
    /// The scheduled clears (`None` when their state file could not be read).
    pub clear_schedule: Option<Arc<crate::jobs::clear_schedule::ClearScheduler>>,
}

/// The daemon's context: what every connection, handler and job shares (the store, the live
/// config, the services, the daemon's identity). Not the desktop apps of `apps/`.
#[derive(Debug)]
pub struct DaemonContext {
    /// The cache layers.
    pub store: Arc<Store>,
    /// Cancelled when the daemon starts draining.
    pub shutdown: CancellationToken,
    /// Socket path.
    pub socket: PathBuf,
    /// Config file in use, if any.
    pub config_path: Option<PathBuf>,
    /// State directory.
    pub state_dir: PathBuf,
    /// When the daemon started.
    pub started: Instant,
    /// Connections open now.
    pub connections: AtomicU64,
    /// What an operator must know (shown by `info`): a database moved aside, a wiped tier.
    pub notices: Vec<String>,
    /// The master key's description.
    pub key: KeyInfo,
    /// The auto-dump schedule (`None` when its state file could not be read).
    pub autodump: Option<Arc<crate::jobs::autodump::Autodump>>,
    /// Registered app caches (`None` when the registry could not be read).
    pub apps: Option<Arc<crate::apps::AppService>>,
    /// Disposable cache directories (`None` when their registry could not be read).
    pub dirs: Option<Arc<crate::dirs::DirService>>,
    /// The pressure monitor.
    pub pressure: Arc<crate::pressure::PressureMonitor>,
    /// The scheduled clears (`None` when their state file could not be read).
    pub clear_schedule: Option<Arc<crate::jobs::clear_schedule::ClearScheduler>>,
    /// The background jobs, owned and watched (their health is in `status`).
    pub jobs: Arc<crate::supervisor::Supervisor>,
    /// One reload at a time (see `crate::reload`).
    pub reload_lock: tokio::sync::Mutex<()>,
}

impl DaemonContext {
    /// State for a daemon about to serve.
    pub fn new(paths: DaemonPaths, services: Services) -> Arc<DaemonContext> {
        let shutdown = CancellationToken::new();
        Arc::new(DaemonContext {
            store: services.store,
            notices: services.notices,
            key: services.key,
            autodump: services.autodump,
            apps: services.apps,
            dirs: services.dirs,
            jobs: crate::supervisor::Supervisor::new(shutdown.clone()),
            pressure: services.pressure,
            clear_schedule: services.clear_schedule,
            shutdown,
            socket: paths.socket,
            config_path: paths.config_path,
            state_dir: paths.state_dir,
            started: Instant::now(),
            connections: AtomicU64::new(0),
            reload_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The config in force (a snapshot of the daemon's one live cell, which the store owns).
    pub fn config(&self) -> Arc<Config> {
        self.store.current_config()
    }

    /// Counts a connection for as long as the returned guard lives.
    pub fn track_connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.clone())
    }
}

/// Decrements the open-connection gauge on drop.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<DaemonContext>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}
