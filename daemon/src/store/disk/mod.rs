//! The disk layer: one redb database holding every disk-tier namespace, each value sealed
//! with its namespace's key (see [`record`] for the byte layout).
//!
//! No name is stored in the clear (see [`names`]): a namespace is known by its tag `t` (a
//! keyed hash of its name), a key by its slot (a keyed hash of the key name under the
//! namespace's slot key), and the key name itself is sealed inside its record.
//!
//! Tables, per namespace: `d/t` (slot → sealed record, the key name inside), `x/t`
//! ((expires unix ms, slot) → (), the expiry index the sweeper walks), `o/t` ((rank, slot) →
//! (), the eviction order) and `a/t` (slot → (rank, charged bytes)). Shared: `ns_keys`
//! ((t, key id) → 32-byte salt; the namespace key is HKDF(master, salt, "cachemgr/ns/v1/" +
//! ns)), `ns_names` (t → the namespace name, sealed under a master-derived key), `accounting`
//! (`seq` and `b/t`, the bytes a namespace holds) and `meta` (master key fingerprint, format).
//!
//! Reads run on the caller's thread with a read transaction (redb is MVCC: readers never wait
//! for the writer). Every change goes through one writer thread (`writer.rs`) that batches
//! whatever is queued into one transaction (group commit), so `fsync` durability costs one
//! fsync per batch, not per write.

#[cfg(test)]
mod accounting_tests;
mod apply;
mod cell;
mod cursors;
mod keyset;
pub mod names;
mod open;
mod read;
pub mod record;
mod rotation;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use cachemgr_proto::CacheStats;
use tokio::sync::Notify;

pub(crate) use apply::charge;
pub use keyset::KeySet;
pub use open::{DiskOptions, OpenReport};
pub use read::{DiskEntry, KeysPage};
pub use rotation::{RotationOutcome, RotationProgress};
pub use writer::{Op, Outcome};

use crate::keys::MasterKey;
use crate::store::memory::EvictionPolicy;
use cell::DbCell;
use cursors::Cursors;
use names::{DiskNames, SlotKey};
use writer::WriterHandle;

/// Why a disk operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiskError {
    /// The database refused an operation (bad state, a logic error in a batch).
    #[error("disk layer: {0}")]
    Storage(String),
    /// The database file could not be read or written (disk full, I/O error): the writer
    /// reopens the database before the next write.
    #[error("disk layer: {0}")]
    Io(String),
    /// The database file is damaged: it is moved aside and replaced by a fresh one.
    #[error("disk layer: the database is damaged ({0}); it is moved aside and replaced")]
    Corrupt(String),
    /// The writer thread is gone (the daemon is stopping).
    #[error("disk layer is shut down")]
    Closed,
    /// The value alone is larger than the namespace may hold on disk.
    #[error("value of {needed} bytes on disk (key + sealed record) exceeds the namespace limit of {limit} bytes (max_bytes)")]
    TooLarge {
        /// Bytes it would be charged.
        needed: u64,
        /// The namespace's `max_bytes`.
        limit: u64,
    },
    /// A rotation of this namespace is already running.
    #[error("a key rotation of namespace {0:?} is already running")]
    Busy(String),
    /// A `keys` cursor that this daemon did not hand out (or forgot).
    #[error("unknown or expired cursor {0}; start again from 0")]
    Cursor(u64),
}

impl DiskError {
    /// Wraps any redb error with what was being done.
    pub(crate) fn storage(doing: &str, err: impl std::fmt::Display) -> DiskError {
        DiskError::Storage(format!("{doing}: {err}"))
    }

    /// What went wrong, without the "disk layer" prefix (for messages that nest it).
    pub(crate) fn detail(&self) -> String {
        match self {
            DiskError::Storage(what) | DiskError::Io(what) => what.clone(),
            other => other.to_string().trim_start_matches("disk layer: ").to_owned(),
        }
    }

