//! Change notifications: what a `subscribe` stream carries.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The largest value a `set` event carries (with `values`); bigger values are left out so
/// one subscriber asking for values cannot make every queue hold megabytes.
pub const MAX_EVENT_VALUE_BYTES: usize = 64 * 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A value was written.
    Set,
    /// A key (or every key matching a pattern) was deleted.
    Delete,
    /// A key's TTL ran out and the daemon removed it.
    Expire,
    /// A memory-tier key was evicted to make room.
    Evict,
    /// A namespace was cleared.
    Clear,
    /// An app backup was written.
    BackupMade,
    /// An app backup failed.
    BackupFailed,
    /// The pressure monitor freed memory or disk.
    Pressure,
    /// A kind this version does not know (a newer daemon's); decoded, never sent.
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// Every kind, for parsing and help texts.
    pub const ALL: [EventKind; 8] = [
        EventKind::Set,
        EventKind::Delete,
        EventKind::Expire,
        EventKind::Evict,
        EventKind::Clear,
        EventKind::BackupMade,
        EventKind::BackupFailed,
        EventKind::Pressure,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Set => "set",
            EventKind::Delete => "delete",
            EventKind::Expire => "expire",
            EventKind::Evict => "evict",
            EventKind::Clear => "clear",
            EventKind::BackupMade => "backup_made",
            EventKind::BackupFailed => "backup_failed",
            EventKind::Pressure => "pressure",
            EventKind::Unknown => "unknown",
        }
    }

    /// The kind named `name` (its wire name), for command lines.
    pub fn parse(name: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One change, as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Daemon-wide order of changes, from 1 at start-up.
    pub seq: u64,
    /// When it happened, Unix time in milliseconds.
    pub at_ms: u64,
    /// What happened.
    pub kind: EventKind,
    /// The namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// The key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value written (`set` events of a subscription with `values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ByteBuf>,
    /// Entries affected, or bytes freed for `pressure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The pattern of a pattern delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The app of a backup event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// A line for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Event {
    /// An event of `kind` with no details yet; the daemon fills `seq` and `at_ms`.
    pub fn new(kind: EventKind) -> Self {
        Self {
            seq: 0,
            at_ms: 0,
            kind,
            ns: None,
            key: None,
            value: None,
            count: None,
            pattern: None,
            app: None,
            message: None,
        }
    }
}
