//! Crash safety for `app migrate`.
//!
//! Before the first keyring entry or file changes, the old keyring entries are copied to
//! `<entry>__pre_migrate` entries of the same service (the keyring is the only place fit to
//! hold a passphrase), the old files are kept under `<state_dir>/migrating/<app>/` (backups
//! by hard link: the daemon replaces them only by rename, so the old inode stays as it was),
//! and a journal says what is in flight. A migration that ends, well or by its own rollback,
//! removes all of that. One cut short by a crash or a power cut is rolled back when the
//! daemon starts again, so the old keys and files are in use; if the journal says it had
//! committed, only the leftovers are removed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::catalog::Catalog;
use super::error::AppError;
use super::live::sha256_hex;
use super::live::{read_file, read_live, LiveError};
use super::naming::safe_name;
use super::registry::AppRecord;
use super::restore::replace_file;
use super::service::AppService;
use crate::access::paths::{self, Principal};
use crate::atomic_file::write_atomic;

/// Suffix of the keyring entries that hold the old values while a migration runs.
pub const PRE_MIGRATE_SUFFIX: &str = "__pre_migrate";

/// What a migration in flight may have changed, and where the old state is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    /// The app as registered before.
    pub record: AppRecord,
    /// Its backup list before (sizes and hashes change with the files).
    pub catalog: Catalog,
    /// Keyring entries the old keys had; each value is kept as `<user>__pre_migrate`.
    pub old_users: Vec<String>,
    /// Keyring entries the new keys write.
    pub new_users: Vec<String>,
    /// Files to be replaced, with their kept old copies.
    pub files: Vec<KeptFile>,
    /// Every file and entry is new and recorded: only cleaning up is left.
    pub committed: bool,
}

/// A file a migration replaces and the copy of its old content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeptFile {
    /// The file.
    pub path: PathBuf,
    /// Its old content.
    pub kept: PathBuf,
    /// The app's live file (put back with its owner and mode), not a backup.
    pub live: bool,
    /// SHA-256 of the content the migration writes: only a file holding exactly that is
    /// put back (one not replaced yet, or rewritten by its app since, is left alone).
    pub new_sha256: String,
}

/// One file about to be replaced: where, whether it is the live file, its old bytes.
pub struct Replaced<'a> {
    /// The file.
    pub path: &'a Path,
    /// The app's live file.
    pub live: bool,
    /// Its content now.
    pub old: &'a [u8],
    /// What the migration writes.
    pub new: &'a [u8],
}

/// Every `*.json` journal in `dir` that reads; one that does not is logged and left in place
/// for an operator (never deleted). Shared by migrations and re-encryptions.
pub(super) fn read_journals<T: serde::de::DeserializeOwned>(dir: &Path, what: &str) -> Vec<T> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut journals = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let read = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()));
        match read {
            Ok(journal) => journals.push(journal),
            Err(err) => tracing::error!(
                file = %path.display(),
                "cannot read a {what} journal; left in place: {err}"
            ),
        }
    }
    journals
}

/// Where journals and kept copies live.
fn root(state_dir: &Path) -> PathBuf {
    state_dir.join("migrating")
}

fn journal_path(state_dir: &Path, app: &str) -> PathBuf {
    root(state_dir).join(format!("{}.json", safe_name(app)))
}

fn kept_dir(state_dir: &Path, app: &str) -> PathBuf {
    root(state_dir).join(safe_name(app))
}

