//! Responses: what the daemon answers, each tied to its request by `id`.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::apps::{AppInfo, AppStrategy, BackupInfo, BadBackup, DaemonStatus, JsonNode};
use crate::dirs::{DirFreed, DirInfo};
use crate::dump::AutodumpInfo;
use crate::error::ErrorKind;
use crate::keys::{NamespaceKey, RotatedNamespace};
use crate::pressure::{ClearScheduleInfo, PressureInfo};
use crate::stats::{CacheStats, NamespaceStats, NamespaceSummary};

/// One response; `id` is the id of the request it answers, or [`crate::UNSOLICITED_ID`] for
/// an error the daemon could not attribute to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The id of the request answered.
    pub id: u64,
    /// The answer.
    pub body: ResponseBody,
}

impl Response {
    /// An error answer, the one shape every failure takes on the wire.
    pub fn error(id: u64, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { id, body: ResponseBody::Error { kind, message: message.into() } }
    }
}

/// Who the daemon believes the caller is, read from the kernel (`SO_PEERCRED`), never from
/// anything the client said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerIdentity {
    /// Effective user id of the peer process.
    pub uid: u32,
    /// Effective group id of the peer process.
    pub gid: u32,
    /// Process id of the peer.
    pub pid: u32,
}

/// What `info` reports about the running daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The daemon's version (crate version).
    pub version: String,
    /// The protocol version it speaks.
    pub protocol: u32,
    /// Its process id.
    pub pid: u32,
    /// Milliseconds since it started.
    pub uptime_ms: u64,
    /// The socket path it listens on.
    pub socket: String,
    /// The config file it read, if any existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Its state directory.
    pub state_dir: String,
    /// Connections currently open.
    pub connections: u64,
    /// Things an operator must know, one sentence each (a disk database that could not be
    /// opened and was moved aside, an ephemeral key that dies with the daemon); empty when
    /// all is well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Where the encryption key comes from (`keyring`, `credential`, `env`, `file`,
    /// `ephemeral`); absent when the daemon has no key source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_source: Option<String>,
}

