//! Listing, pruning and re-verifying stored backups (`borg check --verify-data`: every file
//! is decrypted, not just hashed), recording each result in the app's backup metadata.

use std::sync::Arc;

use cachemgr_proto::{BackupInfo, BadBackup};

use super::backup::ProgressFn;
use super::codec::AppCodec;
use super::error::AppError;
use super::info::backup_info;
use super::live::{read_file, sha256_hex};
use super::registry::AppRecord;
use super::service::AppService;
use super::store::{prune, verdicts};
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
        let _op = self.lock(name).await;
        let app = self.record(name)?;
        let mut catalog = self.catalog(&app)?;
        let dir = self.backup_dir(&app);
        let pruned = prune(&dir, &mut catalog, &app.keep, dry_run);
        if !dry_run && !pruned.is_empty() {
            self.save_catalog(&app, &catalog)?;
        }
        let kept = catalog.backups.len() as u64 - if dry_run { pruned.len() as u64 } else { 0 };
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
            let _op = self.lock(&app.name).await;
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
            let service = self.clone();
            let progress = progress.clone();
            let done_before = report.checked;
            let (checked, bad) = tokio::task::spawn_blocking(move || {
                let name = app.name.clone();
                service.verify_app(&app, &codec, &|done| {
                    progress(&name, done_before + done, total, "files")
                })
            })
            .await
            .map_err(|e| AppError::Storage(format!("the verification task failed: {e}")))??;
            report.checked += checked;
            report.bad.extend(bad);
        }
        Ok(report)
    }

    /// Verifies one app's backups; the caller holds its lock. Blocking.
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
        let max = self.config.max_file_bytes.as_u64();
        for (i, record) in catalog.backups.iter_mut().enumerate() {
            let outcome = read_file(&dir.join(&record.name), max)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
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
                }
                Err(error) => {
                    tracing::warn!(app = %app.name, backup = %record.name, "backup failed verification: {error}");
                    record.verified = false;
                    record.verify_error = Some(error.clone());
                    bad.push(BadBackup {
                        app: app.name.clone(),
                        backup: record.name.clone(),
                        error,
                    });
                }
            }
            progress(i as u64 + 1);
        }
        catalog.last_verify_unix_ms = Some(now);
        catalog.last_verify_bad = bad.len() as u64;
        self.save_catalog(app, &catalog)?;
        Ok((catalog.backups.len() as u64, bad))
    }
}