    /// Wraps a redb error, telling a failing file ([`DiskError::Io`], "no space left on
    /// device" named as such) and damage ([`DiskError::Corrupt`]) from the rest.
    pub(crate) fn redb(doing: &str, err: impl Into<redb::Error>) -> DiskError {
        match err.into() {
            redb::Error::Corrupted(why) => DiskError::Corrupt(format!("{doing}: {why}")),
            redb::Error::Io(io) if is_no_space(&io) => DiskError::Io(format!(
                "{doing}: no space left on device for the database file ({io})"
            )),
            redb::Error::Io(io) => DiskError::Io(format!("{doing}: I/O error: {io}")),
            redb::Error::PreviousIo | redb::Error::DatabaseClosed => {
                DiskError::Io(format!("{doing}: the database is being reopened after an I/O error"))
            }
            other => DiskError::Storage(format!("{doing}: {other}")),
        }
    }
}

/// Whether an I/O error says the file system is full (or the quota is spent).
pub(crate) fn is_no_space(err: &std::io::Error) -> bool {
    matches!(err.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
        || err.raw_os_error() == Some(libc::ENOSPC)
}

/// Counters of one namespace's disk layer.
#[derive(Debug, Default)]
pub struct DiskCounters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) sets: AtomicU64,
    pub(crate) deletes: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) corrupt: AtomicU64,
    pub(crate) evictions: AtomicU64,
}

/// One namespace's disk state: its key generations, counters and rotation progress.
#[derive(Debug)]
pub struct DiskNamespace {
    name: String,
    /// Its tag: the stored stand-in for its name (tables, shared rows).
    tag: String,
    /// The keyed hash turning its key names into slots.
    slots: SlotKey,
    /// Its name sealed for `ns_names` (written again into a replacement file).
    sealed_name: Vec<u8>,
    pub(crate) keys: RwLock<KeySet>,
    pub(crate) counters: DiskCounters,
    pub(crate) rotation: Mutex<Option<RotationProgress>>,
    /// The namespace's byte limit on disk (`max_bytes`), set by the store.
    max_bytes: AtomicU64,
    /// Its eviction policy (see [`DiskNamespace::policy`]).
    policy: AtomicU8,
}

impl DiskNamespace {
    pub(crate) fn new(name: String, keys: KeySet, names: &DiskNames) -> DiskNamespace {
        let tag = names.tag(&name);
        DiskNamespace {
            sealed_name: names.seal_namespace(&tag, &name),
            slots: names.slots(&name),
            tag,
            name,
            keys: RwLock::new(keys),
            counters: DiskCounters::default(),
            rotation: Mutex::new(None),
            max_bytes: AtomicU64::new(u64::MAX),
            policy: AtomicU8::new(0),
        }
    }

    /// Follows the namespace's limits: the disk layer holds at most `max_bytes` (key +
    /// sealed record of each value) and evicts by `eviction` past it.
    /// Returns whether the limit went down (the caller then queues an [`Op::Trim`]).
    pub fn set_limits(&self, max_bytes: u64, eviction: EvictionPolicy) -> bool {
        let before = self.max_bytes.swap(max_bytes, Ordering::Relaxed);
        let code = match eviction {
            EvictionPolicy::Lru => 0,
            EvictionPolicy::Lfu => 1,
            EvictionPolicy::Fifo => 2,
        };
        self.policy.store(code, Ordering::Relaxed);
        max_bytes < before
    }

    /// The byte limit on disk.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes.load(Ordering::Relaxed)
    }

    /// The eviction policy on disk.
    pub fn policy(&self) -> EvictionPolicy {
        match self.policy.load(Ordering::Relaxed) {
            1 => EvictionPolicy::Lfu,
            2 => EvictionPolicy::Fifo,
            _ => EvictionPolicy::Lru,
        }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's tag (what stands for its name on disk).
    pub(crate) fn tag(&self) -> &str {
        &self.tag
    }

    /// The slot (stored form) of `key`.
    pub(crate) fn slot(&self, key: &str) -> String {
        self.slots.slot(key)
    }

    /// The name sealed for `ns_names`.
    pub(crate) fn sealed_name(&self) -> &[u8] {
        &self.sealed_name
    }

    /// The key generation new values are sealed with.
    pub fn current_key_id(&self) -> u32 {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).current_id()
    }

    /// Where a running rotation stands.
    pub fn rotation(&self) -> Option<RotationProgress> {
        *self.rotation.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The disk layer (see the module doc).
pub struct DiskLayer {
    cell: Arc<DbCell>,
    writer: WriterHandle,
    master: Arc<MasterKey>,
    names: Arc<DiskNames>,
    namespaces: Arc<RwLock<HashMap<String, Arc<DiskNamespace>>>>,
    plain: bool,
    cursors: Cursors,
    path: PathBuf,
    /// Earliest expiry (unix ms) the sweeper must wake for; `u64::MAX` = none known.
    pub(crate) next_deadline: AtomicU64,
    pub(crate) wakeup: Notify,
    /// Serialises namespace creation: two first writes racing must not each make a key.
    pub(crate) creating: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for DiskLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskLayer").field("path", &self.path).finish_non_exhaustive()
    }
}

