//! Why a directory request failed, each variant naming the path and what was wrong.

use std::io;
use std::path::PathBuf;

/// A failed directory operation.
#[derive(Debug, thiserror::Error)]
pub enum DirsError {
    /// The path given is not absolute (clients resolve relative paths first).
    #[error("{0} is not an absolute path")]
    Relative(String),
    /// Nothing exists at the path.
    #[error("{0} does not exist")]
    Missing(String),
    /// The path exists but is not a directory.
    #[error("{path} is not a directory (it is {kind})")]
    NotADirectory {
        /// The path.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// The path could not be examined.
    #[error("cannot examine {path}: {source}")]
    Inspect {
        /// The path.
        path: String,
        /// The failure.
        source: io::Error,
    },
    /// The directory may never be registered (`/`, a home, a system or daemon directory).
    #[error("refusing {path}: {reason}")]
    Refused {
        /// The directory, symlinks resolved.
        path: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The caller does not own the directory.
    #[error("refusing {path}: it is owned by uid {owner}, not by you (uid {caller})")]
    NotOwner {
        /// The directory.
        path: String,
        /// Its owner.
        owner: u32,
        /// The caller.
        caller: u32,
    },
    /// The path names no registered directory.
    #[error("{0} is not a registered directory (see `cachectl dir list`)")]
    NotRegistered(String),
    /// The registry file could not be read or written.
    #[error("cannot {action} the directory registry {}: {source}", path.display())]
    Registry {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The registry file is damaged or from a newer daemon.
    #[error("the directory registry {} is damaged or from a newer version: {reason}", path.display())]
    RegistryInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The directory could not be walked (gone, replaced by a symlink, no permission).
    #[error("cannot walk {path}: {reason}")]
    Walk {
        /// The registered directory.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The blocking task doing the work did not finish (a bug or a panic).
    #[error("the directory task failed: {0}")]
    Task(String),
}
