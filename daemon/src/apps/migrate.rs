//! `app migrate --new-keys`: a fresh key pair for an app, stored in its keyring in the apps'
//! own layout (so the Python app keeps working), with the live file and every stored backup
//! re-encrypted for it.
//!
//! All or nothing: every file is decrypted with the old keys and re-encrypted (and checked
//! to open) with the new ones in memory first; then the old entries and files are kept and
//! a journal written (`migrate_journal`); then the keyring is written; then the files are
//! replaced one by one. If any step fails, or the daemon dies midway, the old files and
//! keyring entries are put back (at the next start for a crash), so old keys and files
//! stay usable.

use std::path::PathBuf;
use std::sync::Arc;

use cachemgr_proto::AppStrategy;
use zeroize::Zeroizing;

use super::backup::ProgressFn;
use super::codec::AppCodec;
use super::encfile::{generate_passphrase, AppKeyPair, StoredAppKeys};
use super::error::AppError;
use super::keys::{encryptor_of, passphrase_override};
use super::live::{read_file, read_live, read_verified, sha256_hex, LiveError};
use super::migrate_journal::Replaced;
use super::registry::AppRecord;
use super::restore::replace_file;
use super::service::AppService;
use crate::access::paths::{self, Principal};
use crate::store::clock::unix_ms_now;

/// Test hook: fail after this many files have been replaced (`N`), or abort the daemon
/// there (`N:crash`), to prove the rollback and the recovery at start. Read only from the
/// environment of the daemon; unset in any real deployment.
const FAULT_ENV: &str = "CACHEMGRD_TEST_FAIL_MIGRATE_AFTER";

/// How a migration ended.
#[derive(Debug, Clone)]
pub struct MigrateReport {
    /// The encryption now.
    pub strategy: AppStrategy,
    /// Backups re-encrypted.
    pub backups: u64,
}

/// One file to re-encrypt.
struct Target {
    path: PathBuf,
    /// A user's file (the live file or an external copy), written as the app's owner through
    /// the path resolver; else one of the daemon's own backups.
    live: bool,
    /// The backup it is, by name, for updating the catalog.
    backup: Option<String>,
    old: Vec<u8>,
    new: Vec<u8>,
}

