//! The cachemgr wire protocol: the single source of truth for what travels over the socket.
//!
//! Every frame is a big-endian `u32` length followed by a MessagePack document encoded with
//! field names (`rmp_serde::to_vec_named`). Clients send [`Request`]s, the daemon answers with
//! [`Response`]s carrying the same `id`, so many requests can be in flight on one connection.
//! Each request gets exactly one terminal response; long requests (`key_rotate`) may send
//! `progress` responses before it (see [`ResponseBody::is_terminal`]); `subscribe` turns its
//! connection into a stream of `event` responses.
//! `docs/protocol.md` describes the same thing for clients written in other languages.

pub mod access;
pub mod apps;
pub mod codec;
pub mod dirs;
pub mod dump;
pub mod error;
pub mod events;
pub mod keys;
pub mod pressure;
pub mod request;
pub mod request_args;
pub mod response;
pub mod scan;
pub mod socket_path;
pub mod stats;

pub use access::{Access, Audience, Effect, NamedPath, PathUse};
pub use apps::{
    AppHealth, AppInfo, AppSettings, AppStrategy, BackupInfo, BackupSource, BadBackup,
    DaemonStatus, JobStatus, JsonNode,
};
pub use codec::{
    decode_request, encode_frame, CodecError, DecodeError, MessageCodec, ServerCodec,
    DEFAULT_MAX_FRAME_BYTES,
};
pub use dirs::{DirFreed, DirInfo, DirSettings};
pub use dump::{AutodumpInfo, RestoreMode};
pub use error::ErrorKind;
pub use events::{Event, EventKind, MAX_EVENT_VALUE_BYTES};
pub use keys::{NamespaceKey, RotatedNamespace, RotationProgress};
pub use pressure::{
    ClearScheduleInfo, DiskPressure, DiskUsage, MemoryPressure, PressureAction, PressureInfo,
    TriggerState,
};
pub use request::{Entry, KeyPattern, PatternSyntax, Request, RequestBody, SetCondition};
pub use response::{PeerIdentity, Response, ResponseBody, ServerInfo};
pub use stats::{CacheStats, LayerStats, NamespaceStats, NamespaceSummary, RedisStatus};

/// Bumped on any incompatible wire change; the handshake refuses a mismatch by name.
pub const PROTOCOL_VERSION: u32 = 1;

/// Request id the daemon uses for errors it cannot attribute to a request (e.g. a frame that
/// is not MessagePack), so clients must never use it for their own requests.
pub const UNSOLICITED_ID: u64 = 0;
