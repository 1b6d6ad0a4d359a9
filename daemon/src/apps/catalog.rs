//! The metadata of one app's backups, kept beside them as `backups.json` so that a backup
//! directory copied elsewhere still says what each file is. Replaced atomically.

use std::io;
use std::path::{Path, PathBuf};

use cachemgr_proto::BackupSource;
use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomic;

/// Name of the metadata file in each app's backup directory.
pub const CATALOG_FILE: &str = "backups.json";
/// Folder of an app's backup directory holding what failed verification: backups (under
/// their names) and live files a restore replaced (see `restore`). Nothing in it is ever
/// deleted by the daemon.
pub const QUARANTINE_DIR: &str = "quarantine";
const CATALOG_VERSION: u32 = 1;

/// One stored backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// File name in the app's backup directory.
    pub name: String,
    /// When it was taken (Unix ms).
    pub created_unix_ms: u64,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Whether it decrypted when written or last verified.
    pub verified: bool,
    /// When it was last decrypted successfully or found bad (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_unix_ms: Option<u64>,
    /// What was wrong at the last verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_error: Option<String>,
    /// Never pruned.
    #[serde(default)]
    pub pinned: bool,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What made it.
    pub source: BackupSource,
    /// The copy in the external directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_path: Option<PathBuf>,
    /// Why it is in quarantine (it failed verification): its file is then in
    /// [`QUARANTINE_DIR`], it is never pruned, and only an operator removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<String>,
}

impl BackupRecord {
    /// Where its file is in the app's backup directory `dir`: the quarantine folder for a
    /// quarantined backup.
    pub fn file_in(&self, dir: &Path) -> PathBuf {
        match self.quarantined {
            Some(_) => dir.join(QUARANTINE_DIR).join(&self.name),
            None => dir.join(&self.name),
        }
    }

    /// A backup that counts as good: it verified and is not in quarantine.
    pub fn is_good(&self) -> bool {
        self.verified && self.quarantined.is_none()
    }
}

/// The metadata file of one app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Format version.
    #[serde(default)]
    pub version: u32,
    /// Backups, oldest first.
    pub backups: Vec<BackupRecord>,
    /// When the scheduler last ran this app's schedule (Unix ms), so a restart knows what
    /// it missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scheduled_unix_ms: Option<u64>,
    /// When every stored backup was last re-verified (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verify_unix_ms: Option<u64>,
    /// How many failed then.
    #[serde(default)]
    pub last_verify_bad: u64,
    /// The last backup file name handed out, so a name is never given twice (a backup
    /// pruned within the second it was made must not lend its name to a newer one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_issued: Option<String>,
    /// The uid of the app these backups belong to: a later app of the same name registered
    /// by someone else must not inherit them (`None`: written before owners were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_uid: Option<u32>,
}

impl Catalog {
    /// Reads the catalog of `dir` (empty when there is none yet).
    pub fn load(dir: &Path) -> io::Result<Catalog> {
        let path = dir.join(CATALOG_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is damaged: {err}", path.display()),
                )
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Catalog::default()),
            Err(err) => Err(err),
        }
    }

    /// Writes it atomically into `dir` (created when missing).
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut file = self.clone();
        file.version = CATALOG_VERSION;
        let bytes = serde_json::to_vec_pretty(&file).map_err(io::Error::other)?;
        write_atomic(dir.join(CATALOG_FILE), &bytes)
    }

    /// The newest backup that decrypted.
    pub fn last_good(&self) -> Option<&BackupRecord> {
        self.backups.iter().filter(|b| b.is_good()).max_by_key(|b| b.created_unix_ms)
    }

    /// The newest backup not in quarantine (for "unchanged since" checks: content equal to
    /// a quarantined backup still gets a new backup).
    pub fn newest(&self) -> Option<&BackupRecord> {
        self.backups.iter().filter(|b| b.quarantined.is_none()).max_by_key(|b| b.created_unix_ms)
    }

    /// A backup by file name.
    pub fn find(&self, name: &str) -> Option<&BackupRecord> {
        self.backups.iter().find(|b| b.name == name)
    }

    /// Whether a file name is taken.
    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Adds a backup, keeping the list in time order.
    pub fn add(&mut self, record: BackupRecord) {
        self.backups.push(record);
        self.backups.sort_by_key(|b| b.created_unix_ms);
    }
}