impl AppService {
    /// Keeps the old keyring entries and files and writes the journal; nothing the app
    /// uses has changed yet. On an error everything kept so far is removed again.
    pub(super) async fn begin_migration(
        &self,
        app: &AppRecord,
        old_entries: &[(String, Zeroizing<String>)],
        new_users: Vec<String>,
        files: &[Replaced<'_>],
    ) -> Result<Journal, AppError> {
        let kept_dir = kept_dir(&self.state_dir, &app.name);
        let mut journal = Journal {
            record: app.clone(),
            catalog: self.catalog(app)?,
            old_users: old_entries.iter().map(|(user, _)| user.clone()).collect(),
            new_users,
            files: Vec::with_capacity(files.len()),
            committed: false,
        };
        let kept = kept_entries(old_entries);
        let prepared = async {
            self.keys.store().write_entries(&app.service, &kept).await.map_err(|err| {
                AppError::Keys(format!(
                    "cannot keep a copy of the old keys, nothing changed: {err}"
                ))
            })?;
            std::fs::create_dir_all(&kept_dir).map_err(|err| {
                AppError::storage(format!("cannot create {}", kept_dir.display()), err)
            })?;
            for (index, file) in files.iter().enumerate() {
                let kept = kept_dir.join(format!("{index}.enc"));
                keep_file(file, &kept).map_err(|err| {
                    AppError::storage(format!("cannot keep a copy of {}", file.path.display()), err)
                })?;
                journal.files.push(KeptFile {
                    path: file.path.to_path_buf(),
                    kept,
                    live: file.live,
                    new_sha256: sha256_hex(file.new),
                });
            }
            self.save_journal(&journal)
        };
        if let Err(err) = prepared.await {
            self.clean_up_migration(&journal).await;
            return Err(err);
        }
        Ok(journal)
    }

    /// Records that the migration is complete, then removes what was kept.
    pub(super) async fn end_migration(&self, journal: &mut Journal) {
        journal.committed = true;
        if let Err(err) = self.save_journal(journal) {
            // The new state is complete; a journal that still says otherwise would roll
            // it back at the next start. Removing it is the next best thing.
            tracing::warn!(app = %journal.record.name, "cannot mark the migration done: {err}");
        }
        self.clean_up_migration(journal).await;
    }

    /// Puts back every kept file and keyring entry, the registry record and the backup
    /// list, then removes what was kept. Each step is tried even when one fails (logged);
    /// if any failed, the journal and the kept copies stay, so the next start tries again
    /// (every step can be repeated). Returns whether the rollback is complete.
    pub(super) async fn roll_back_migration(&self, journal: &Journal) -> bool {
        let app = &journal.record;
        let mut complete = true;
        for file in &journal.files {
            if let Err(err) = put_back(file) {
                complete = false;
                tracing::error!(app = %app.name, file = %file.path.display(), "cannot put the old file back: {err}");
            }
        }
        complete &= self.put_back_keys(journal).await;
        self.keys.forget(&app.service, &app.app_id);
        if let Err(err) = self.with_registry(|r| r.put(app.clone())) {
            complete = false;
            tracing::error!(app = %app.name, "cannot put the app's old settings back: {err}");
        }
        if let Err(err) = self.save_catalog(app, &journal.catalog) {
            complete = false;
            tracing::error!(app = %app.name, "cannot put the old backup list back: {err}");
        }
        if complete {
            self.clean_up_migration(journal).await;
        } else {
            tracing::error!(app = %app.name, "the migration is not fully rolled back; its journal stays and the next start tries again");
        }
        complete
    }

    /// Writes the kept old keyring entries back under their names and deletes the entries
    /// only the new keys had; whether all of it worked.
    async fn put_back_keys(&self, journal: &Journal) -> bool {
        let app = &journal.record;
        let store = self.keys.store();
        let kept_users: Vec<String> =
            journal.old_users.iter().map(|user| format!("{user}{PRE_MIGRATE_SUFFIX}")).collect();
        let found = match store.read_entries(&app.service, &kept_users).await {
            Ok(found) => found,
            Err(err) => {
                tracing::error!(app = %app.name, "cannot read the kept old keys: {err}");
                return false;
            }
        };
        let mut old = Vec::new();
        for user in &journal.old_users {
            match found.get(&format!("{user}{PRE_MIGRATE_SUFFIX}")) {
                Ok(Some(value)) => old.push((user.clone(), value)),
                _ => {
                    tracing::error!(app = %app.name, entry = %user, "the kept copy of a key entry is missing");
                    return false;
                }
            }
        }
        let mut complete = true;
        if let Err(err) = store.write_entries(&app.service, &old).await {
            tracing::error!(app = %app.name, "cannot put the old keys back: {err}");
            complete = false;
        }
        for user in journal.new_users.iter().filter(|u| !journal.old_users.contains(u)) {
            if let Err(err) = store.delete(&app.service, user).await {
                complete = false;
                tracing::error!(app = %app.name, entry = %user, "cannot remove a new key entry: {err}");
            }
        }
        complete
    }

    /// Finishes what journals left by an earlier run say: rolls back migrations a crash cut
    /// short, cleans up committed ones. Runs at start, before anything else touches apps.
    pub async fn recover_migrations(&self) {
        for journal in read_journals::<Journal>(&root(&self.state_dir), "migration") {
            let name = journal.record.name.clone();
            if journal.committed {
                tracing::info!(app = %name, "removing what a completed migration kept");
                self.clean_up_migration(&journal).await;
            } else {
                tracing::warn!(app = %name, "a migration was interrupted (crash or power cut); rolling it back to the old keys and files");
                if self.roll_back_migration(&journal).await {
                    tracing::warn!(app = %name, "rolled back an interrupted migration: the old keys and files are in use");
                }
            }
        }
    }

    /// Removes the kept entries and files and the journal (the journal last).
    async fn clean_up_migration(&self, journal: &Journal) {
        let app = &journal.record;
        for user in &journal.old_users {
            let kept = format!("{user}{PRE_MIGRATE_SUFFIX}");
            if let Err(err) = self.keys.store().delete(&app.service, &kept).await {
                tracing::warn!(app = %app.name, entry = %kept, "cannot remove a kept key entry: {err}");
            }
        }
        let kept_dir = kept_dir(&self.state_dir, &app.name);
        if let Err(err) = std::fs::remove_dir_all(&kept_dir) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %kept_dir.display(), "cannot remove kept files: {err}");
            }
        }
        let journal_path = journal_path(&self.state_dir, &app.name);
        if let Err(err) = std::fs::remove_file(&journal_path) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %journal_path.display(), "cannot remove the migration journal: {err}");
            }
        }
    }

    fn save_journal(&self, journal: &Journal) -> Result<(), AppError> {
        let path = journal_path(&self.state_dir, &journal.record.name);
        let bytes = serde_json::to_vec_pretty(journal).map_err(|err| {
            AppError::Storage(format!("cannot encode the migration journal: {err}"))
        })?;
        write_atomic(&path, &bytes)
            .map_err(|err| AppError::storage(format!("cannot write {}", path.display()), err))
    }
}

