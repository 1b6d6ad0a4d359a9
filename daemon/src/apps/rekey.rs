//! When an app's keys change in the keyring behind the daemon's back (the Python app or its
//! Cache Manager rotated them), the daemon notices without a restart (`AppKeys::refresh`,
//! called when a file stops verifying and on the `key_check_every` timer) and, while the old
//! private key is still in its memory, re-encrypts its own backups of that app for the new
//! keys, so they stay restorable. The live file is the app's business: it re-encrypts it.
//!
//! Crash safety: before the first file changes, a journal `<state_dir>/rekeying/<app>.json`
//! keeps the old private key sealed in the `.enc` format for the **new** public key (so only
//! the keys now in the keyring open it; nothing else is kept of it). Each file is then
//! replaced atomically (temp file, fsync, rename, directory fsync), the old bytes staying in
//! place until the new ones are, and the catalog is saved after each file. A daemon killed
//! midway leaves every backup whole, under the old keys or the new ones; the next start (or
//! the next key check) reopens the old key from the journal and finishes, then removes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::codec::AppCodec;
use super::encfile::{self, AppKeyPair, AppPrivateKey, EncryptorType};
use super::error::AppError;
use super::keys::{encryptor_of, KeyChange};
use super::live::{read_file, read_live, sha256_hex};
use super::migrate_journal::read_journals;
use super::naming::safe_name;
use super::registry::AppRecord;
use super::restore::replace_live;
use super::service::AppService;
use super::store::move_backup_file;
use crate::access::paths::{self, Principal};
use crate::atomic_file::write_atomic;
use crate::store::clock::unix_ms_now;

/// Test hook: after this many files re-encrypted, write `<state_dir>/rekeying/held` and stop
/// there (the thread waits forever), so a test can kill the daemon mid-way at a known point.
/// Read only from the daemon's environment; unset in any real deployment.
const HOLD_ENV: &str = "CACHEMGRD_TEST_HOLD_REKEY_AFTER";

/// What a re-encryption in flight needs to be finished by another run of the daemon.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    /// The app whose backups are being re-encrypted.
    app: String,
    /// The type of both key pairs.
    encryptor_type: String,
    /// The old private key's bytes, sealed in the `.enc` format for the new public key, base64.
    old_key: String,
}

/// How a re-encryption of one app's backups went.
#[derive(Debug, Default, Clone, Copy)]
pub struct RekeyReport {
    /// Backups re-encrypted from the old keys.
    pub reencrypted: u64,
    /// Backups already under the new keys (done before a crash, or by the app itself).
    pub current: u64,
    /// Backups that open with neither: left for verification to quarantine.
    pub unreadable: u64,
}

fn root(state_dir: &Path) -> PathBuf {
    state_dir.join("rekeying")
}

fn journal_path(state_dir: &Path, app: &str) -> PathBuf {
    root(state_dir).join(format!("{}.json", safe_name(app)))
}

impl AppService {
    /// Re-reads the keys `app` uses; when the keyring holds new ones, re-encrypts the backups
    /// of every app using them and says whether a backup or a check made with `used` should
    /// be tried again (the keys in use are no longer `used`).
    pub async fn keys_changed_since(self: &Arc<Self>, app: &AppRecord, used: &AppCodec) -> bool {
        let AppCodec::Encrypted(used) = used else { return false };
        if let Err(err) = self.notice_key_change(&app.service, &app.app_id).await {
            tracing::warn!(app = %app.name, "cannot check the app's keys again: {err}");
        }
        self.keys.current(&app.service, &app.app_id).is_some_and(|now| !Arc::ptr_eq(&now, used))
    }

    /// Checks the keys of (service, app id) against the keyring; on a change re-encrypts the
    /// backups of each app using them (one app at a time, under its lock). Whether they
    /// changed.
    pub async fn notice_key_change(
        self: &Arc<Self>,
        service: &str,
        app_id: &str,
    ) -> Result<bool, AppError> {
        let Some(change) = self.keys.refresh(service, app_id).await? else { return Ok(false) };
        let apps: Vec<AppRecord> = self
            .records()
            .into_iter()
            .filter(|a| a.service == service && a.app_id == app_id && !a.builtin)
            .filter(|a| encryptor_of(a.strategy).is_some())
            .collect();
        for app in apps {
            let _op = self.lock(&app.name).await;
            if let Err(err) = self.rekey_with_journal(&app, &change).await {
                tracing::error!(app = %app.name, "backups not re-encrypted for the new keys: {err}");
            }
        }
        Ok(true)
    }

