//! Encrypted dump files: a snapshot of cache entries of one or more namespaces that a daemon
//! holding the same master key can restore later.
//!
//! The byte layout is specified in `docs/dump-format.md`; [`format`](mod@format) holds its constants. In
//! short: a header (magic, version, creation time, salt, nonce prefix, key check), then
//! AES-256-GCM sealed chunks of at most 64 KiB of a record stream (STREAM construction: the nonce
//! carries the chunk counter and a "last chunk" flag, the header is the associated data), closed
//! by a final chunk holding the entry count and a SHA-256 of every byte before it.
//!
//! Restore is two passes over one open file ([`open_verified`]): the first authenticates the
//! whole file without side effects, then a [`DumpReader`] of the same file yields the records to
//! apply. A reader yields records of a chunk only after that chunk authenticated, but truncation
//! is only certain at the end, hence the first pass.

mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
mod reader;
mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;

use serde::{Deserialize, Serialize};

pub use error::DumpError;
pub use reader::{open_verified, verified_from, verify, DumpReader};
pub use writer::DumpWriter;

/// One cache entry as stored in a dump: where it lives, its bytes and its absolute expiry.
///
/// The expiry is wall-clock unix milliseconds (not a TTL) so that time spent between dump and
/// restore counts against it; `None` means the entry never expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpRecord {
    /// Namespace the entry belongs to.
    pub ns: String,
    /// The entry's key.
    pub key: String,
    /// The entry's value (MessagePack `bin` in the file).
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    /// Absolute expiry in unix milliseconds; `None` = no expiry.
    #[serde(default)]
    pub expires_at_unix_ms: Option<u64>,
}

/// What a written or verified dump contains, for replies and logs (no values, no keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpSummary {
    /// Number of records.
    pub entries: u64,
    /// Size of the dump file in bytes.
    pub bytes: u64,
    /// The namespaces that have at least one record, sorted.
    pub namespaces: Vec<String>,
}
