//! Result types of the app and backup calls ([`crate::Client::app_import`] and friends): the
//! answer's fields as a plain struct, so callers never match on `ResponseBody` and `--json`
//! prints exactly what the daemon said.

use cachemgr_proto::{AppStrategy, BackupInfo, BadBackup, JsonNode};
use serde::Serialize;

/// Answer of [`crate::Client::app_import`]: what was adopted from the Python Cache Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Apps registered, by name.
    pub apps: Vec<String>,
    /// Existing backups adopted.
    pub backups: u64,
    /// What was not imported, one line each with the reason.
    pub skipped: Vec<String>,
}

/// Answer of [`crate::Client::app_inspect`]: the structure of an app's decrypted JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectReport {
    /// The app.
    pub app: String,
    /// The nodes in document order.
    pub nodes: Vec<JsonNode>,
}

/// Answer of [`crate::Client::app_set`]: the value is changed and the file replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModifyReport {
    /// The app.
    pub app: String,
    /// The backup of the file as it was before, to go back to.
    pub backup: String,
}

/// Answer of [`crate::Client::app_migrate`]: the app's keys are new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrateReport {
    /// The app.
    pub app: String,
    /// Its encryption now.
    pub strategy: AppStrategy,
    /// Backups re-encrypted with the new keys.
    pub backups: u64,
}

/// Answer of [`crate::Client::backup_list`]: an app's backups, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupList {
    /// The app.
    pub app: String,
    /// The backups, each with why it is kept.
    pub backups: Vec<BackupInfo>,
}

/// Answer of [`crate::Client::backup_prune`]: what the retention rules removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// The app.
    pub app: String,
    /// Nothing was deleted; `removed` is what would go.
    pub dry_run: bool,
    /// The backups removed (or that would be); each one's `kept_because` holds why it goes.
    pub removed: Vec<BackupInfo>,
    /// Backups kept.
    pub kept: u64,
}

/// Answer of [`crate::Client::backup_verify`]: how many backups decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Backups decrypted.
    pub checked: u64,
    /// The ones that failed.
    pub bad: Vec<BadBackup>,
}

/// Answer of [`crate::Client::backup_restore`]: which backup is live now and what became of
/// the file it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreAppReport {
    /// The app.
    pub app: String,
    /// The backup now live.
    pub backup: String,
    /// The backup made of the replaced file, when that file decrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_as: Option<String>,
    /// Where the replaced file was moved when it did not decrypt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<String>,
}
