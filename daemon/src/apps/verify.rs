//! Listing, pruning and re-verifying stored backups (`borg check --verify-data`: every file
//! is decrypted, not just hashed), recording each result in the app's backup metadata.
//!
//! A backup that fails is never deleted: it is moved to the backup directory's quarantine
//! folder and kept until an operator removes its file there (the next verification then
//! forgets it). Before that, a failure makes the daemon read the app's keys again, since an
//! app that rotated its keys makes every old backup fail until they are re-encrypted.

use std::path::Path;
use std::sync::Arc;

use cachemgr_proto::{BackupInfo, BadBackup};

use super::backup::ProgressFn;
use super::catalog::{BackupRecord, QUARANTINE_DIR};
use super::codec::AppCodec;
use super::error::AppError;
use super::info::backup_info;
use super::live::{read_file, sha256_hex, LiveError};
use super::registry::AppRecord;
use super::service::AppService;
use super::store::{delete_pruned, move_backup_file, prune, verdicts};
use crate::store::clock::unix_ms_now;

/// The outcome of a verification run.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Backups decrypted.
    pub checked: u64,
    /// The ones that failed.
    pub bad: Vec<BadBackup>,
}

impl AppService {
    /// An app's backups, newest first, each with why it is kept.
    pub fn list_backups(&self, name: &str) -> Result<Vec<BackupInfo>, AppError> {
        let app = self.record(name)?;
        let catalog = self.catalog(&app)?;
        let dir = self.backup_dir(&app);
        let verdicts = verdicts(&catalog, &app.keep);
        let mut list: Vec<BackupInfo> = catalog
            .backups
            .iter()
            .zip(verdicts)
            .map(|(b, why)| backup_info(&dir, b, why))
            .collect();
        list.reverse();
        Ok(list)
    }

    /// Applies the retention rules (or, with `dry_run`, says what they would remove).
    pub async fn prune_backups(
        &self,
        name: &str,
        dry_run: bool,
    ) -> Result<(Vec<BackupInfo>, u64), AppError> {
        let _op = self.try_lock(name).await?;
        let app = self.record(name)?;
        let mut catalog = self.catalog(&app)?;
        let dir = self.backup_dir(&app);
        let mut pruned = prune(&mut catalog, &app.keep);
        if !dry_run && !pruned.is_empty() {
            self.save_catalog(&app, &catalog)?;
            let (dir, name, doomed) = (dir.clone(), app.name.clone(), pruned.clone());
            let stayed = tokio::task::spawn_blocking(move || delete_pruned(&dir, &name, &doomed))
                .await
                .map_err(|err| AppError::storage("pruning backups", std::io::Error::other(err)))?;
            if !stayed.is_empty() {
                // Their files are still there: list them again, as kept.
                pruned.retain(|p| !stayed.iter().any(|s| s.record.name == p.record.name));
                for kept in stayed {
                    catalog.add(kept.record);
                }
                self.save_catalog(&app, &catalog)?;
            }
        }
        let kept = catalog.backups.len() as u64;
        let removed =
            pruned.into_iter().map(|p| backup_info(&dir, &p.record, vec![p.reason])).collect();
        Ok((removed, kept))
    }

    /// Decrypts every stored backup of `name` (or of every app), recording the results.
    pub async fn verify_backups(
        self: &Arc<Self>,
        name: Option<&str>,
        progress: ProgressFn,
    ) -> Result<VerifyReport, AppError> {
        let apps = match name {
            Some(name) => vec![self.record(name)?],
            None => self.records(),
        };
        let mut total = 0u64;
        for app in &apps {
            total += self.catalog(app).map(|c| c.backups.len() as u64).unwrap_or(0);
        }
        let mut report = VerifyReport::default();
        for app in apps {
            let codec = match self.codec(&app).await {
                Ok(codec) => codec,
                Err(err) if name.is_some() => return Err(err),
                Err(err) => {
                    tracing::warn!(app = %app.name, "cannot verify its backups: {err}");
                    report.bad.push(BadBackup {
                        app: app.name.clone(),
                        backup: String::new(),
                        error: err.to_string(),
                    });
                    continue;
                }
            };
            let done_before = report.checked;
            let (mut checked, mut bad) =
                self.verify_one(&app, codec.clone(), &progress, done_before, total).await?;
            // A backup that stopped verifying may mean the app's keys changed: if they did,
            // the backups were re-encrypted for the new ones (and released from quarantine),
            // so check again.
            if !bad.is_empty() && self.keys_changed_since(&app, &codec).await {
                let codec = self.codec(&app).await?;
                (checked, bad) =
                    self.verify_one(&app, codec, &progress, done_before, total).await?;
            }
            report.checked += checked;
            report.bad.extend(bad);
        }
        Ok(report)
    }