/// The old entries under their kept names.
fn kept_entries(old: &[(String, Zeroizing<String>)]) -> Vec<(String, Zeroizing<String>)> {
    old.iter().map(|(user, value)| (format!("{user}{PRE_MIGRATE_SUFFIX}"), value.clone())).collect()
}

/// Keeps the old content of `file` at `kept`: a hard link to a backup (never written in
/// place), else a durable copy of the bytes read (the live file is written in place by
/// its app, so a link would follow its changes).
fn keep_file(file: &Replaced<'_>, kept: &Path) -> std::io::Result<()> {
    if !file.live && std::fs::hard_link(file.path, kept).is_ok() {
        return Ok(());
    }
    write_atomic(kept, file.old)
}

/// Puts a kept file's old content back where the migration's content is (the live file
/// with its mode and owner); anything else there is left as it is.
fn put_back(file: &KeptFile) -> std::io::Result<()> {
    let now = match file.live {
        true => paths::place(Principal::CHECKED, &file.path)
            .map_err(LiveError::Refused)
            .and_then(|place| read_live(&place, u64::MAX)),
        false => read_file(&file.path, u64::MAX),
    };
    let holds_new = now.is_ok_and(|now| sha256_hex(&now) == file.new_sha256);
    if !holds_new {
        return Ok(());
    }
    // A user's file is re-opened without following a symlink anywhere (its owner was checked
    // when the migration began); the daemon's own are written in place.
    let user = file.live.then_some(Principal::CHECKED);
    replace_file(&file.path, user, &std::fs::read(&file.kept)?)
}
