//! Disposable cache directories: directories whose files the daemon may delete (oldest
//! first, or all at once) to keep them under a size and an age, on a schedule and under
//! pressure. These types describe them on the wire.

use serde::{Deserialize, Serialize};

/// The limits and pressure behaviour of a registered directory, as `dir_add` sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirSettings {
    /// Trim the oldest files until the directory holds at most this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_bytes: Option<u64>,
    /// Delete every file whose modification time is older than this (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_ms: Option<u64>,
    /// Empty the directory completely when the host is short of memory or disk.
    #[serde(default)]
    pub clear_on_pressure: bool,
    /// Order of clearing under pressure: lower numbers are cleared first.
    #[serde(default)]
    pub priority: i32,
}

/// A registered directory and what it holds now (the answer to `dir_add`, a row of `dirs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirInfo {
    /// The directory (absolute, symlinks resolved when it was added).
    pub path: String,
    /// Its limits.
    pub settings: DirSettings,
    /// Bytes of the files in it (regular files and symlinks themselves, never their targets).
    pub size_bytes: u64,
    /// Files (and symlinks) in it, subdirectories included.
    pub files: u64,
    /// Modification time of its oldest file (Unix ms); absent when it holds none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_unix_ms: Option<u64>,
    /// When it was last trimmed or cleared (Unix ms); absent when never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_trim_unix_ms: Option<u64>,
    /// How that went, for a human: `"ok: 3 files (1.2 KiB)"` or `"failed: ..."`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_trim_result: Option<String>,
    /// Why its contents could not be measured just now (absent when they could).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What a trim or clear freed in one directory (a row of `dirs_freed`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirFreed {
    /// The directory.
    pub path: String,
    /// Files (and symlinks) deleted, or that would be with `dry_run`.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files that could not be deleted (no permission, changed meanwhile); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
}