    /// Writes the journal, re-encrypts, removes the journal. The caller holds the app's lock.
    async fn rekey_with_journal(
        self: &Arc<Self>,
        app: &AppRecord,
        change: &KeyChange,
    ) -> Result<RekeyReport, AppError> {
        let journal = seal_old_key(&app.name, change)?;
        self.save_rekey_journal(&journal)?;
        let old = AppCodec::Encrypted(change.old.clone());
        let new = AppCodec::Encrypted(change.new.clone());
        let report = self.rekey_blocking(app, old, new).await?;
        self.remove_rekey_journal(&app.name);
        Ok(report)
    }

    async fn rekey_blocking(
        self: &Arc<Self>,
        app: &AppRecord,
        old: AppCodec,
        new: AppCodec,
    ) -> Result<RekeyReport, AppError> {
        let service = self.clone();
        let app = app.clone();
        tokio::task::spawn_blocking(move || service.rekey_backups(&app, &old, &new))
            .await
            .map_err(|e| AppError::Storage(format!("the re-encryption task failed: {e}")))?
    }

    /// Re-encrypts each backup of `app` (in quarantine too) that opens with `old` for `new`,
    /// and records what now verifies. Blocking; the caller holds the app's lock.
    fn rekey_backups(
        &self,
        app: &AppRecord,
        old: &AppCodec,
        new: &AppCodec,
    ) -> Result<RekeyReport, AppError> {
        let dir = self.backup_dir(app);
        let mut catalog = self.catalog(app)?;
        let max = self.config.max_file_bytes.as_u64();
        let hold = std::env::var(HOLD_ENV).ok().and_then(|v| v.parse::<u64>().ok());
        let mut report = RekeyReport::default();
        for index in 0..catalog.backups.len() {
            let record = catalog.backups[index].clone();
            let path = record.file_in(&dir);
            // A missing or unreadable file is for verification to report.
            let Ok(bytes) = read_file(&path, max) else { continue };
            let now = if new.verify(&bytes).is_ok() {
                report.current += 1;
                bytes
            } else {
                let Some(sealed) = reseal(&bytes, old, new) else {
                    report.unreadable += 1;
                    continue;
                };
                write_atomic(&path, &sealed).map_err(|err| {
                    AppError::storage(format!("cannot re-encrypt {}", path.display()), err)
                })?;
                report.reencrypted += 1;
                if hold.is_some_and(|after| report.reencrypted >= after) {
                    self.hold_here();
                }
                sealed
            };
            let entry = &mut catalog.backups[index];
            entry.sha256 = sha256_hex(&now);
            entry.size = now.len() as u64;
            entry.verified = true;
            entry.verify_error = None;
            entry.verified_unix_ms = Some(unix_ms_now());
            if entry.quarantined.is_some() {
                let back = dir.join(&entry.name);
                move_backup_file(&path, &back).map_err(|err| {
                    AppError::storage(format!("cannot move {} back", path.display()), err)
                })?;
                entry.quarantined = None;
                tracing::info!(app = %app.name, backup = %entry.name, "released from quarantine: it opens with the new keys");
            }
            if let Some(ext) = entry.external_path.clone() {
                rekey_external(&ext, Principal::of_uid(app.owner_uid), old, new, max);
            }
            self.save_catalog(app, &catalog)?;
        }
        tracing::info!(
            app = %app.name,
            reencrypted = report.reencrypted,
            current = report.current,
            unreadable = report.unreadable,
            "backups re-encrypted for the app's new keys"
        );
        Ok(report)
    }

    /// The test hook's stop: says where it is, then waits to be killed.
    fn hold_here(&self) {
        let marker = root(&self.state_dir).join("held");
        if let Err(err) = write_atomic(&marker, b"") {
            tracing::error!("{HOLD_ENV}: cannot write {}: {err}", marker.display());
        }
        tracing::error!("{HOLD_ENV}: holding the re-encryption until the daemon is killed");
        loop {
            std::thread::park();
        }
    }

    /// Finishes what re-encryption journals left by an earlier run (or a failed attempt) say:
    /// reopens the old key with the keys now in use and re-encrypts what is still sealed for
    /// it. A journal whose old key no longer opens (the keys changed again) is removed: what
    /// is left under that key is quarantined by verification, never deleted.
    pub async fn finish_rekeys(self: &Arc<Self>) {
        for journal in read_journals::<Journal>(&root(&self.state_dir), "re-encryption") {
            if let Err(err) = self.finish_rekey(&journal).await {
                tracing::warn!(app = %journal.app, "cannot finish re-encrypting backups now; tried again later: {err}");
            }
        }
    }