/// Every kind of answer. Encoded like requests: a one-entry map `{"<name>": {<fields>}}`.
/// The name is derived as for [`crate::RequestBody`]: serde and strum, one snake_case rule.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ResponseBody {
    /// Handshake accepted.
    Welcome {
        /// The daemon's protocol version.
        protocol: u32,
        /// The daemon's version.
        server_version: String,
        /// The caller as the kernel reports it.
        peer: PeerIdentity,
        /// The largest frame the daemon accepts or sends, so a client can size its own cap.
        max_frame_bytes: u64,
    },
    /// Answer to `ping`.
    Pong {},
    /// Answer to `info`. Boxed (as is `Autodump`) so that every response stays small to move
    /// on the hot path; the wire form is the structure itself.
    Info(Box<ServerInfo>),
    /// Answer to `stats`.
    Stats {
        /// Sum over the namespaces listed.
        total: CacheStats,
        /// One row per namespace.
        namespaces: Vec<NamespaceStats>,
    },
    /// Answer to `list_namespaces`.
    Namespaces {
        /// The namespaces, sorted by name.
        namespaces: Vec<NamespaceSummary>,
    },
    /// The request was carried out and has nothing to report.
    Done {},
    /// Answer to `set`: whether the value was written (false when its condition failed).
    Stored {
        /// Whether the write happened.
        stored: bool,
    },
    /// Answer to `get`: the value, absent when the key does not exist.
    Value {
        /// The bytes, or nil.
        #[serde(default)]
        value: Option<ByteBuf>,
    },
    /// Answer to `get_many`: one slot per requested key, nil where missing.
    Values {
        /// The values in request order.
        values: Vec<Option<ByteBuf>>,
    },
    /// Answer to `delete`, `exists` (0/1), `delete_pattern`, `expire_pattern`, `set_many`.
    Count {
        /// How many keys were affected.
        count: u64,
        /// `delete_pattern` only: bytes of the keys and values deleted (as `pattern_stats`
        /// counts them); absent for the other requests.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
    },
    /// Answer to `ttl` and `expire`.
    Ttl {
        /// Whether the key exists.
        exists: bool,
        /// Remaining milliseconds; absent when the key does not exist or never expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
    },
    /// One page of `keys`.
    Keys {
        /// Matching keys of this page.
        keys: Vec<String>,
        /// Cursor for the next page; absent when the iteration is complete.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_cursor: Option<u64>,
    },
    /// Answer to `pattern_stats`.
    PatternStats {
        /// Matching keys.
        keys: u64,
        /// Bytes of their keys and values (without bookkeeping overhead).
        bytes: u64,
        /// How many of them have a TTL.
        with_ttl: u64,
    },
    /// Answer to `clear` and `clear_all`.
    Cleared {
        /// Entries dropped.
        entries: u64,
        /// Bytes freed (as counted against the limits).
        bytes: u64,
    },
    /// Answer to `reload`: one human-readable line per change applied.
    Reloaded {
        /// What changed; empty when the file was unchanged.
        changes: Vec<String>,
    },
    /// Answer to `key_status`.
    KeyStatus {
        /// The key source (`keyring`, `credential`, `env`, `file`, `ephemeral`).
        source: String,
        /// Whether the key survives a restart of the daemon (false: ephemeral, so whatever
        /// it sealed is unreadable after the daemon stops).
        persistent: bool,
        /// A short fingerprint of the master key (never the key), to compare hosts.
        fingerprint: String,
        /// One row per namespace, sorted by name.
        namespaces: Vec<NamespaceKey>,
    },
    /// How far a long request has come; the only response that is not terminal, so more
    /// responses with the same id follow it (see [`ResponseBody::is_terminal`]).
    Progress {
        /// What is being worked on: a namespace (`key_rotate`) or an app (`app_*`,
        /// `backup_*`).
        ns: String,
        /// Units done in it so far.
        done: u64,
        /// Units to do in it.
        total: u64,
        /// What is counted: absent = entries; `bytes`, `files` or `steps`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// Answer to `key_rotate`: one row per namespace rotated.
    Rotated {
        /// The namespaces, sorted by name.
        namespaces: Vec<RotatedNamespace>,
    },
    /// Answer to `dump`: the file is complete and in place.
    Dumped {
        /// The file written.
        path: String,
        /// Entries written.
        entries: u64,
        /// Size of the file.
        bytes: u64,
    },
    /// Answer to `restore`.
    Restored {
        /// Entries loaded.
        entries: u64,
        /// Entries of the dump whose TTL had passed by now, so not loaded.
        skipped_expired: u64,
        /// The namespaces written to, sorted by name.
        namespaces: Vec<String>,
    },
    /// Answer to every `autodump_*` request: the schedule as it now stands.
    Autodump(Box<AutodumpInfo>),
    /// Answer to `status`.
    Status(Box<DaemonStatus>),
    /// Answer to `app_add`, `app_edit` and `app_show`.
    App(Box<AppInfo>),
    /// Answer to `app_list`: every app, sorted by name.
    Apps {
        /// The apps.
        apps: Vec<AppInfo>,
    },
    /// Answer to `app_import`.
    Imported {
        /// Apps registered, by name.
        apps: Vec<String>,
        /// Existing backups adopted.
        backups: u64,
        /// What was not imported, one line each with the reason.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skipped: Vec<String>,
    },
    /// Answer to `app_inspect`: the nodes in document order.
    Inspected {
        /// The app.
        app: String,
        /// The nodes.
        nodes: Vec<JsonNode>,
    },
    /// Answer to `app_set`: the value is changed and the file replaced.
    AppModified {
        /// The app.
        app: String,
        /// The backup of the file as it was before.
        backup: String,
    },
    /// Answer to `app_migrate`.
    Migrated {
        /// The app.
        app: String,
        /// Its encryption now.
        strategy: AppStrategy,
        /// Backups re-encrypted with the new keys.
        backups: u64,
    },
    /// Answer to `backup_create`.
    Backup(Box<BackupInfo>),
    /// Answer to `backup_list`: newest first.
    Backups {
        /// The app.
        app: String,
        /// The backups.
        backups: Vec<BackupInfo>,
    },
    /// Answer to `backup_prune`.
    Pruned {
        /// The app.
        app: String,
        /// Nothing was deleted; `removed` is what would go.
        dry_run: bool,
        /// The backups removed (or that would be), each with why.
        removed: Vec<BackupInfo>,
        /// Backups kept.
        kept: u64,
    },
    /// Answer to `backup_verify`.
    Verified {
        /// Backups decrypted.
        checked: u64,
        /// The ones that failed.
        bad: Vec<BadBackup>,
    },
    /// Answer to `backup_restore`.
    AppRestored {
        /// The app.
        app: String,
        /// The backup now live.
        backup: String,
        /// The backup made of the file it replaced, when that file decrypted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        saved_as: Option<String>,
        /// Where the replaced file was moved when it did not decrypt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quarantined: Option<String>,
    },
    /// Answer to `dir_add`: the directory as registered.
    Dir(Box<DirInfo>),
    /// Answer to `dir_list`: every registered directory, sorted by path.
    Dirs {
        /// The directories.
        dirs: Vec<DirInfo>,
    },
    /// Answer to `dir_clear` and `dir_trim`: what was deleted (or would be).
    DirsFreed {
        /// Nothing was deleted; the counts are what would go.
        dry_run: bool,
        /// Files deleted in all the directories together.
        files: u64,
        /// Their bytes.
        bytes: u64,
        /// One row per directory worked on, in the order they were worked on.
        dirs: Vec<DirFreed>,
    },
    /// Answer to `pressure_status` and `pressure_check`.
    Pressure(Box<PressureInfo>),
    /// Answer to `schedule_list`: one row per namespace with a clear schedule, by name.
    Schedules {
        /// The schedules.
        schedules: Vec<ClearScheduleInfo>,
    },
    /// Answer to `subscribe`: the connection is now an event stream.
    Subscribed {
        /// Events that may wait for this subscriber before newer ones are dropped.
        queue: u32,
    },
    /// One change, on a subscribed connection.
    Event {
        /// The change.
        event: Box<crate::events::Event>,
    },
    /// Events dropped for this subscriber because its queue was full.
    Missed {
        /// How many since the last notice.
        count: u64,
    },
    /// Answer to `metrics`: the Prometheus text exposition format (version 0.0.4), trimmed
    /// to what the caller may see like `stats` and `app_list`.
    Metrics {
        /// The exposition, `# HELP`/`# TYPE` lines and samples, newline-terminated.
        text: String,
    },
    /// The request failed.
    Error {
        /// Class of failure.
        kind: ErrorKind,
        /// What went wrong, for a human.
        message: String,
    },
}

impl ResponseBody {
    /// Every answer's wire name, in declaration order (see [`crate::RequestBody::NAMES`]).
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;

    /// False only for `progress`: a request is complete once a terminal response with its id
    /// has arrived, and a client routes every earlier (`progress`) response to the same call.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ResponseBody::Progress { .. })
    }

    /// Wire name of the variant (the tag serde writes), for logs and "unexpected response"
    /// errors.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every request's answer is moved through the daemon's hot path; big payloads are boxed
    /// so that a `get` answer does not pay for the largest variant.
    #[test]
    fn responses_stay_small() {
        assert!(
            std::mem::size_of::<ResponseBody>() <= 128,
            "{}",
            std::mem::size_of::<ResponseBody>()
        );
    }
}