    /// Verifies one app's backups under its lock, off the async workers.
    async fn verify_one(
        self: &Arc<Self>,
        app: &AppRecord,
        codec: AppCodec,
        progress: &ProgressFn,
        done_before: u64,
        total: u64,
    ) -> Result<(u64, Vec<BadBackup>), AppError> {
        let _op = self.lock(&app.name).await;
        let service = self.clone();
        let progress = progress.clone();
        let app = app.clone();
        tokio::task::spawn_blocking(move || {
            let name = app.name.clone();
            service.verify_app(&app, &codec, &|done| {
                progress(&name, done_before + done, total, "files")
            })
        })
        .await
        .map_err(|e| AppError::Storage(format!("the verification task failed: {e}")))?
    }

    /// Verifies one app's backups; the caller holds its lock. Blocking.
    ///
    /// A backup that fails is moved to quarantine (never deleted); one in quarantine that
    /// verifies again goes back; one whose file an operator removed from quarantine is
    /// forgotten.
    fn verify_app(
        &self,
        app: &AppRecord,
        codec: &AppCodec,
        progress: &dyn Fn(u64),
    ) -> Result<(u64, Vec<BadBackup>), AppError> {
        let dir = self.backup_dir(app);
        let mut catalog = self.catalog(app)?;
        let now = unix_ms_now();
        let mut bad = Vec::new();
        let mut forgotten = Vec::new();
        let max = self.config.max_file_bytes.as_u64();
        for (i, record) in catalog.backups.iter_mut().enumerate() {
            let path = record.file_in(&dir);
            let read = read_file(&path, max);
            if record.quarantined.is_some() && read.as_ref().is_err_and(LiveError::is_missing) {
                tracing::warn!(app = %app.name, backup = %record.name, "removed from quarantine by an operator; forgotten");
                forgotten.push(record.name.clone());
                continue;
            }
            let outcome = read.map_err(|e| e.to_string()).and_then(|bytes| {
                if sha256_hex(&bytes) != record.sha256 {
                    // Still try to open it: the message says which check failed.
                    codec.verify(&bytes).map_err(|e| e.to_string())?;
                    return Err("its SHA-256 differs from when it was taken".to_owned());
                }
                codec.verify(&bytes).map_err(|e| e.to_string())
            });
            record.verified_unix_ms = Some(now);
            match outcome {
                Ok(()) => {
                    record.verified = true;
                    record.verify_error = None;
                    if record.quarantined.is_some() {
                        match move_backup_file(&path, &dir.join(&record.name)) {
                            Ok(()) => {
                                record.quarantined = None;
                                tracing::info!(app = %app.name, backup = %record.name, "verifies again: released from quarantine");
                            }
                            Err(err) => {
                                tracing::warn!(app = %app.name, backup = %record.name, "verifies again but stays in quarantine: {err}")
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(app = %app.name, backup = %record.name, "backup failed verification: {error}");
                    record.verified = false;
                    record.verify_error = Some(error.clone());
                    if record.quarantined.is_none() {
                        quarantine(app, record, &dir, &path, &error);
                    } else {
                        record.quarantined = Some(error.clone());
                    }
                    bad.push(BadBackup {
                        app: app.name.clone(),
                        backup: record.name.clone(),
                        error,
                    });
                }
            }
            progress(i as u64 + 1);
        }
        catalog.backups.retain(|b| !forgotten.contains(&b.name));
        catalog.last_verify_unix_ms = Some(now);
        catalog.last_verify_bad = bad.len() as u64;
        self.save_catalog(app, &catalog)?;
        Ok((catalog.backups.len() as u64, bad))
    }
}

/// Moves a backup that failed verification into the quarantine folder and records why. A
/// file that is not there is recorded as quarantined all the same (there is nothing to
/// move); one that cannot be moved stays where it is, failed, and is tried again next time.
fn quarantine(app: &AppRecord, record: &mut BackupRecord, dir: &Path, path: &Path, why: &str) {
    let target = dir.join(QUARANTINE_DIR).join(&record.name);
    match move_backup_file(path, &target) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            tracing::warn!(app = %app.name, backup = %record.name, "cannot move a damaged backup to quarantine: {err}");
            return;
        }
    }
    tracing::warn!(app = %app.name, backup = %record.name, "moved to quarantine; kept until an operator removes it");
    record.quarantined = Some(why.to_owned());
}
