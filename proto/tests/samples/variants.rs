//! The list of every error kind, kept by an exhaustive match so that a new kind fails to
//! compile until it is listed here and given an error sample. (The request and response
//! variants need no such list: their names come from the enums themselves,
//! `RequestBody::NAMES` and `ResponseBody::NAMES`, and `fixtures.rs` checks that each has a
//! sample.)

use cachemgr_proto::ErrorKind;

/// Every error kind; the exhaustive match makes a new kind a compile error here.
pub fn error_kind_covered(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Malformed
        | ErrorKind::FrameTooLarge
        | ErrorKind::HandshakeRequired
        | ErrorKind::UnsupportedProtocol
        | ErrorKind::Timeout
        | ErrorKind::InvalidArgument
        | ErrorKind::TooLarge
        | ErrorKind::UnknownNamespace
        | ErrorKind::PermissionDenied
        | ErrorKind::Unavailable
        | ErrorKind::Internal
        | ErrorKind::Storage
        | ErrorKind::Corrupt
        | ErrorKind::Busy => kind.as_str(),
    }
}

pub const ALL_ERROR_KINDS: &[&str] = &[
    "malformed",
    "frame_too_large",
    "handshake_required",
    "unsupported_protocol",
    "timeout",
    "invalid_argument",
    "too_large",
    "unknown_namespace",
    "permission_denied",
    "unavailable",
    "internal",
    "storage",
    "corrupt",
    "busy",
];