impl AppService {
    /// Gives `name` new keys and re-encrypts its files.
    pub async fn migrate(
        self: &Arc<Self>,
        name: &str,
        strategy: Option<AppStrategy>,
        progress: ProgressFn,
    ) -> Result<MigrateReport, AppError> {
        let _op = self.try_lock(name).await?;
        let app = self.record(name)?;
        let target = strategy.unwrap_or(app.strategy);
        let (Some(kind), false) = (encryptor_of(target), app.builtin) else {
            return Err(AppError::Invalid(format!(
                "app {name:?} is not encrypted (strategy none); there are no keys to migrate"
            )));
        };
        if self.keys.store().is_read_only() {
            return Err(AppError::Keys(
                "the app key store is read-only (a systemd credential); new keys cannot be stored"
                    .to_owned(),
            ));
        }
        let old_codec = self.codec(&app).await?;
        let old_stored = self.keys.read_stored(&app.service, &app.app_id).await?;
        let passphrase = match passphrase_override(&app.service) {
            Some(p) => p,
            None => generate_passphrase().map_err(|e| AppError::Keys(e.to_string()))?,
        };
        let (pair, stored) = tokio::task::spawn_blocking(move || {
            let pair = AppKeyPair::generate(kind)?;
            let stored = StoredAppKeys::seal(&pair, &passphrase)?;
            Ok::<_, super::encfile::EncError>((pair, stored))
        })
        .await
        .map_err(|e| AppError::Storage(format!("the key generation task failed: {e}")))?
        .map_err(|e| AppError::Keys(format!("cannot generate new keys: {e}")))?;
        let pair = Arc::new(pair);
        let new_codec = AppCodec::Encrypted(pair.clone());
        let service = self.clone();
        let app_for_prep = app.clone();
        let prep_progress = progress.clone();
        let mut targets = tokio::task::spawn_blocking(move || {
            service.prepare_targets(&app_for_prep, &old_codec, &new_codec, &prep_progress)
        })
        .await
        .map_err(|e| AppError::Storage(format!("the migration task failed: {e}")))??;

        let mut entries = keyring_entries(&stored, &app);
        let rotated_at = unix_ms_now();
        let rotated_user = format!("{}__key_rotated_at", app.app_id);
        entries.push((rotated_user.clone(), Zeroizing::new(iso_time(rotated_at))));
        let store = self.keys.store();
        let mut old_entries = keyring_entries(&old_stored, &app);
        if let Ok(Some(previous)) = store.read(&app.service, &rotated_user).await {
            old_entries.push((rotated_user, previous));
        }
        let new_users = entries.iter().map(|(user, _)| user.clone()).collect();
        let replaced: Vec<Replaced<'_>> = targets
            .iter()
            .map(|t| Replaced { path: &t.path, live: t.live, old: &t.old, new: &t.new })
            .collect();
        let mut journal = self.begin_migration(&app, &old_entries, new_users, &replaced).await?;
        drop(replaced);
        if let Err(err) = store.write_entries(&app.service, &entries).await {
            let outcome = rollback_outcome(self.roll_back_migration(&journal).await);
            return Err(AppError::Keys(format!("cannot store the new keys: {err}; {outcome}")));
        }

        let service = self.clone();
        let app_for_swap = app.clone();
        let backups = targets.iter().filter(|t| t.backup.is_some()).count() as u64;
        let swapped = tokio::task::spawn_blocking(move || {
            service.swap_files(&app_for_swap, &mut targets, &progress)
        })
        .await;
        // A task that died (panicked) midway is rolled back like a failed one.
        let result = swapped
            .unwrap_or_else(|e| Err(AppError::Storage(format!("the migration task failed: {e}"))));
        let mut record = app.clone();
        record.strategy = target;
        record.key_rotated_at_unix_ms = Some(rotated_at);
        let result = result.and_then(|()| Ok(self.with_registry(|r| r.put(record))?));
        if let Err(err) = result {
            let outcome = rollback_outcome(self.roll_back_migration(&journal).await);
            tracing::warn!(app = %name, "migration failed: {err}; {outcome}");
            return Err(AppError::Storage(format!("{err}; {outcome}")));
        }
        self.end_migration(&mut journal).await;
        // Chunks of the old keys beyond the new counts are left over: remove them.
        for (user, _) in
            old_entries.iter().filter(|(user, _)| !entries.iter().any(|(new, _)| new == user))
        {
            if let Err(err) = store.delete(&app.service, user).await {
                tracing::warn!(app = %name, entry = %user, "cannot delete a leftover key entry: {err}");
            }
        }
        self.keys.install(&app.service, &app.app_id, pair);
        tracing::info!(app = %name, strategy = target.as_str(), backups, "app keys migrated");
        Ok(MigrateReport { strategy: target, backups })
    }

