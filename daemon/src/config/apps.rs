//! `[apps]`: where backups go, which directories registered files may live in, and how the
//! scheduler, the watcher and the live-file reader behave.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use serde::{Deserialize, Serialize};

/// The `[apps]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppsConfig {
    /// Root of the backup directories (one per app); default `<state_dir>/backups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_dir: Option<PathBuf>,
    /// Registered files (after following symlinks) must live under one of these; default
    /// the daemon user's home directory. System directories are refused whatever this says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_dirs: Vec<PathBuf>,
    /// Quiet period after the last change of a watched file before it is backed up.
    #[serde(with = "humantime_serde")]
    pub debounce: Duration,
    /// How often every stored backup is decrypted again.
    #[serde(with = "humantime_serde")]
    pub verify_every: Duration,
    /// Reads of a live file before a torn copy is given up on.
    pub read_attempts: u32,
    /// Pause between two reads of a torn file.
    #[serde(with = "humantime_serde")]
    pub read_pause: Duration,
    /// Largest app cache file accepted.
    pub max_file_bytes: ByteSize,
    /// Backups missed while the daemon was down start spread over this window after start.
    #[serde(with = "humantime_serde")]
    pub catch_up_spread: Duration,
    /// How often the keys of unlocked apps are read from the keyring again, to notice keys
    /// an app rotated (they are also read again whenever a file stops decrypting).
    #[serde(with = "humantime_serde")]
    pub key_check_every: Duration,
}

impl Default for AppsConfig {
    fn default() -> Self {
        Self {
            backup_dir: None,
            allowed_dirs: Vec::new(),
            debounce: Duration::from_secs(2),
            verify_every: Duration::from_secs(7 * 24 * 3600),
            read_attempts: 5,
            read_pause: Duration::from_millis(200),
            max_file_bytes: ByteSize::gib(1),
            catch_up_spread: Duration::from_secs(60),
            key_check_every: Duration::from_secs(10 * 60),
        }
    }
}

/// Directories never accepted for a registered file, whatever `allowed_dirs` says.
const SYSTEM_DIRS: &[&str] =
    &["/proc", "/sys", "/dev", "/etc", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/run"];

impl AppsConfig {
    /// The backup root for a state directory.
    pub fn backup_root(&self, state_dir: &Path) -> PathBuf {
        self.backup_dir.clone().unwrap_or_else(|| state_dir.join("backups"))
    }

    /// The directories registered files may live in.
    pub fn allowed(&self) -> Vec<PathBuf> {
        if !self.allowed_dirs.is_empty() {
            return self.allowed_dirs.clone();
        }
        match std::env::var_os("HOME") {
            Some(home) if !home.is_empty() && home != "/" => vec![PathBuf::from(home)],
            _ => vec![PathBuf::from("/home"), PathBuf::from("/root")],
        }
    }

    /// Why `path` is in a system directory, if it is (no app file or backup folder is).
    pub fn refuse_system(&self, path: &Path) -> Option<String> {
        let system = SYSTEM_DIRS.iter().find(|d| path.starts_with(d))?;
        Some(format!("{} is under the system directory {system}", path.display()))
    }

    /// Why `canonical` (a path with every symlink resolved) may not be registered, if so.
    pub fn refuse(&self, canonical: &Path) -> Option<String> {
        if let Some(why) = self.refuse_system(canonical) {
            return Some(why);
        }
        let allowed = self.allowed();
        let inside = allowed.iter().any(|dir| {
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            canonical.starts_with(dir)
        });
        (!inside).then(|| {
            let list: Vec<String> = allowed.iter().map(|d| d.display().to_string()).collect();
            format!(
                "{} is outside the allowed directories ({}); add its directory to \
                 [apps] allowed_dirs in the config",
                canonical.display(),
                list.join(", ")
            )
        })
    }
}
