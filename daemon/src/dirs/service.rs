//! `DirService`: the owner of the registered directories. Handlers, the trim scheduler and
//! the pressure monitor all go through it. Work on the files runs in `spawn_blocking`, one
//! directory job at a time (a scheduled trim, a request and a pressure clear never walk the
//! same tree together).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cachemgr_proto::{DirInfo, DirSettings};

use super::error::DirsError;
use super::plan::Limits;
use super::registry::{DirRecord, DirRegistry};
use super::remove::Removal;
use super::safety::{home_of, refusal, resolved, Protected};
use super::work::{self, Job};
use crate::access::paths::{self, PathError};
use crate::store::clock::unix_ms_now;

/// What a trim or clear freed in one directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freed {
    /// The directory.
    pub path: PathBuf,
    /// Files (and symlinks) deleted.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files that could not be deleted.
    pub failed: u64,
}

/// What a trim or clear freed in all the directories it worked on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirsFreed {
    /// Files deleted in all of them.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// One row per directory, in the order they were worked on.
    pub dirs: Vec<Freed>,
}

impl DirsFreed {
    fn push(&mut self, freed: Freed) {
        self.files += freed.files;
        self.bytes += freed.bytes;
        self.dirs.push(freed);
    }
}

/// The directory service.
#[derive(Debug)]
pub struct DirService {
    registry: Mutex<DirRegistry>,
    /// The daemon's own directories, never registrable.
    daemon_dirs: Vec<(PathBuf, String)>,
    /// Directories refused themselves and above, but not below (the configuration's).
    exact_dirs: Vec<(PathBuf, String)>,
    /// One directory job at a time.
    work: tokio::sync::Mutex<()>,
    /// Set when the daemon stops: walks and deletions in flight give up promptly.
    stopping: Arc<AtomicBool>,
}

impl DirService {
    /// Loads the registry of `state_dir`. `daemon_dirs` (with what each is, e.g. "state
    /// directory") are refused by `dir add` along with everything inside and above them;
    /// `exact_dirs` (with a description, e.g. "the daemon's configuration directory") only
    /// themselves and above.
    pub fn open(
        state_dir: &Path,
        daemon_dirs: Vec<(PathBuf, String)>,
        exact_dirs: Vec<(PathBuf, String)>,
    ) -> Result<Arc<DirService>, DirsError> {
        let registry = DirRegistry::load(DirRegistry::file_in(state_dir))?;
        let resolve = |dirs: Vec<(PathBuf, String)>| -> Vec<(PathBuf, String)> {
            dirs.into_iter().map(|(p, what)| (resolved(&p), what)).collect()
        };
        Ok(Arc::new(DirService {
            registry: Mutex::new(registry),
            daemon_dirs: resolve(daemon_dirs),
            exact_dirs: resolve(exact_dirs),
            work: tokio::sync::Mutex::new(()),
            stopping: Arc::new(AtomicBool::new(false)),
        }))
    }

