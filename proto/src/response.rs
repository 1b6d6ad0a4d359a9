//! Responses: what the daemon answers, each tied to its request by `id`.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::ErrorKind;
use crate::stats::{CacheStats, NamespaceStats, NamespaceSummary};

/// One response; `id` is the id of the request it answers, or [`crate::UNSOLICITED_ID`] for
/// an error the daemon could not attribute to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The id of the request answered.
    pub id: u64,
    /// The answer.
    pub body: ResponseBody,
}

impl Response {
    /// An error answer, the one shape every failure takes on the wire.
    pub fn error(id: u64, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { id, body: ResponseBody::Error { kind, message: message.into() } }
    }
}

/// Who the daemon believes the caller is, read from the kernel (`SO_PEERCRED`), never from
/// anything the client said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerIdentity {
    /// Effective user id of the peer process.
    pub uid: u32,
    /// Effective group id of the peer process.
    pub gid: u32,
    /// Process id of the peer.
    pub pid: u32,
}

/// What `info` reports about the running daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The daemon's version (crate version).
    pub version: String,
    /// The protocol version it speaks.
    pub protocol: u32,
    /// Its process id.
    pub pid: u32,
    /// Milliseconds since it started.
    pub uptime_ms: u64,
    /// The socket path it listens on.
    pub socket: String,
    /// The config file it read, if any existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Its state directory.
    pub state_dir: String,
    /// Connections currently open.
    pub connections: u64,
}

/// Every kind of answer. Encoded like requests: a one-entry map `{"<name>": {<fields>}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseBody {
    /// Handshake accepted.
    Welcome {
        /// The daemon's protocol version.
        protocol: u32,
        /// The daemon's version.
        server_version: String,
        /// The caller as the kernel reports it.
        peer: PeerIdentity,
        /// The largest frame the daemon accepts or sends, so a client can size its own cap.
        max_frame_bytes: u64,
    },
    /// Answer to `ping`.
    Pong {},
    /// Answer to `info`.
    Info(ServerInfo),
    /// Answer to `stats`.
    Stats {
        /// Sum over the namespaces listed.
        total: CacheStats,
        /// One row per namespace.
        namespaces: Vec<NamespaceStats>,
    },
    /// Answer to `list_namespaces`.
    Namespaces {
        /// The namespaces, sorted by name.
        namespaces: Vec<NamespaceSummary>,
    },
    /// The request was carried out and has nothing to report.
    Done {},
    /// Answer to `set`: whether the value was written (false when its condition failed).
    Stored {
        /// Whether the write happened.
        stored: bool,
    },
    /// Answer to `get`: the value, absent when the key does not exist.
    Value {
        /// The bytes, or nil.
        #[serde(default)]
        value: Option<ByteBuf>,
    },
    /// Answer to `get_many`: one slot per requested key, nil where missing.
    Values {
        /// The values in request order.
        values: Vec<Option<ByteBuf>>,
    },
    /// Answer to `delete`, `exists` (0/1), `delete_pattern`, `expire_pattern`, `set_many`.
    Count {
        /// How many keys were affected.
        count: u64,
    },
    /// Answer to `ttl` and `expire`.
    Ttl {
        /// Whether the key exists.
        exists: bool,
        /// Remaining milliseconds; absent when the key does not exist or never expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
    },
    /// One page of `keys`.
    Keys {
        /// Matching keys of this page.
        keys: Vec<String>,
        /// Cursor for the next page; absent when the iteration is complete.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_cursor: Option<u64>,
    },
    /// Answer to `pattern_stats`.
    PatternStats {
        /// Matching keys.
        keys: u64,
        /// Bytes of their keys and values (without bookkeeping overhead).
        bytes: u64,
        /// How many of them have a TTL.
        with_ttl: u64,
    },
    /// Answer to `clear` and `clear_all`.
    Cleared {
        /// Entries dropped.
        entries: u64,
        /// Bytes freed (as counted against the limits).
        bytes: u64,
    },
    /// Answer to `reload`: one human-readable line per change applied.
    Reloaded {
        /// What changed; empty when the file was unchanged.
        changes: Vec<String>,
    },
    /// The request failed.
    Error {
        /// Class of failure.
        kind: ErrorKind,
        /// What went wrong, for a human.
        message: String,
    },
}
