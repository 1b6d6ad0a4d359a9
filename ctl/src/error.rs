//! The one error type of the client library, shaped so callers can branch on the class of
//! failure (daemon down, daemon said no, connection lost, protocol bug) without parsing text.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use cachemgr_proto::{CodecError, ErrorKind};

/// Why a client operation failed.
///
/// Display shows this error's own message; the underlying cause (i/o or codec error) is its
/// `source()`, so print with `{:#}` under `anyhow` (or walk the chain) to see both.
///
/// The variants separate what a caller reacts to differently: [`ClientError::Unreachable`]
/// means "start the daemon", [`ClientError::Daemon`] means "the daemon understood and
/// refused", the rest mean the connection or the protocol broke.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be connected to (no daemon, stale socket, no permission).
    #[error("cannot reach cachemgrd at {}", path.display())]
    Unreachable {
        /// The socket path that was tried.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The daemon answered with an error response.
    #[error("{kind}: {message}")]
    Daemon {
        /// The daemon's class of failure.
        kind: ErrorKind,
        /// The daemon's human-readable explanation.
        message: String,
    },
    /// A frame could not be encoded or decoded (includes a request over the frame cap).
    #[error("protocol error")]
    Codec(#[from] CodecError),
    /// The daemon broke the protocol in a way the codec cannot see (e.g. a bad `welcome`).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The connection closed (or failed) before the answer arrived.
    #[error("connection to cachemgrd lost: {reason}")]
    Disconnected {
        /// What ended the connection, as far as the client knows.
        reason: String,
    },
    /// The daemon answered with a well-formed response of the wrong kind for the request.
    #[error("unexpected response to `{request}`: expected `{expected}`, got `{got}`")]
    UnexpectedResponse {
        /// The request's operation name.
        request: &'static str,
        /// The response variant(s) that would have made sense.
        expected: &'static str,
        /// The response variant received.
        got: &'static str,
    },
    /// The daemon accepted the connection but did not answer `hello` in time.
    #[error("cachemgrd did not answer the handshake within {0:?}")]
    HandshakeTimeout(Duration),
    /// An argument was refused before anything was sent (e.g. a path that is not UTF-8), so
    /// a CLI can report it as a usage error rather than a daemon error.
    #[error("{0}")]
    InvalidArgument(String),
    /// A typed value could not be encoded, or a stored value is not of the type asked for
    /// (see [`crate::Client::get_value`]).
    #[error("value {key:?} of namespace {ns:?}: {reason}")]
    Value {
        /// The namespace.
        ns: String,
        /// The key.
        key: String,
        /// What serde said.
        reason: String,
    },
}

impl ClientError {
    /// True when the daemon could not be contacted at all, so a CLI can suggest starting it.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }

    /// The daemon's error kind, when this error is the daemon's answer; lets callers branch on
    /// e.g. [`ErrorKind::PermissionDenied`] without matching the whole enum.
    pub fn daemon_kind(&self) -> Option<ErrorKind> {
        match self {
            ClientError::Daemon { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// True when the connection is gone and the `Client` must be re-created to go on.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, ClientError::Disconnected { .. })
    }
}
