//! Taking backups: copy the live file until a copy verifies, skip it when nothing changed
//! (for scheduled and change backups), write it atomically under a fresh name, then prune.
//! A failure at any step keeps every existing backup.

use std::sync::Arc;

use cachemgr_proto::{BackupSource, EventKind};

use super::capture::{stage_verified, CaptureError};
use super::catalog::{BackupRecord, Catalog};
use super::codec::AppCodec;
use super::error::AppError;
use super::live::{read_verified, sha256_hex, LiveError, VerifiedCopy};
use super::naming::safe_name;
use super::registry::AppRecord;
use super::service::{AppService, LiveProblem};
use super::store::{
    commit_staged, delete_pruned, free_name, prune, write_backup, ExternalDir, NewBackup,
};
use crate::access::paths::{self, Place, Principal};
use crate::store::clock::unix_ms_now;

/// Receives progress: what (app), units done, units in all, the unit (`bytes`, `files`,
/// `steps`). Called from blocking threads; must not block.
pub type ProgressFn = Arc<dyn Fn(&str, u64, u64, &'static str) + Send + Sync>;

/// A progress sink that drops everything.
pub fn no_progress() -> ProgressFn {
    Arc::new(|_, _, _, _| {})
}

/// What a backup request asks for.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    /// What makes it.
    pub source: BackupSource,
    /// Never prune it.
    pub pin: bool,
    /// Free text.
    pub note: Option<String>,
    /// Skip when the content equals the newest backup's (scheduled and change backups).
    pub skip_unchanged: bool,
}

/// How a backup request ended.
#[derive(Debug, Clone)]
pub enum BackupOutcome {
    /// A new backup is on disk.
    Created {
        /// It.
        record: BackupRecord,
        /// The external copy failed (the backup itself is safe).
        external_error: Option<String>,
    },
    /// The content equals this existing backup; nothing was written.
    Unchanged(BackupRecord),
}

impl BackupOutcome {
    /// The backup that holds the content: the new one, or the existing one it equals.
    pub fn into_record(self) -> BackupRecord {
        match self {
            BackupOutcome::Created { record, .. } | BackupOutcome::Unchanged(record) => record,
        }
    }
}

impl AppService {
    /// Backs an app up (waiting for any operation on it to finish first).
    pub async fn backup(
        self: &Arc<Self>,
        name: &str,
        request: BackupRequest,
        progress: ProgressFn,
    ) -> Result<BackupOutcome, AppError> {
        let (mut result, used) = self.backup_once(name, request.clone(), progress.clone()).await;
        // A live file that stopped decrypting may have been re-encrypted by its app for new
        // keys: if the keyring has new ones, the backups were re-encrypted for them; try again.
        if let (Err(AppError::Live(err)), Some((app, codec))) = (&result, &used) {
            let undecryptable = matches!(err, LiveError::Unverifiable { .. });
            if undecryptable && self.keys_changed_since(app, codec).await {
                result = self.backup_once(name, request, progress).await.0;
            }
        }
        let runtime = self.runtime(name);
        runtime.observe(|o| o.last_error = result.as_ref().err().map(ToString::to_string));
        if let (Err(err), Ok(app)) = (&result, self.record(name)) {
            self.announce(&app, EventKind::BackupFailed, err.to_string());
        }
        result
    }

    /// One attempt under the app's lock; also the app and codec it used, when it got that far.
    async fn backup_once(
        self: &Arc<Self>,
        name: &str,
        request: BackupRequest,
        progress: ProgressFn,
    ) -> (Result<BackupOutcome, AppError>, Option<(AppRecord, AppCodec)>) {
        // A client's backup says `busy` behind a long operation; scheduled and change
        // backups queue behind it instead.
        let _op = if request.source == BackupSource::Manual {
            match self.try_lock(name).await {
                Ok(op) => op,
                Err(err) => return (Err(err), None),
            }
        } else {
            self.lock(name).await
        };
        let app = match self.record(name) {
            Ok(app) => app,
            Err(err) => return (Err(err), None),
        };
        let codec = match self.codec(&app).await {
            Ok(codec) => codec,
            Err(err) => return (Err(err), None),
        };
        let service = self.clone();
        let (task_app, task_codec) = (app.clone(), codec.clone());
        let result = tokio::task::spawn_blocking(move || {
            service.backup_locked(&task_app, &task_codec, request, &progress)
        })
        .await
        .unwrap_or_else(|e| Err(AppError::Storage(format!("the backup task failed: {e}"))));
        (result, Some((app, codec)))
    }