impl DiskLayer {
    /// Whether values are stored unsealed (the benchmark baseline only).
    pub fn is_plain(&self) -> bool {
        self.plain
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The namespace's disk state if it has ever been written.
    pub fn lookup(&self, ns: &str) -> Option<Arc<DiskNamespace>> {
        self.namespaces.read().unwrap_or_else(PoisonError::into_inner).get(ns).cloned()
    }

    /// Every namespace with disk state.
    pub fn all(&self) -> Vec<Arc<DiskNamespace>> {
        self.namespaces.read().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    /// The namespace's disk state, creating its first key (durably) when it has none.
    pub async fn namespace(&self, ns: &str) -> Result<Arc<DiskNamespace>, DiskError> {
        if let Some(found) = self.lookup(ns) {
            return Ok(found);
        }
        let _only_one = self.creating.lock().await;
        if let Some(found) = self.lookup(ns) {
            return Ok(found);
        }
        let mut salt = [0u8; 32];
        record::fill_random(&mut salt);
        let mut keys = KeySet::default();
        keys.add(1, &self.master, ns, &salt);
        let state = Arc::new(DiskNamespace::new(ns.to_owned(), keys, &self.names));
        self.submit(Op::AddKey { ns: state.clone(), id: 1, salt }, true).await?;
        let mut map = self.namespaces.write().unwrap_or_else(PoisonError::into_inner);
        Ok(map.entry(ns.to_owned()).or_insert(state).clone())
    }

    /// Queues `op` and waits until it is committed (durably when `durable`).
    pub async fn submit(&self, op: Op, durable: bool) -> Result<Outcome, DiskError> {
        self.writer.submit(op, durable)?.await.map_err(|_| DiskError::Closed)?
    }

    /// Queues `op` now (so its order against other writes is fixed by the caller) and returns
    /// a future that resolves when it is committed.
    pub fn enqueue(
        &self,
        op: Op,
        durable: bool,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Outcome, DiskError>>, DiskError> {
        self.writer.submit(op, durable)
    }

    /// Makes the sweeper wake by `expires_at` (unix ms) if that is earlier than its plan.
    pub fn note_deadline(&self, expires_at: u64) {
        if expires_at != 0
            && expires_at < self.next_deadline.fetch_min(expires_at, Ordering::AcqRel)
        {
            self.wakeup.notify_one();
        }
    }

    /// Counters, live entries and stored bytes of one namespace.
    pub fn stats(&self, ns: &str) -> CacheStats {
        let Some(state) = self.lookup(ns) else {
            return CacheStats::default();
        };
        let c = &state.counters;
        let (entries, bytes) = self.size_of(ns).unwrap_or((0, 0));
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            sets: c.sets.load(Ordering::Relaxed),
            deletes: c.deletes.load(Ordering::Relaxed),
            expired: c.expired.load(Ordering::Relaxed),
            corrupt: c.corrupt.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            entries,
            bytes_used: bytes,
            bytes_limit: if state.max_bytes() == u64::MAX { 0 } else { state.max_bytes() },
            ..CacheStats::default()
        }
    }

    /// Stops the writer after it has committed everything queued (durably).
    pub fn close(&self, timeout: Duration) {
        self.writer.close(timeout);
    }
}

/// The table of a namespace's values (by its tag).
pub(crate) fn data_table(tag: &str) -> String {
    format!("d/{tag}")
}

/// The table of a namespace's expiry index.
pub(crate) fn expiry_table(tag: &str) -> String {
    format!("x/{tag}")
}

/// The eviction order of a namespace ((rank, slot) → ()).
pub(crate) fn order_table(tag: &str) -> String {
    format!("o/{tag}")
}

/// Each slot's rank and charged bytes (slot → (rank, bytes)).
pub(crate) fn access_table(tag: &str) -> String {
    format!("a/{tag}")
}

/// The current wall-clock time in unix ms (disk deadlines must survive a restart).
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(1)
}