    /// Makes walks and deletions in flight stop early (at shutdown, so the runtime is not
    /// kept waiting for a trim of a huge tree); later jobs stop at once too.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, DirRegistry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registered directories' paths, sorted: what the pressure monitor watches the
    /// file systems of.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.registry().all().into_iter().map(|d| PathBuf::from(d.path)).collect()
    }

    /// Registers `path` for `caller_uid` (or changes the limits of the registered directory
    /// it resolves to), after checking that it may be trimmed at all.
    pub async fn add(
        &self,
        path: &str,
        settings: DirSettings,
        caller_uid: u32,
    ) -> Result<DirInfo, DirsError> {
        let dir = self.checked(path, caller_uid)?;
        let record = {
            let mut registry = self.registry();
            let record = match registry.get(&dir) {
                Some(old) => DirRecord { settings, ..old.clone() },
                None => DirRecord {
                    path: dir.clone(),
                    settings,
                    owner_uid: caller_uid,
                    added_unix_ms: unix_ms_now(),
                    last_trim_unix_ms: None,
                    last_trim_result: None,
                },
            };
            registry.put(record.clone())?;
            record
        };
        tracing::info!(dir = %dir, "cache directory registered");
        Ok(info_of(record, &self.stopping).await)
    }

    /// The UTF-8 form of `path` once every rule allows it: opened by the path resolver as the
    /// caller (no symlink in any component; the caller's own directory unless root or the
    /// daemon's user), and not a protected place.
    fn checked(&self, path: &str, caller_uid: u32) -> Result<String, DirsError> {
        if !Path::new(path).is_absolute() {
            return Err(DirsError::Relative(path.to_owned()));
        }
        let principal = paths::Principal::of_uid(caller_uid);
        let opened = paths::open_dir(principal, Path::new(path)).map_err(|err| match err {
            PathError::NotFound(_) => DirsError::Missing(path.to_owned()),
            PathError::NotADirectory(_) => {
                let file = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
                let kind = if file { "a regular file" } else { "not a directory" };
                DirsError::NotADirectory { path: path.to_owned(), kind }
            }
            PathError::NotOwned { owner, .. } => {
                DirsError::NotOwner { path: path.to_owned(), owner, caller: caller_uid }
            }
            other => DirsError::Refused { path: path.to_owned(), reason: other.to_string() },
        })?;
        let canonical = opened.path();
        let shown = canonical.display().to_string();
        let Some(dir) = canonical.to_str().map(str::to_owned) else {
            let reason = "its path is not valid UTF-8".to_owned();
            return Err(DirsError::Refused { path: shown, reason });
        };
        if let Some(reason) = refusal(canonical, &self.protected(caller_uid)) {
            return Err(DirsError::Refused { path: dir, reason });
        }
        Ok(dir)
    }

    fn protected(&self, caller_uid: u32) -> Protected {
        let mut homes = self.exact_dirs.clone();
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            let what = "the home directory of the daemon's user".to_owned();
            homes.push((resolved(Path::new(&home)), what));
        }
        if let Some(home) = home_of(caller_uid) {
            let what = format!("the home directory of uid {caller_uid} (the caller)");
            homes.push((resolved(&home), what));
        }
        Protected { homes, daemon_dirs: self.daemon_dirs.clone() }
    }

    /// Every registered directory with what it holds now, sorted by path.
    pub async fn list(&self) -> Vec<DirInfo> {
        let records = self.registry().all();
        let mut dirs = Vec::new();
        for record in records {
            dirs.push(info_of(record, &self.stopping).await);
        }
        dirs
    }

    /// Forgets a directory; its files stay.
    pub fn remove(&self, path: &str) -> Result<(), DirsError> {
        let dir = self.registered(path)?;
        self.registry().remove(&dir)?;
        tracing::info!(dir = %dir, "cache directory unregistered");
        Ok(())
    }

    /// The registered path `path` names (exactly, or once its symlinks are resolved).
    fn registered(&self, path: &str) -> Result<String, DirsError> {
        let registry = self.registry();
        if registry.get(path).is_some() {
            return Ok(path.to_owned());
        }
        let canonical = resolved(Path::new(path)).display().to_string();
        match registry.get(&canonical) {
            Some(_) => Ok(canonical),
            None => Err(DirsError::NotRegistered(path.to_owned())),
        }
    }

    /// Deletes every file of one registered directory (never the directory).
    pub async fn clear(&self, path: &str, dry_run: bool) -> Result<DirsFreed, DirsError> {
        let dir = self.registered(path)?;
        let _one = self.work.lock().await;
        let mut freed = DirsFreed::default();
        freed.push(self.run(&dir, Job::Clear, dry_run).await?);
        Ok(freed)
    }

    /// Trims one registered directory (`Some`) or every one to its limits.
    pub async fn trim(&self, path: Option<&str>, dry_run: bool) -> Result<DirsFreed, DirsError> {
        let Some(path) = path else { return Ok(self.trim_all(dry_run).await) };
        let dir = self.registered(path)?;
        let limits = self.limits(&dir)?;
        let _one = self.work.lock().await;
        let mut freed = DirsFreed::default();
        freed.push(self.run(&dir, Job::Trim(limits), dry_run).await?);
        Ok(freed)
    }

    /// Trims every registered directory to its limits; a directory that fails is logged,
    /// recorded in its `last_trim_result` and skipped.
    pub async fn trim_all(&self, dry_run: bool) -> DirsFreed {
        let _one = self.work.lock().await;
        self.trim_all_locked(dry_run).await
    }

    async fn trim_all_locked(&self, dry_run: bool) -> DirsFreed {
        let records = self.registry().all();
        let mut freed = DirsFreed::default();
        for record in records {
            let limits = limits_of(&record.settings);
            if limits == Limits::default() {
                continue;
            }
            match self.run(&record.path, Job::Trim(limits), dry_run).await {
                Ok(one) => freed.push(one),
                Err(err) => tracing::warn!(dir = %record.path, "trim failed: {err}"),
            }
        }
        freed
    }

    /// For the pressure monitor: trims every directory to its limits, then **clears** every
    /// directory marked `clear_on_pressure`, lowest `priority` first (ties by path), so the
    /// directories an operator cares least about go first. Directories not so marked are
    /// only trimmed. A directory that fails is logged and skipped; the result lists each
    /// directory's trim and clear as separate rows, in the order they ran.
    pub async fn trim_for_pressure(&self) -> DirsFreed {
        self.trim_for_pressure_until(u64::MAX).await
    }

    /// Like [`DirService::trim_for_pressure`], but stops clearing once `enough_bytes` have
    /// been freed in total (the trims to the limits always all run).
    pub async fn trim_for_pressure_until(&self, enough_bytes: u64) -> DirsFreed {
        let _one = self.work.lock().await;
        let mut freed = self.trim_all_locked(false).await;
        let mut victims: Vec<DirRecord> =
            self.registry().all().into_iter().filter(|d| d.settings.clear_on_pressure).collect();
        victims.sort_by(|a, b| {
            a.settings.priority.cmp(&b.settings.priority).then(a.path.cmp(&b.path))
        });
        for record in victims {
            if freed.bytes >= enough_bytes {
                break;
            }
            match self.run(&record.path, Job::Clear, false).await {
                Ok(one) => freed.push(one),
                Err(err) => {
                    tracing::warn!(dir = %record.path, "clear under pressure failed: {err}")
                }
            }
        }
        tracing::info!(
            files = freed.files,
            bytes = freed.bytes,
            "cache directories freed under pressure"
        );
        freed
    }

    fn limits(&self, dir: &str) -> Result<Limits, DirsError> {
        let registry = self.registry();
        let record = registry.get(dir).ok_or_else(|| DirsError::NotRegistered(dir.to_owned()))?;
        Ok(limits_of(&record.settings))
    }

    /// Runs one job in `spawn_blocking` and records how it went (unless a dry run).
    async fn run(&self, dir: &str, job: Job, dry_run: bool) -> Result<Freed, DirsError> {
        let path = PathBuf::from(dir);
        let worker = path.clone();
        let now = unix_ms_now();
        let stop = self.stopping.clone();
        let result =
            tokio::task::spawn_blocking(move || work::run(&worker, job, dry_run, now, &stop))
                .await
                .map_err(|err| DirsError::Task(err.to_string()))
                .and_then(|r| r);
        if !dry_run {
            self.record(dir, now, &result);
        }
        let removal = result?;
        if !dry_run && removal.files > 0 {
            let what = if job == Job::Clear { "cleared" } else { "trimmed" };
            tracing::info!(
                dir,
                files = removal.files,
                bytes = removal.bytes,
                failed = removal.failed,
                "cache directory {what}"
            );
        }
        Ok(Freed { path, files: removal.files, bytes: removal.bytes, failed: removal.failed })
    }

    fn record(&self, dir: &str, at: u64, result: &Result<Removal, DirsError>) {
        let mut registry = self.registry();
        let Some(mut record) = registry.get(dir).cloned() else { return };
        record.last_trim_unix_ms = Some(at);
        record.last_trim_result = Some(match result {
            Ok(r) if r.failed > 0 => {
                format!("ok: {} files ({} bytes), {} not deleted", r.files, r.bytes, r.failed)
            }
            Ok(r) => format!("ok: {} files ({} bytes)", r.files, r.bytes),
            Err(err) => format!("failed: {err}"),
        });
        if let Err(err) = registry.put(record) {
            tracing::warn!(dir, "cannot record the trim: {err}");
        }
    }
}

fn limits_of(settings: &DirSettings) -> Limits {
    Limits { max_size: settings.max_size_bytes, max_age_ms: settings.max_age_ms }
}

/// The wire view of a record, with what the directory holds now.
async fn info_of(record: DirRecord, stop: &Arc<AtomicBool>) -> DirInfo {
    let path = PathBuf::from(&record.path);
    let stop = stop.clone();
    let scan = tokio::task::spawn_blocking(move || work::measure(&path, &stop)).await;
    let mut info = DirInfo {
        path: record.path,
        settings: record.settings,
        last_trim_unix_ms: record.last_trim_unix_ms,
        last_trim_result: record.last_trim_result,
        ..DirInfo::default()
    };
    match scan {
        Ok(Ok(scan)) => {
            info.size_bytes = scan.bytes();
            info.files = scan.files.len() as u64;
            info.oldest_unix_ms = scan.oldest_ms();
        }
        Ok(Err(err)) => info.problem = Some(err.to_string()),
        Err(err) => info.problem = Some(format!("the directory task failed: {err}")),
    }
    info
}
