//! What can go wrong with an app operation, sorted into the wire's error kinds.

use cachemgr_proto::ErrorKind;

use super::codec::CodecError;
use super::live::LiveError;
use super::registry::RegistryError;

/// An app operation's failure; the message names the app, the file or the keyring entry.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such app.
    #[error("no app named {0:?} is registered (see `cachectl app list`)")]
    NotFound(String),
    /// A bad name, path, pointer, value or setting.
    #[error("{0}")]
    Invalid(String),
    /// The app's keys are missing, locked or do not unlock.
    #[error("{0}")]
    Keys(String),
    /// A file (live or backup) that does not decrypt or is torn.
    #[error("{0}")]
    Corrupt(String),
    /// The live file could not be read.
    #[error(transparent)]
    Live(#[from] LiveError),
    /// The path resolver refused a path (a symlink on the way, someone else's file).
    #[error(transparent)]
    Path(#[from] crate::access::paths::PathError),
    /// A path that belongs to someone else.
    #[error("{0}")]
    Denied(String),
    /// Writing failed (disk full, permissions).
    #[error("{0}")]
    Storage(String),
    /// Another operation on the same app is running.
    #[error("another operation on app {0:?} is running; retry when it has finished")]
    Busy(String),
    /// The registry file.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl AppError {
    /// The same failure with what was being done in front of its message (a refused path
    /// stays refused: only its words change).
    pub fn context(self, what: impl std::fmt::Display) -> AppError {
        match self {
            AppError::Path(err) => {
                let kind = err.kind();
                let message = format!("{what}: {err}");
                match kind {
                    ErrorKind::PermissionDenied => AppError::Denied(message),
                    _ => AppError::Invalid(message),
                }
            }
            other => other,
        }
    }

    /// The wire's class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::NotFound(_) | AppError::Invalid(_) => ErrorKind::InvalidArgument,
            AppError::Denied(_) => ErrorKind::PermissionDenied,
            AppError::Keys(_) => ErrorKind::Unavailable,
            AppError::Corrupt(_) => ErrorKind::Corrupt,
            AppError::Live(LiveError::Unverifiable { .. }) => ErrorKind::Corrupt,
            AppError::Live(LiveError::Io { .. }) => ErrorKind::Storage,
            AppError::Live(LiveError::Refused(err)) | AppError::Path(err) => err.kind(),
            AppError::Live(_) => ErrorKind::InvalidArgument,
            AppError::Storage(_) | AppError::Registry(_) => ErrorKind::Storage,
            AppError::Busy(_) => ErrorKind::Busy,
        }
    }

    /// A storage failure with context.
    pub fn storage(what: impl std::fmt::Display, err: impl std::fmt::Display) -> AppError {
        AppError::Storage(format!("{what}: {err}"))
    }

    /// A file that did not open, with context.
    pub fn corrupt(what: impl std::fmt::Display, err: &CodecError) -> AppError {
        AppError::Corrupt(format!("{what} does not decrypt: {err}"))
    }
}