    async fn finish_rekey(self: &Arc<Self>, journal: &Journal) -> Result<(), AppError> {
        let Ok(app) = self.record(&journal.app) else {
            self.remove_rekey_journal(&journal.app);
            return Ok(());
        };
        let _op = self.lock(&app.name).await;
        let new = self.codec(&app).await?;
        let AppCodec::Encrypted(pair) = &new else {
            self.remove_rekey_journal(&app.name);
            return Ok(());
        };
        let old = match open_old_key(journal, pair) {
            Ok(old) => old,
            Err(why) => {
                tracing::error!(app = %app.name, "the old keys of an interrupted re-encryption no longer open ({why}); backups still sealed for them will be quarantined by verification");
                self.remove_rekey_journal(&app.name);
                return Ok(());
            }
        };
        tracing::warn!(app = %app.name, "finishing an interrupted re-encryption of backups");
        self.rekey_blocking(&app, AppCodec::Encrypted(Arc::new(old)), new).await?;
        self.remove_rekey_journal(&app.name);
        Ok(())
    }

    fn save_rekey_journal(&self, journal: &Journal) -> Result<(), AppError> {
        let path = journal_path(&self.state_dir, &journal.app);
        let bytes = serde_json::to_vec_pretty(journal)
            .map_err(|e| AppError::Storage(format!("cannot encode the journal: {e}")))?;
        std::fs::create_dir_all(root(&self.state_dir))
            .and_then(|()| write_atomic(&path, &bytes))
            .map_err(|err| AppError::storage(format!("cannot write {}", path.display()), err))
    }

    fn remove_rekey_journal(&self, app: &str) {
        let path = journal_path(&self.state_dir, app);
        if let Err(err) = std::fs::remove_file(&path) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %path.display(), "cannot remove the re-encryption journal: {err}");
            }
        }
    }
}

/// `bytes` (sealed for `old`) sealed for `new` and checked to open; `None` when they do not
/// open with `old` or cannot be sealed again.
fn reseal(bytes: &[u8], old: &AppCodec, new: &AppCodec) -> Option<Vec<u8>> {
    let plain = old.open(bytes).ok()?;
    let sealed = new.seal(&plain).ok()?;
    new.verify(&sealed).ok()?;
    Some(sealed)
}

/// Re-encrypts a backup's external copy too, when it is still sealed for the old keys (the
/// app may have done it already, if it shares the directory). Failures are logged: the copy
/// in the backup directory is the one that counts.
fn rekey_external(path: &Path, owner: Principal, old: &AppCodec, new: &AppCodec, max: u64) {
    // The owner's copy, opened as the owner (never through a symlink) and replaced as theirs.
    let Ok(place) = paths::place(owner, path) else { return };
    let Ok(bytes) = read_live(&place, max) else { return };
    if new.verify(&bytes).is_ok() {
        return;
    }
    let Some(sealed) = reseal(&bytes, old, new) else { return };
    if let Err(err) = replace_live(&place, &sealed) {
        tracing::warn!(file = %path.display(), "cannot re-encrypt the external copy: {err}");
    }
}

/// The journal of `app`: the old private key sealed for the new public key.
fn seal_old_key(app: &str, change: &KeyChange) -> Result<Journal, AppError> {
    let bytes = change
        .old
        .private()
        .to_bytes()
        .map_err(|e| AppError::Keys(format!("cannot keep the old key: {e}")))?;
    let sealed = encfile::encrypt(&bytes, change.new.public())
        .map_err(|e| AppError::Keys(format!("cannot keep the old key: {e}")))?;
    Ok(Journal {
        app: app.to_owned(),
        encryptor_type: change.old.encryptor_type().as_str().to_owned(),
        old_key: BASE64.encode(sealed),
    })
}

/// The old pair of a journal, opened with the pair now in use.
fn open_old_key(journal: &Journal, current: &AppKeyPair) -> Result<AppKeyPair, String> {
    let kind: EncryptorType = journal.encryptor_type.parse().map_err(|e| format!("{e}"))?;
    let sealed = BASE64.decode(&journal.old_key).map_err(|e| e.to_string())?;
    let bytes = encfile::decrypt(&sealed, current.private()).map_err(|e| e.to_string())?;
    let private = AppPrivateKey::from_bytes(kind, &bytes).map_err(|e| e.to_string())?;
    let public = private.public_key().map_err(|e| e.to_string())?;
    AppKeyPair::from_parts(public, private).map_err(|e| e.to_string())
}
