//! The owner of everything about registered apps: the registry, each app's backup
//! directory, its keys, and what the daemon has seen of it since start. Handlers, the
//! scheduler and the watcher all go through it; operations on one app run one at a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, OwnedMutexGuard};

use super::catalog::Catalog;
use super::codec::AppCodec;
use super::config::AppsConfig;
use super::error::AppError;
use super::keys::AppKeys;
use super::live::ReadPolicy;
use super::naming::safe_name;
use super::registry::{AppRecord, Registry};

/// How long a user's request waits for another operation on the same app.
const BUSY_AFTER: std::time::Duration = std::time::Duration::from_secs(20);

/// What the daemon has seen of one app since it started (not persisted: it is re-learned).
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Reads of the live file that were torn or did not decrypt.
    pub bad_reads: u64,
    /// The live file's problem, when the last look at it failed.
    pub live_problem: Option<LiveProblem>,
    /// Why the keys could not be loaded, when they could not.
    pub key_error: Option<String>,
    /// The last backup attempt's error.
    pub last_error: Option<String>,
    /// When the next scheduled backup is due (Unix ms).
    pub next_backup_unix_ms: Option<u64>,
}

/// What was wrong with the live file at the last look.
#[derive(Debug, Clone)]
pub enum LiveProblem {
    /// Not there.
    Missing(String),
    /// There, but unreadable or undecryptable.
    Unreadable(String),
}

/// Per-app runtime: the operation lock and what has been observed.
#[derive(Debug, Default)]
pub struct AppRuntime {
    op: Arc<tokio::sync::Mutex<()>>,
    observed: Mutex<Observed>,
}

