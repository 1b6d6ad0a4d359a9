//! Typed error kinds, so clients can react to a class of failure without parsing messages.

use serde::{Deserialize, Serialize};

/// Why a request failed; travels with a human-readable message in `ResponseBody::Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The frame was not valid MessagePack or did not have the shape of a request.
    Malformed,
    /// The frame's length prefix exceeded the daemon's cap; the connection is closed after it.
    FrameTooLarge,
    /// The first request on a connection was not `hello`.
    HandshakeRequired,
    /// The client's protocol version is not the daemon's.
    UnsupportedProtocol,
    /// The client did not complete the handshake in time; the connection is closed after it.
    Timeout,
    /// A well-formed request with an invalid argument (bad namespace name, bad pattern...).
    InvalidArgument,
    /// The value (or the response) cannot fit the namespace's or the frame's size limit.
    TooLarge,
    /// The namespace does not exist and cannot be created implicitly.
    UnknownNamespace,
    /// The caller is not allowed to do this.
    PermissionDenied,
    /// The daemon refuses new work because it is stopping or at its connection cap.
    Unavailable,
    /// A bug or an unexpected failure inside the daemon (or an operation this daemon build
    /// does not implement yet); the message says what.
    Internal,
    /// The disk layer failed (disk full, I/O error); nothing was stored, so the caller may
    /// retry once the disk is fixed.
    Storage,
    /// A dump or other file failed verification (bad checksum, wrong key, truncated);
    /// nothing was changed, so the current cache is intact.
    Corrupt,
    /// A conflicting operation is running (e.g. a key rotation of that namespace); retry
    /// once it has finished.
    Busy,
}

impl ErrorKind {
    /// Stable snake_case name, identical to the wire encoding.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::FrameTooLarge => "frame_too_large",
            ErrorKind::HandshakeRequired => "handshake_required",
            ErrorKind::UnsupportedProtocol => "unsupported_protocol",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::UnknownNamespace => "unknown_namespace",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
            ErrorKind::Storage => "storage",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Busy => "busy",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