    /// The body of a backup; the caller holds the app's lock. Blocking.
    ///
    /// An app's file is copied by the kernel straight into the new backup's temp file and
    /// verified there (see `capture`); the daemon's own state is a snapshot in memory.
    pub fn backup_locked(
        &self,
        app: &AppRecord,
        codec: &AppCodec,
        request: BackupRequest,
        progress: &ProgressFn,
    ) -> Result<BackupOutcome, AppError> {
        if app.builtin {
            let copy = self.take_copy(app, codec)?;
            return self.store_copy(app, &copy, request, progress);
        }
        let place = self.live_place(app)?;
        let dir = self.backup_dir(app);
        let mut catalog = self.catalog(app)?;
        let cannot_write = |err| cannot_write(app, &dir, err);
        std::fs::create_dir_all(&dir).map_err(cannot_write)?;
        let created_unix_ms = unix_ms_now();
        let external = self.external_dir(app);
        let name = free_name(
            &dir,
            &safe_name(&app.name),
            &catalog,
            created_unix_ms,
            external.map(|e| e.path),
        );
        let label = app.name.clone();
        let mut report = |done: u64, total: u64| progress(&label, done, total, "bytes");
        let staged =
            stage_verified(&place, &dir.join(&name), codec, self.read_policy(), &mut report);
        let staged = match staged {
            Ok(staged) => {
                self.note_read(app, Ok(staged.bad_reads));
                staged
            }
            Err(CaptureError::Live(err)) => {
                self.note_read(app, Err(&err));
                return Err(AppError::Live(err));
            }
            Err(err @ CaptureError::Copy { .. }) => {
                return Err(AppError::Storage(format!("backup of {:?} failed: {err}", app.name)))
            }
        };
        if let Some(same) = unchanged(&catalog, &request, &staged.sha256) {
            return Ok(same);
        }
        let backup = new_backup(staged.size, staged.sha256, created_unix_ms, request.clone());
        let written = commit_staged(&dir, name, &mut catalog, staged.file, backup, external)
            .map_err(cannot_write)?;
        self.finish_backup(app, catalog, written, &request)
    }

    /// A verified copy of the live file (or, for the daemon's own state, a snapshot of it),
    /// recording what the attempt saw. Blocking.
    pub fn take_copy(&self, app: &AppRecord, codec: &AppCodec) -> Result<VerifiedCopy, AppError> {
        if app.builtin {
            let bytes = self.state_snapshot()?;
            let sha256 = sha256_hex(&bytes);
            return Ok(VerifiedCopy { bytes, sha256, bad_reads: 0 });
        }
        let place = self.live_place(app)?;
        let result = read_verified(&place, codec, self.read_policy());
        self.note_read(app, result.as_ref().map(|copy| copy.bad_reads));
        result.map_err(AppError::Live)
    }

