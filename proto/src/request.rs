//! Requests: what a client may ask of the daemon.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

pub use crate::request_args::{Entry, KeyPattern, PatternSyntax, SetCondition};

use crate::apps::{AppSettings, AppStrategy};
use crate::dirs::DirSettings;
use crate::dump::RestoreMode;

/// One request; `id` is chosen by the client and echoed in the response so that a client can
/// pipeline many requests on one connection. `0` is reserved (see [`crate::UNSOLICITED_ID`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Client-chosen correlation id, echoed by the response.
    pub id: u64,
    /// What is asked.
    pub body: RequestBody,
}

/// Every operation of the protocol. Each is encoded as a one-entry map
/// `{"<snake_case name>": {<arguments>}}`, even when it takes no argument (`{"ping": {}}`).
///
/// The name is derived twice from the variant by one rule, snake_case: by serde for the wire
/// and by strum for [`RequestBody::name`] and [`RequestBody::NAMES`]; the wire fixtures test
/// that the two agree for every variant. No `#[serde(rename)]` on a single variant, then.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RequestBody {
    /// Must be the first request on a connection.
    Hello {
        /// The protocol version the client speaks ([`crate::PROTOCOL_VERSION`]).
        protocol: u32,
        /// Free-form client name for the daemon's logs (e.g. `cachectl/0.1.0`).
        client: String,
    },
    /// Liveness check.
    Ping {},
    /// Version, pid, uptime, socket and config paths.
    Info {},
    /// Counters of one namespace, or of all plus the total.
    Stats {
        /// Restrict to this namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ns: Option<String>,
    },
    /// The namespaces that exist, with their settings.
    ListNamespaces {},
    /// Store a value.
    Set {
        /// Namespace (created with the default settings if it does not exist).
        ns: String,
        /// Key.
        key: String,
        /// Value bytes.
        value: ByteBuf,
        /// TTL in milliseconds; absent = the namespace's default TTL; 0 = no expiry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
        /// Conditional write.
        #[serde(default)]
        condition: SetCondition,
    },
    /// Read a value.
    Get {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
    },
    /// Delete keys; answers the number deleted.
    Delete {
        /// Namespace.
        ns: String,
        /// Keys to delete.
        keys: Vec<String>,
    },
    /// Whether a key exists (and has not expired).
    Exists {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
    },
    /// Remaining time to live of a key.
    Ttl {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
    },
    /// Give a key a new TTL (absent `ttl_ms` removes its expiry).
    Expire {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
        /// New TTL in milliseconds from now; absent = never expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
    },
    /// Read many keys at once; answers one slot per key, in order.
    GetMany {
        /// Namespace.
        ns: String,
        /// Keys.
        keys: Vec<String>,
    },
    /// Write many keys at once.
    SetMany {
        /// Namespace.
        ns: String,
        /// The entries.
        entries: Vec<Entry>,
    },
    /// One page of the keys matching a pattern. Start with `cursor = 0` and repeat with the
    /// returned `next_cursor` until it is absent. A key present for the whole iteration is
    /// returned at least once; keys written meanwhile may or may not be.
    Keys {
        /// Namespace.
        ns: String,
        /// Which keys; absent = all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<KeyPattern>,
        /// Where to resume; 0 starts.
        #[serde(default)]
        cursor: u64,
        /// Maximum keys in this page (the daemon may return fewer, even none, before the end).
        #[serde(default = "default_page")]
        count: u32,
    },
    /// Count the keys matching a pattern and the bytes they hold.
    PatternStats {
        /// Namespace.
        ns: String,
        /// Which keys; absent = all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<KeyPattern>,
    },
    /// Delete the keys matching a pattern; answers the number deleted.
    DeletePattern {
        /// Namespace.
        ns: String,
        /// Which keys.
        pattern: KeyPattern,
    },
    /// Give every key matching a pattern a new TTL; answers the number changed.
    ExpirePattern {
        /// Namespace.
        ns: String,
        /// Which keys.
        pattern: KeyPattern,
        /// New TTL in milliseconds; absent = never expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
    },
    /// Drop every entry of a namespace (its settings stay).
    Clear {
        /// Namespace.
        ns: String,
    },
    /// Drop every entry of every namespace.
    ClearAll {},
    /// Re-read the configuration file (as SIGHUP does) and say what changed.
    Reload {},
    /// Stop the daemon gracefully (as SIGTERM does); answered before the drain starts.
    Shutdown {},
    /// Which key source the daemon uses and which key seals each namespace.
    KeyStatus {},
    /// Move namespaces to a fresh key: every stored value is resealed (or, with `clear`,
    /// dropped). Answered by zero or more `progress` responses, then `rotated` or `error`.
    KeyRotate {
        /// Only this namespace; absent = every namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ns: Option<String>,
        /// Drop the values instead of resealing them (faster; for a key thought leaked).
        #[serde(default)]
        clear: bool,
    },
    /// Write the entries (still sealed) to a dump file, atomically.
    Dump {
        /// Absolute path of the file the daemon writes (clients resolve relative paths).
        path: String,
        /// Only this namespace; absent = every namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ns: Option<String>,
        /// Only the keys matching this pattern; absent = every key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<KeyPattern>,
    },
    /// Load a dump file back; the whole file is verified before anything changes.
    Restore {
        /// Absolute path of the dump file the daemon reads.
        path: String,
        /// Only this namespace of the dump; absent = every namespace it holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ns: Option<String>,
        /// Merge into (default) or replace what is cached.
        #[serde(default)]
        mode: RestoreMode,
    },
    /// Dump on a schedule (replacing any schedule in force); answers the new state.
    AutodumpStart {
        /// Absolute path of the file each dump replaces.
        path: String,
        /// Milliseconds between dumps (more than 0).
        every_ms: u64,
        /// Only this namespace; absent = every namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ns: Option<String>,
        /// Only the keys matching this pattern; absent = every key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<KeyPattern>,
    },
    /// Change the interval or the file of the running schedule; absent fields stay.
    AutodumpChange {
        /// New interval in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_ms: Option<u64>,
        /// New absolute path.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// Stop dumping on a schedule (the last dump file stays); answers the new state.
    AutodumpStop {},
    /// The auto-dump schedule and how its last run went.
    AutodumpStatus {},
    /// Whether anything needs an operator (stale or broken apps); answers `status`.
    Status {},
    /// Register an app cache file; the file is checked to decrypt first. Answers `app`.
    AppAdd {
        /// Unique name (letters, digits, space, `.`, `_`, `-`; at most 64 bytes).
        name: String,
        /// Its settings; `path` is required.
        settings: AppSettings,
    },
    /// Change a registered app's settings; answers `app`.
    AppEdit {
        /// The app.
        name: String,
        /// The fields to change.
        settings: AppSettings,
    },
    /// Forget an app (its backups stay on disk unless `delete_backups`); answers `done`.
    AppRemove {
        /// The app.
        name: String,
        /// Also delete its stored backups.
        #[serde(default)]
        delete_backups: bool,
    },
    /// Every registered app with its health; answers `apps`.
    AppList {},
    /// One app; answers `app`.
    AppShow {
        /// The app.
        name: String,
    },
    /// Register the apps of the Python Cache Manager and adopt their backups. Streams
    /// `progress`, then answers `imported`.
    AppImport {
        /// The Cache Manager's own encrypted cache (absolute path); absent = its default place.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache: Option<String>,
        /// Its backup directory (absolute path); absent = the one its cache names.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backups: Option<String>,
    },
    /// The structure of an app's decrypted JSON; answers `inspected`.
    AppInspect {
        /// The app.
        name: String,
        /// Only the subtree at this JSON pointer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pointer: Option<String>,
        /// Include scalar values (they may be secrets).
        #[serde(default)]
        show_values: bool,
        /// Levels below the pointer to describe (default 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        depth: Option<u32>,
    },
    /// Change one value of an app's JSON (backing the file up first); answers `app_modified`.
    AppSet {
        /// The app.
        name: String,
        /// JSON pointer of the value to replace or add.
        pointer: String,
        /// The new value as JSON text.
        value_json: String,
    },
    /// Give an app new keys (written to its keyring in the apps' layout) and re-encrypt the
    /// live file and every backup. Streams `progress`, then answers `migrated`.
    AppMigrate {
        /// The app.
        name: String,
        /// The new encryption; absent = the current one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strategy: Option<AppStrategy>,
    },
    /// Back an app up now. Streams `progress`, then answers `backup`.
    BackupCreate {
        /// The app.
        app: String,
        /// Never prune this backup.
        #[serde(default)]
        pin: bool,
        /// Free text kept with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// An app's backups, newest first, each with why it is kept; answers `backups`.
    BackupList {
        /// The app.
        app: String,
    },
    /// Apply the retention rules now; answers `pruned`.
    BackupPrune {
        /// The app.
        app: String,
        /// Only say what would go.
        #[serde(default)]
        dry_run: bool,
    },
    /// Decrypt every stored backup of an app (or of every app). Streams `progress`, then
    /// answers `verified`.
    BackupVerify {
        /// The app; absent = every app.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        app: Option<String>,
    },
    /// Replace an app's live file with a backup (saving the current file first); answers
    /// `app_restored`.
    BackupRestore {
        /// The app.
        app: String,
        /// The backup's file name; absent = the newest verified one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup: Option<String>,
    },
    /// Register a disposable cache directory (or change the limits of a registered one);
    /// answers `dir`.
    DirAdd {
        /// Absolute path of the directory (the daemon resolves symlinks once, here).
        path: String,
        /// Its limits.
        settings: DirSettings,
    },
    /// Every registered directory with its size now; answers `dirs`.
    DirList {},
    /// Forget a directory (its files stay); answers `done`.
    DirRemove {
        /// The directory, as registered (or any path that resolves to it).
        path: String,
    },
    /// Delete every file of a registered directory (never the directory itself); answers
    /// `dirs_freed`.
    DirClear {
        /// The directory.
        path: String,
        /// Delete nothing, only say what would go.
        #[serde(default)]
        dry_run: bool,
    },
    /// Trim a registered directory (or every one) to its limits now; answers `dirs_freed`.
    DirTrim {
        /// The directory; absent = every registered directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// Delete nothing, only say what would go.
        #[serde(default)]
        dry_run: bool,
    },
    /// The pressure monitor's readings, thresholds, state and last actions; answers
    /// `pressure`.
    PressureStatus {},
    /// Run one pressure check now (acting if a threshold is crossed); answers `pressure`.
    PressureCheck {},
    /// Every namespace's scheduled clear; answers `schedules`.
    ScheduleList {},
    /// Turn this connection into a stream of change events; answers `subscribed`, then
    /// `event` and `missed` for as long as the connection stays open.
    Subscribe {
        /// Only this namespace's events; absent = every namespace the caller may read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ns: Option<String>,
        /// Only events whose key matches (events without a key always pass).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<KeyPattern>,
        /// Only these kinds; absent = every kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kinds: Option<Vec<crate::events::EventKind>>,
        /// Whether `set` events carry the value (up to [`crate::MAX_EVENT_VALUE_BYTES`]).
        #[serde(default)]
        values: bool,
        /// Events that may wait for this subscriber; absent = the daemon's default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<u32>,
    },
    /// The daemon's counters and gauges in the Prometheus text format, for a scraper that
    /// reaches the daemon through its socket (or `cachectl stats --format prometheus`);
    /// answers `metrics`.
    Metrics {},
}

fn default_page() -> u32 {
    1000
}

impl RequestBody {
    /// Every operation's wire name, in declaration order: for clients that list or check the
    /// operations (a test that each has a sample, a completion list) without a copy to keep.
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;

    /// The operation's wire name (the tag serde writes), for logs and error messages.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}
