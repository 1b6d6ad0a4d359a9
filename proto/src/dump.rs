//! Dump files: how a restore treats what is already cached, and the state of the periodic
//! auto-dump job. A dump holds entries sealed with the namespaces' keys, so it is as safe to
//! keep as the disk layer itself.

use serde::{Deserialize, Serialize};

use crate::request::KeyPattern;

/// What `restore` does with the entries already in the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreMode {
    /// Keep the current entries; entries of the dump overwrite keys they share (the default,
    /// since it never loses a value that is not in the dump).
    #[default]
    Merge,
    /// Clear each namespace the dump holds first, so it ends up exactly as dumped.
    Replace,
}

/// The auto-dump job as the daemon's scheduler sees it: the answer to every `autodump_*`
/// request, so a client always learns the state its request left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutodumpInfo {
    /// Whether dumps are scheduled.
    pub enabled: bool,
    /// The file each dump replaces (atomically); absent when never configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Milliseconds between dumps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_ms: Option<u64>,
    /// Only this namespace; absent = every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Only the keys matching this pattern; absent = every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<KeyPattern>,
    /// When the last dump started (Unix time, ms); absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_unix_ms: Option<u64>,
    /// How the last dump ended: `"ok"`, or the error that stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    /// When the last successful dump finished (Unix time, ms): the age of the newest good
    /// copy, which is what an operator alerts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok_unix_ms: Option<u64>,
    /// When the next dump is due (Unix time, ms); absent when disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_unix_ms: Option<u64>,
}
