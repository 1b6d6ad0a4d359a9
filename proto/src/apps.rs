//! Registered application caches: the `.enc` files of desktop apps that the daemon backs up,
//! verifies, restores, inspects, modifies and migrates. These are the shapes the `app_*` and
//! `backup_*` requests carry and answer with.

use serde::{Deserialize, Serialize};

/// How an app's cache file is encrypted. The real type of an encrypted file is the one its
/// keyring says (`{app}__encryptor_type`); `none` is a plain JSON file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStrategy {
    /// P-384 ECDH + HKDF-SHA256 + AES-256-GCM.
    Standard,
    /// Round-3 Kyber768 + AES-256-GCM.
    Quantum,
    /// Plain JSON, verified by parsing it.
    None,
}

impl AppStrategy {
    /// Stable name, identical to the wire encoding.
    pub fn as_str(self) -> &'static str {
        match self {
            AppStrategy::Standard => "standard",
            AppStrategy::Quantum => "quantum",
            AppStrategy::None => "none",
        }
    }
}

/// The settings `app_add` sets and `app_edit` changes. Absent fields keep their current value
/// (or the default on `app_add`); `0` turns a schedule or a keep rule off and an empty
/// `external_dir` removes the external copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSettings {
    /// Absolute path of the live cache file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Keyring service (default `MyPersonalApplicationsService`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// App identifier in the keyring's user names (default: the name, lowercased, spaces and
    /// dashes to `_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Encryption; absent on `app_add` = what the keyring's `encryptor_type` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<AppStrategy>,
    /// Milliseconds between scheduled backups; 0 = no schedule (change backups still run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_every_ms: Option<u64>,
    /// Keep the newest N backups (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N days that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u32>,
    /// An app whose last good backup is older than this is stale (default 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_after_ms: Option<u64>,
    /// A second directory every backup is also written to (absolute path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_dir: Option<String>,
}

/// The health of a registered app, worst first in the order an operator acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppHealth {
    /// The live file exists, decrypts, and a recent good backup exists.
    Ok,
    /// The last good backup is older than `stale_after`.
    Stale,
    /// The live file does not exist (deleted or not yet created).
    FileMissing,
    /// The live file exists but could not be read or did not decrypt.
    FileUnreadable,
    /// The app's keys are not in the keyring (or the keyring is locked).
    KeyMissing,
    /// A stored backup failed the last verification.
    BackupDamaged,
}

impl AppHealth {
    /// Stable name, identical to the wire encoding.
    pub fn as_str(self) -> &'static str {
        match self {
            AppHealth::Ok => "ok",
            AppHealth::Stale => "stale",
            AppHealth::FileMissing => "file_missing",
            AppHealth::FileUnreadable => "file_unreadable",
            AppHealth::KeyMissing => "key_missing",
            AppHealth::BackupDamaged => "backup_damaged",
        }
    }
}

/// A registered app as `app_list` and `app_show` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// Its name (unique).
    pub name: String,
    /// Directory-safe form of the name, used for the backup folder and file names.
    pub safe_name: String,
    /// The live file.
    pub path: String,
    /// Keyring service.
    pub service: String,
    /// Keyring app identifier.
    pub app_id: String,
    /// Encryption.
    pub strategy: AppStrategy,
    /// The settings in force (every field present).
    pub settings: AppSettings,
    /// Where its backups are kept.
    pub backup_dir: String,
    /// True for the daemon's own state (registry and config), registered automatically.
    #[serde(default)]
    pub builtin: bool,
    /// The uid of the user who registered it.
    #[serde(default)]
    pub owner_uid: u32,
    /// Health now.
    pub health: AppHealth,
    /// Why, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_detail: Option<String>,
    /// When the newest verified backup was taken (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good_backup_unix_ms: Option<u64>,
    /// Backups stored.
    pub backup_count: u64,
    /// When the next scheduled backup is due (Unix ms); absent without a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_backup_unix_ms: Option<u64>,
    /// When the stored backups were last re-verified (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verify_unix_ms: Option<u64>,
    /// Backups that failed that verification.
    #[serde(default)]
    pub last_verify_bad: u64,
    /// Reads of the live file that were torn or did not decrypt (never kept as backups).
    #[serde(default)]
    pub bad_reads: u64,
    /// The last backup attempt's error, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What made a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupSource {
    /// `backup create`.
    Manual,
    /// The app's `backup_every` schedule.
    Schedule,
    /// The watcher saw the live file change.
    Change,
    /// The live file as it was before a `backup restore` replaced it.
    BeforeRestore,
    /// The live file as it was before `app set` changed it.
    BeforeModify,
    /// The live file as it was before `app migrate` re-encrypted it.
    BeforeMigrate,
    /// Adopted from the Python Cache Manager by `app import-cache-manager`.
    Imported,
}

/// One stored backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// File name (unique per app), e.g. `sd_runner_20261121_101500.enc`.
    pub name: String,
    /// Full path of the file.
    pub path: String,
    /// When it was taken (Unix ms).
    pub created_unix_ms: u64,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Whether it decrypted (GCM tag checked) when taken or last verified.
    pub verified: bool,
    /// Pinned backups are never pruned.
    #[serde(default)]
    pub pinned: bool,
    /// Free text given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What made it.
    pub source: BackupSource,
    /// The copy in the external directory, when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_path: Option<String>,
    /// Why the retention rules keep it (`pinned`, `last 10`, `daily 2026-11-21` ...); empty
    /// when the next prune removes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_because: Vec<String>,
    /// Why it is in quarantine, when it is: it failed verification, its file was moved to the
    /// backup directory's `quarantine/` folder (`path` says where), and it is never pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<String>,
}

/// A backup that failed verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadBackup {
    /// The app.
    pub app: String,
    /// The backup's file name.
    pub backup: String,
    /// What is wrong with it.
    pub error: String,
}

/// One node of a decrypted cache's JSON structure, as `app_inspect` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonNode {
    /// JSON pointer of the node (`""` is the root).
    pub pointer: String,
    /// `object`, `array`, `string`, `number`, `bool` or `null`.
    pub kind: String,
    /// Size of its compact JSON text in bytes.
    pub bytes: u64,
    /// Members of an object or items of an array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u64>,
    /// The value as compact JSON text; only with `show_values`, and only for scalars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The answer to `status`: whether anything needs an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// False while any app is stale or broken (`cachectl status` then exits non-zero).
    pub healthy: bool,
    /// Registered apps.
    pub apps: u64,
    /// One line per problem: which app, what is wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Operator notices (as in `info`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// The shared Redis layer, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<crate::stats::RedisStatus>,
    /// The daemon's background jobs (sweepers, schedulers, monitors); absent from daemons
    /// that do not report them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobStatus>,
}

/// One background job of the daemon, as its supervisor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    /// Its name (`store-sweeper`, `pressure-monitor`, ...).
    pub name: String,
    /// Running now (or, for a one-shot job, finished its work).
    pub running: bool,
    /// Times it failed (panicked, or ended while the daemon runs) and was restarted.
    pub restarts: u64,
    /// Why it failed last, if it ever did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}
