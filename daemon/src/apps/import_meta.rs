//! Finding the Python Cache Manager's backups of one app and reading its
//! `{name}_backups.json` metadata. The metadata's exact shape is not specified, so it is read
//! leniently (a list, or an object with a `backups` list; common field names), and a backup
//! without metadata still gets its time from its file name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::live::{read_live, LiveError};
use super::naming::parse_backup_time;
use crate::access::paths::{self, Principal};

/// A backup file of the Cache Manager.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its path.
    pub path: PathBuf,
    /// Its file name.
    pub name: String,
    /// The time its name encodes.
    pub created_unix_ms: Option<u64>,
}

/// What the metadata says about one backup.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// When it was made.
    pub created_unix_ms: Option<u64>,
    /// A note.
    pub note: Option<String>,
    /// Kept out of the rotation.
    pub pinned: bool,
}

/// The directories a Cache Manager may keep an app's backups in.
fn candidate_dirs(root: &Path, name: &str, safe: &str) -> Vec<PathBuf> {
    let mut dirs = vec![root.to_path_buf(), root.join(safe), root.join(name)];
    dirs.dedup();
    dirs
}

/// Every `{safe}_{YYYYmmdd_HHMMSS}*.enc` under the candidate directories, oldest first.
pub fn find_backups(root: &Path, name: &str, safe: &str) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    for dir in candidate_dirs(root, name, safe) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(created) = parse_backup_time(safe, &file_name) else { continue };
            // Never follow a symlink out of the backup directory.
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            if found.iter().any(|f| f.name == file_name) {
                continue;
            }
            found.push(Found {
                path: entry.path(),
                name: file_name,
                created_unix_ms: Some(created),
            });
        }
    }
    found.sort_by_key(|f| f.created_unix_ms);
    found
}

/// Largest Cache Manager metadata file read.
const MAX_METADATA_BYTES: u64 = 16 << 20;

/// The metadata by backup file name, from `{name}_backups.json` (or `{safe}_backups.json`),
/// each opened by the path resolver as `owner` (no symlink, their own file, no FIFO) and read
/// up to 16 MiB.
pub fn backup_metadata(
    root: &Path,
    name: &str,
    safe: &str,
    owner: Principal,
) -> HashMap<String, Meta> {
    let mut out = HashMap::new();
    for dir in candidate_dirs(root, name, safe) {
        for file in [format!("{name}_backups.json"), format!("{safe}_backups.json")] {
            let read = paths::place(owner, &dir.join(&file))
                .map_err(LiveError::Refused)
                .and_then(|place| read_live(&place, MAX_METADATA_BYTES));
            let Ok(bytes) = read else { continue };
            let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
                tracing::warn!(file = %dir.join(&file).display(), "Cache Manager metadata is not JSON; backup times come from file names");
                continue;
            };
            let list = match &value {
                Value::Array(list) => list.clone(),
                Value::Object(map) => {
                    map.get("backups").and_then(Value::as_array).cloned().unwrap_or_default()
                }
                _ => Vec::new(),
            };
            for item in list {
                let Some(file_name) = ["filename", "file", "name", "backup_file", "path"]
                    .iter()
                    .find_map(|k| item.get(*k).and_then(Value::as_str))
                    .and_then(|p| {
                        Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned())
                    })
                else {
                    continue;
                };
                let created = ["timestamp", "created", "created_at", "date", "time"]
                    .iter()
                    .find_map(|k| item.get(*k))
                    .and_then(time_of);
                let note = ["note", "notes", "description", "comment"]
                    .iter()
                    .find_map(|k| item.get(*k).and_then(Value::as_str))
                    .map(str::to_owned);
                let pinned = ["pinned", "out_of_cycle", "keep"]
                    .iter()
                    .any(|k| item.get(*k).and_then(Value::as_bool).unwrap_or(false));
                out.insert(file_name, Meta { created_unix_ms: created, note, pinned });
            }
        }
    }
    out
}

/// A time as Unix ms from seconds, milliseconds or an ISO 8601 text (local time if no offset).
fn time_of(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_f64() {
        let ms = if n > 1e11 { n } else { n * 1000.0 };
        return (ms >= 0.0).then_some(ms as u64);
    }
    let text = value.as_str()?;
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return u64::try_from(ts.as_millisecond()).ok();
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::system()).ok()?;
    u64::try_from(zoned.timestamp().as_millisecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lenient_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("Muse_backups.json"),
            r#"[{"filename": "muse_20260101_120000.enc", "timestamp": "2026-01-01T12:00:00+00:00", "note": "before update"},
                {"path": "/x/muse_20260102_120000.enc", "created": 1767355200}]"#,
        )
        .expect("write");
        let me = Principal::of_uid(rustix::process::geteuid().as_raw());
        let meta = backup_metadata(dir.path(), "Muse", "muse", me);
        assert_eq!(meta["muse_20260101_120000.enc"].note.as_deref(), Some("before update"));
        assert_eq!(meta["muse_20260101_120000.enc"].created_unix_ms, Some(1_767_268_800_000));
        assert_eq!(meta["muse_20260102_120000.enc"].created_unix_ms, Some(1_767_355_200_000));
    }
}
