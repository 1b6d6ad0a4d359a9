//! Client library for cachemgrd: connect to the daemon's local socket, handshake, and call
//! any operation of the `cachemgr-proto` protocol, pipelined over one connection.
//!
//! * [`Client`]: the async handle (tokio). Cheap to clone; every clone shares one connection,
//!   and calls made concurrently are pipelined on it (many requests in flight, answered by
//!   id), so `join!`-ing a hundred `get`s costs one round trip's latency, not a hundred.
//! * [`blocking::Client`]: the same for programs without an async runtime.
//! * Typed values: [`Client::set_value`] / [`Client::get_value`] store any `serde` type as
//!   MessagePack; [`Client::get_or_compute`] is the read-through helper (compute on a miss,
//!   store for a TTL, return).
//! * Change notifications: [`Client::subscribe`] opens a [`Subscription`], a stream of
//!   [`Notice`]s (each change, or how many were missed by a slow reader).
//!
//! The `cachectl` binary's own dependencies (clap, indicatif, hdrhistogram, ...) are behind the
//! default feature `cli`. A program that only uses this library should depend on it with
//! `default-features = false`, so that it compiles none of them:
//! `cachectl = { version = "0.1", default-features = false }`.
//!
//! The examples in `ctl/examples/` run against a live daemon (`cargo run -p cachemgrd`):
//! `connect`, `pipelined`, `typed`, `blocking`, `subscribe`
//! (`cargo run -p cachectl --example pipelined`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), cachectl::ClientError> {
//! use cachectl::{default_socket_path, Client, SetCondition};
//!
//! let client = Client::connect(default_socket_path(), "demo/0.1").await?;
//! client.set("sessions", "alice", b"token".to_vec(), None, SetCondition::Always).await?;
//! let value = client.get("sessions", "alice").await?;
//! assert_eq!(value.as_deref(), Some(&b"token"[..]));
//!
//! // Pipelined: both requests are in flight at once on the one connection.
//! let (a, b) = tokio::join!(client.get("sessions", "alice"), client.get("sessions", "bob"));
//! assert!(a?.is_some() && b?.is_none());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod app_types;
pub mod blocking;
mod client;
mod error;
// `expect!` (defined in `ops`) is shared with `app_ops`, so `ops` comes first.
#[macro_use]
mod ops;
mod app_ops;
mod dir_ops;
mod pressure_ops;
mod socket;
mod subscription;
mod transport;
mod typed;
mod types;

pub use app_ops::absolute_settings;
pub use app_types::{
    BackupList, ImportReport, InspectReport, MigrateReport, ModifyReport, PruneReport,
    RestoreAppReport, VerifyReport,
};
pub use client::{Client, ClientOptions, Welcome, DEFAULT_HANDSHAKE_TIMEOUT};
pub use dir_ops::DirsFreedReport;
pub use error::ClientError;
pub use ops::KEYS_PAGE;
pub use socket::{connect_stream, default_socket_path, SOCKET_ENV};
pub use subscription::{Notice, SubscribeOptions, Subscription};
pub use types::{
    absolute_path, response_name, ttl_to_ms, DumpReport, KeyStatus, PatternStats, Progress,
    RestoreReport, StatsReport,
};

/// Re-exported so users of the typed API need not depend on the protocol crate themselves.
pub use cachemgr_proto::{
    AppHealth, AppInfo, AppSettings, AppStrategy, AutodumpInfo, BackupInfo, BackupSource,
    BadBackup, CacheStats, ClearScheduleInfo, DaemonStatus, DirFreed, DirInfo, DirSettings,
    DiskPressure, DiskUsage, Entry, ErrorKind, Event, EventKind, JsonNode, KeyPattern, LayerStats,
    MemoryPressure, NamespaceKey, NamespaceStats, NamespaceSummary, PatternSyntax, PeerIdentity,
    PressureAction, PressureInfo, RedisStatus, RestoreMode, RotatedNamespace, RotationProgress,
    ServerInfo, SetCondition, TriggerState,
};

/// The name and version this library announces in `hello` unless told otherwise.
pub const CLIENT_NAME: &str = concat!("cachectl/", env!("CARGO_PKG_VERSION"));
