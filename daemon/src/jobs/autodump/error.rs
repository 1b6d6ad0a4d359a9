//! Why an autodump request or its state file was refused, in words a `cachectl` user can act on.

use std::path::PathBuf;
use std::time::Duration;

/// Why an autodump request or the state file was refused.
#[derive(thiserror::Error, Debug)]
pub enum AutodumpError {
    /// The state file exists but is not valid JSON of the expected shape.
    #[error("the autodump state file {} is unreadable: {source}", path.display())]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The state file parses but holds settings that are not allowed.
    #[error("the autodump state file {} is invalid: {detail}", path.display())]
    Invalid {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The state file was written by a newer daemon.
    #[error("the autodump state file {} has version {found}; this daemon reads {supported}", path.display())]
    UnsupportedVersion {
        /// The state file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// Reading or writing the state file failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The state file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `every` is below [`MIN_EVERY`](super::MIN_EVERY).
    #[error("autodump interval {} is too short; the minimum is 1s", humantime::format_duration(*every))]
    IntervalTooShort {
        /// The rejected interval.
        every: Duration,
    },
    /// `change` without a running autodump.
    #[error("autodump is not started; use `autodump start`")]
    NotStarted,
    /// The dump path is relative (the daemon's working directory is not the client's).
    #[error("the dump path {} must be absolute", path.display())]
    RelativePath {
        /// The rejected path.
        path: PathBuf,
    },
    /// The dump path's directory does not exist.
    #[error("the directory of the dump path {} does not exist", path.display())]
    NoDirectory {
        /// The rejected path.
        path: PathBuf,
    },
}