    /// An app's external backup folder, written as its owner.
    pub fn external_dir<'a>(&self, app: &'a AppRecord) -> Option<ExternalDir<'a>> {
        let owner = Principal::of_uid(app.owner_uid);
        app.external_dir.as_deref().map(|path| ExternalDir { path, owner })
    }

    /// Opens the directory of an app's live file through the path resolver, as the app's
    /// owner: no symlink in any component, the owner's own directory (unless the owner is root
    /// or the daemon's user), and inside the allowed places. Every read and replacement of the
    /// live file goes through the place this returns, so a symlink or directory swapped in
    /// after `app add` can neither redirect nor widen what the daemon touches.
    pub fn live_place(&self, app: &AppRecord) -> Result<Place, AppError> {
        let refused = |err: AppError| {
            tracing::warn!(app = %app.name, "refused to use the app's file: {err}");
            self.runtime(&app.name)
                .observe(|o| o.live_problem = Some(LiveProblem::Unreadable(err.to_string())));
            err
        };
        if let Some(why) = self.config.refuse(&app.path) {
            return Err(refused(AppError::Invalid(format!(
                "refused to use {} for app {:?}: {why}",
                app.path.display(),
                app.name
            ))));
        }
        paths::place(Principal::of_uid(app.owner_uid), &app.path)
            .map_err(|err| refused(AppError::Path(err)))
    }

    /// Records what a read of the live file saw, for `app list`: torn reads, or why no good
    /// copy could be taken (logged too).
    fn note_read(&self, app: &AppRecord, outcome: Result<u32, &LiveError>) {
        let runtime = self.runtime(&app.name);
        match outcome {
            Ok(bad_reads) => runtime.observe(|o| {
                o.bad_reads += u64::from(bad_reads);
                o.live_problem = None;
            }),
            Err(err) => {
                let problem = if err.is_missing() {
                    LiveProblem::Missing(err.to_string())
                } else {
                    LiveProblem::Unreadable(err.to_string())
                };
                let bad = match err {
                    LiveError::Unverifiable { attempts, .. } => u64::from(*attempts),
                    _ => 0,
                };
                tracing::warn!(app = %app.name, "no good copy of the live file: {err}");
                runtime.observe(|o| {
                    o.bad_reads += bad;
                    o.live_problem = Some(problem);
                });
            }
        }
    }

    /// Stores a verified copy held in memory as a backup and prunes. Blocking; the caller
    /// holds the lock.
    pub fn store_copy(
        &self,
        app: &AppRecord,
        copy: &VerifiedCopy,
        request: BackupRequest,
        progress: &ProgressFn,
    ) -> Result<BackupOutcome, AppError> {
        let dir = self.backup_dir(app);
        let mut catalog = self.catalog(app)?;
        if let Some(same) = unchanged(&catalog, &request, &copy.sha256) {
            return Ok(same);
        }
        let total = copy.bytes.len() as u64;
        let name = app.name.clone();
        let mut report = |done: u64, _: u64| progress(&name, done, total, "bytes");
        let backup = new_backup(total, copy.sha256.clone(), unix_ms_now(), request.clone());
        let written = write_backup(
            &dir,
            &safe_name(&app.name),
            &mut catalog,
            &copy.bytes,
            backup,
            self.external_dir(app),
            &mut report,
        )
        .map_err(|err| cannot_write(app, &dir, err))?;
        self.finish_backup(app, catalog, written, &request)
    }

    /// After a new backup is on disk and in `catalog`: log and announce it, prune what the
    /// rules let go, and save the catalog once.
    fn finish_backup(
        &self,
        app: &AppRecord,
        mut catalog: Catalog,
        (record, external_error): (BackupRecord, Option<String>),
        request: &BackupRequest,
    ) -> Result<BackupOutcome, AppError> {
        let dir = self.backup_dir(app);
        if let Some(err) = &external_error {
            tracing::warn!(app = %app.name, "{err}");
        }
        tracing::info!(app = %app.name, backup = %record.name, bytes = record.size, source = ?record.source, "backup written");
        let source = serde_json::to_value(record.source).ok();
        let source = source.as_ref().and_then(|v| v.as_str()).unwrap_or("unknown");
        self.announce(app, EventKind::BackupMade, format!("{} ({source})", record.name));
        // A copy saved before a restore, a change or a migration must not push out the
        // backup about to be restored: those wait for the next ordinary backup to prune.
        let routine = !matches!(
            request.source,
            BackupSource::BeforeRestore | BackupSource::BeforeModify | BackupSource::BeforeMigrate
        );
        // What the rules let go leaves the catalog in the same (single) save that records
        // the new backup; the files are deleted after it, so a crash in between leaves an
        // unlisted file, never a listed one that is gone.
        let doomed = if routine { prune(&mut catalog, &app.keep) } else { Vec::new() };
        self.save_catalog(app, &catalog)?;
        let name = app.name.clone();
        // A file that cannot be deleted stays, unlisted; the next prune does not see it.
        let remove = move || drop(delete_pruned(&dir, &name, &doomed));
        // Unlinking a pruned 50 MB file costs ~10 ms of freeing extents. The catalog no
        // longer lists it, so it is deleted after the answer, on the blocking pool.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(remove)),
            Err(_) => remove(),
        }
        Ok(BackupOutcome::Created { record, external_error })
    }

    /// The daemon's own state as one JSON document: the registry and the config file.
    fn state_snapshot(&self) -> Result<Vec<u8>, AppError> {
        let registry_path = self.with_registry(|r| r.path().to_path_buf());
        let registry: serde_json::Value = match std::fs::read(&registry_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                AppError::Corrupt(format!("{} is damaged: {err}", registry_path.display()))
            })?,
            Err(_) => serde_json::Value::Null,
        };
        let config = self.config_path.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
        let snapshot = serde_json::json!({
            "kind": "cachemgrd-state",
            "registry": registry,
            "config_path": self.config_path.as_ref().map(|p| p.display().to_string()),
            "config": config,
        });
        serde_json::to_vec_pretty(&snapshot).map_err(|err| AppError::Storage(err.to_string()))
    }
}

/// A backup of `app` that could not be written into `dir`.
fn cannot_write(app: &AppRecord, dir: &std::path::Path, err: std::io::Error) -> AppError {
    AppError::storage(
        format!("cannot write a backup of {:?} into {}", app.name, dir.display()),
        err,
    )
}

/// The newest backup when `request` skips unchanged content and it holds `sha256`.
fn unchanged(catalog: &Catalog, request: &BackupRequest, sha256: &str) -> Option<BackupOutcome> {
    if !request.skip_unchanged {
        return None;
    }
    let newest = catalog.newest().filter(|b| b.sha256 == sha256)?;
    tracing::debug!(backup = %newest.name, "unchanged since the last backup; skipped");
    Some(BackupOutcome::Unchanged(newest.clone()))
}

/// The record fields of a new backup.
fn new_backup(
    size: u64,
    sha256: String,
    created_unix_ms: u64,
    request: BackupRequest,
) -> NewBackup {
    NewBackup {
        size,
        sha256,
        created_unix_ms,
        source: request.source,
        pinned: request.pin,
        note: request.note,
    }
}