impl AppRuntime {
    /// What has been observed.
    pub fn observed(&self) -> Observed {
        self.observed.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Changes what has been observed.
    pub fn observe(&self, change: impl FnOnce(&mut Observed)) {
        change(&mut self.observed.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// The app service.
#[derive(Debug)]
pub struct AppService {
    /// The `[apps]` settings in force at start.
    pub config: AppsConfig,
    /// The daemon's state directory.
    pub state_dir: PathBuf,
    /// The config file, backed up with the daemon's own state.
    pub config_path: Option<PathBuf>,
    /// Keys of the apps, unlocked once each.
    pub keys: AppKeys,
    /// Woken whenever schedules or watched files may have changed.
    pub changed: Notify,
    registry: Mutex<Registry>,
    runtime: Mutex<HashMap<String, Arc<AppRuntime>>>,
    /// Where backups made and failed are announced (set once the store exists).
    pub events: std::sync::OnceLock<Arc<crate::events::EventHub>>,
}

impl AppService {
    /// Loads the registry of `state_dir`.
    pub fn open(
        config: AppsConfig,
        keys: &super::keystore::AppKeysConfig,
        state_dir: &Path,
        config_path: Option<PathBuf>,
    ) -> Result<Arc<AppService>, AppError> {
        let mut registry = Registry::load(Registry::file_in(state_dir))?;
        if !registry.all().any(|app| app.builtin) {
            registry.put(own_state_record(&registry))?;
        }
        let keys = AppKeys::new(keys);
        Ok(Arc::new(AppService {
            config,
            state_dir: state_dir.to_path_buf(),
            config_path,
            keys,
            changed: Notify::new(),
            registry: Mutex::new(registry),
            runtime: Mutex::new(HashMap::new()),
            events: std::sync::OnceLock::new(),
        }))
    }

    /// Announces a backup event of `app` to its owner's (and admins') subscribers.
    pub fn announce(&self, app: &AppRecord, kind: cachemgr_proto::EventKind, message: String) {
        let Some(events) = self.events.get() else { return };
        events.publish(|| {
            let mut event = cachemgr_proto::Event::new(kind);
            event.app = Some(app.name.clone());
            event.message = Some(message);
            crate::events::Published { event, owner_uid: Some(app.owner_uid) }
        });
    }

    /// One app's record.
    pub fn record(&self, name: &str) -> Result<AppRecord, AppError> {
        self.with_registry(|r| r.get(name).cloned())
            .ok_or_else(|| AppError::NotFound(name.to_owned()))
    }

    /// Every app's record, sorted by name.
    pub fn records(&self) -> Vec<AppRecord> {
        self.with_registry(|r| r.all().cloned().collect())
    }

    /// Runs `f` on the registry (short: never across an await or file I/O of an app).
    pub fn with_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        f(&mut self.registry.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The runtime of an app (created on first use).
    pub fn runtime(&self, name: &str) -> Arc<AppRuntime> {
        let mut map = self.runtime.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned()).or_default().clone()
    }

    /// Forgets the runtime of a removed app.
    pub fn drop_runtime(&self, name: &str) {
        self.runtime.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
    }

    /// Waits for the app's operation lock (scheduled and change backups queue behind a
    /// running operation rather than fail).
    pub async fn lock(&self, name: &str) -> OwnedMutexGuard<()> {
        self.runtime(name).op.clone().lock_owned().await
    }

    /// Takes the app's operation lock, waiting behind a short operation (a backup the
    /// watcher started) but saying it is busy behind a long one (a migration).
    pub async fn try_lock(&self, name: &str) -> Result<OwnedMutexGuard<()>, AppError> {
        let lock = self.runtime(name).op.clone().lock_owned();
        tokio::time::timeout(BUSY_AFTER, lock).await.map_err(|_| AppError::Busy(name.to_owned()))
    }

    /// Where an app's backups live.
    pub fn backup_dir(&self, app: &AppRecord) -> PathBuf {
        self.config.backup_root(&self.state_dir).join(safe_name(&app.name))
    }

    /// The backup metadata of an app.
    pub fn catalog(&self, app: &AppRecord) -> Result<Catalog, AppError> {
        let dir = self.backup_dir(app);
        Catalog::load(&dir).map_err(|err| AppError::storage(format!("app {:?}", app.name), err))
    }

    /// Saves the backup metadata of an app.
    pub fn save_catalog(&self, app: &AppRecord, catalog: &Catalog) -> Result<(), AppError> {
        let dir = self.backup_dir(app);
        let owned;
        let catalog = if catalog.owner_uid == Some(app.owner_uid) {
            catalog
        } else {
            owned = Catalog { owner_uid: Some(app.owner_uid), ..catalog.clone() };
            &owned
        };
        catalog.save(&dir).map_err(|err| {
            AppError::storage(format!("cannot save the backup list in {}", dir.display()), err)
        })
    }

    /// How live files are read.
    pub fn read_policy(&self) -> ReadPolicy {
        ReadPolicy {
            attempts: self.config.read_attempts,
            pause: self.config.read_pause,
            max_bytes: self.config.max_file_bytes.as_u64(),
        }
    }

    /// The codec of an app, loading (and unlocking) its keys on first use; the outcome is
    /// recorded so `app list` can show a missing key.
    pub async fn codec(&self, app: &AppRecord) -> Result<AppCodec, AppError> {
        let result = self.keys.codec(app).await;
        let runtime = self.runtime(&app.name);
        runtime.observe(|o| o.key_error = result.as_ref().err().map(ToString::to_string));
        result
    }
}

/// Name under which the daemon backs up its own state.
pub const OWN_STATE_APP: &str = "cachemgrd";

/// The daemon's own state as an app: its registry (and config) backed up daily, kept 10.
fn own_state_record(registry: &Registry) -> AppRecord {
    AppRecord {
        name: OWN_STATE_APP.to_owned(),
        path: registry.path().to_path_buf(),
        service: super::registry::DEFAULT_SERVICE.to_owned(),
        app_id: OWN_STATE_APP.to_owned(),
        strategy: cachemgr_proto::AppStrategy::None,
        backup_every_ms: Some(24 * 3_600_000),
        keep: super::retention::RetentionPolicy::default(),
        stale_after_ms: super::registry::DEFAULT_STALE_AFTER_MS,
        external_dir: None,
        owner_uid: rustix::process::geteuid().as_raw(),
        builtin: true,
        added_unix_ms: crate::store::clock::unix_ms_now(),
        key_rotated_at_unix_ms: None,
    }
}