    /// Reads and re-encrypts every file in memory, checking each opens with the new keys.
    fn prepare_targets(
        &self,
        app: &AppRecord,
        old: &AppCodec,
        new: &AppCodec,
        progress: &ProgressFn,
    ) -> Result<Vec<Target>, AppError> {
        let catalog = self.catalog(app)?;
        let dir = self.backup_dir(app);
        let total = 1 + catalog.backups.len() as u64;
        let reseal = |bytes: &[u8], what: &str| -> Result<Vec<u8>, AppError> {
            let plain = old.open(bytes).map_err(|e| AppError::corrupt(what, &e))?;
            let sealed = new
                .seal(&plain)
                .map_err(|e| AppError::Storage(format!("cannot re-encrypt {what}: {e}")))?;
            new.verify(&sealed)
                .map_err(|e| AppError::corrupt(format!("{what} re-encrypted"), &e))?;
            Ok(sealed)
        };
        let live = read_verified(&self.live_place(app)?, old, self.read_policy())?;
        let new_live = reseal(&live.bytes, &app.path.display().to_string())?;
        let mut targets = vec![Target {
            path: app.path.clone(),
            live: true,
            backup: None,
            old: live.bytes,
            new: new_live,
        }];
        progress(&app.name, 1, total, "files");
        // A backup in quarantine did not open when last checked: it is left as it is.
        let backups = catalog.backups.iter().filter(|b| b.quarantined.is_none());
        for (i, record) in backups.enumerate() {
            let path = dir.join(&record.name);
            let bytes = read_file(&path, self.config.max_file_bytes.as_u64())?;
            let sealed = reseal(&bytes, &format!("backup {}", record.name))?;
            if let Some(ext) = record.external_path.as_ref() {
                // The owner's copy, read as the owner (never through a symlink).
                let owner = Principal::of_uid(app.owner_uid);
                let max = self.config.max_file_bytes.as_u64();
                let read = paths::place(owner, ext)
                    .map_err(LiveError::Refused)
                    .and_then(|place| read_live(&place, max));
                if let Ok(ext_bytes) = read {
                    let ext_sealed = reseal(&ext_bytes, &ext.display().to_string())?;
                    targets.push(Target {
                        path: ext.clone(),
                        live: true,
                        backup: None,
                        old: ext_bytes,
                        new: ext_sealed,
                    });
                }
            }
            targets.push(Target {
                path,
                live: false,
                backup: Some(record.name.clone()),
                old: bytes,
                new: sealed,
            });
            progress(&app.name, i as u64 + 2, total, "files");
        }
        Ok(targets)
    }

    /// Replaces the files, then records their new sizes and hashes. On a failure the
    /// caller rolls back from the journal's copies.
    fn swap_files(
        &self,
        app: &AppRecord,
        targets: &mut [Target],
        progress: &ProgressFn,
    ) -> Result<(), AppError> {
        let fault = std::env::var(FAULT_ENV).ok();
        let fault = fault.as_deref().and_then(|v| {
            let (count, crash) = v.strip_suffix(":crash").map_or((v, false), |n| (n, true));
            count.parse::<usize>().ok().map(|n| (n, crash))
        });
        let total = targets.len() as u64;
        for (done, target) in targets.iter().enumerate() {
            if let Some((after, crash)) = fault.filter(|(after, _)| done >= *after) {
                if crash {
                    tracing::error!("{FAULT_ENV}: aborting after {after} files");
                    std::process::abort();
                }
                return Err(AppError::Storage(format!(
                    "injected failure after {done} files ({FAULT_ENV})"
                )));
            }
            let user = target.live.then(|| Principal::of_uid(app.owner_uid));
            replace_file(&target.path, user, &target.new).map_err(|err| {
                AppError::storage(format!("cannot replace {}", target.path.display()), err)
            })?;
            progress(&app.name, done as u64 + 1, total, "files");
        }
        let mut catalog = self.catalog(app)?;
        for target in targets.iter() {
            if let Some(name) = &target.backup {
                if let Some(record) = catalog.backups.iter_mut().find(|b| &b.name == name) {
                    record.sha256 = sha256_hex(&target.new);
                    record.size = target.new.len() as u64;
                }
            }
        }
        self.save_catalog(app, &catalog)
    }
}

/// What a failed migration's rollback left, for its error message.
fn rollback_outcome(complete: bool) -> &'static str {
    if complete {
        "the migration was rolled back, the old keys and files stay in use"
    } else {
        "the rollback is incomplete (see the daemon's log); the next start of the daemon \
         finishes it from the migration journal"
    }
}

/// The keyring entries of `stored` for `app`; without the passphrase when the user keeps it
/// in the environment (`<SERVICE>_PASSPHRASE`), which must not be copied into the keyring.
fn keyring_entries(stored: &StoredAppKeys, app: &AppRecord) -> Vec<(String, Zeroizing<String>)> {
    let mut entries = stored.to_entries(&app.app_id);
    if passphrase_override(&app.service).is_some() {
        entries.retain(|(user, _)| !user.ends_with("__passphrase"));
    }
    entries
}

/// ISO 8601 (UTC) of a Unix time in ms, as Python's `datetime.isoformat()` would read it.
fn iso_time(unix_ms: u64) -> String {
    jiff::Timestamp::from_millisecond(i64::try_from(unix_ms).unwrap_or(0))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default()
}
