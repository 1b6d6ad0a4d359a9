//! Reads: single values (opened with the namespace key), headers (TTL and existence need no
//! key), and chunked scans for paging, pattern operations and rotation.

use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::PoisonError;

use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTableMetadata, TableError};

use super::apply::{bytes_key, data_def, ACCOUNTING};
use super::record::{self, RecordHeader};
use super::writer::Op;
use super::{data_table, DiskError, DiskLayer, DiskNamespace, KeySet};
use crate::pattern::KeyMatcher;
use crate::store::memory::{EvictionPolicy, PAGE_BYTES};

/// A value read from disk and when it expires (unix ms, 0 = never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskEntry {
    /// The opened value.
    pub value: Vec<u8>,
    /// Expiry, unix ms.
    pub expires_at: u64,
}

/// One page of keys and the cursor for the next.
#[derive(Debug, Default)]
pub struct KeysPage {
    /// Matching keys.
    pub keys: Vec<String>,
    /// Where to resume; `None` = done.
    pub next_cursor: Option<u64>,
}

/// A live key seen by a scan, with its header and stored size.
#[derive(Debug, Clone)]
pub struct ScannedKey {
    /// The key (opened from its record).
    pub key: String,
    /// Its slot: where a scan resumes after it.
    pub slot: String,
    /// Its record header.
    pub header: RecordHeader,
    /// Stored record bytes.
    pub stored: usize,
}

/// The value table of the namespace tagged `tag` in a read transaction, if it exists.
fn table(
    db: &Database,
    tag: &str,
) -> Result<Option<ReadOnlyTable<&'static str, &'static [u8]>>, DiskError> {
    let txn = db.begin_read().map_err(|e| DiskError::redb("starting a read", e))?;
    match txn.open_table(data_def(&data_table(tag))) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(DiskError::redb("opening a table", e)),
    }
}

/// A record at least this big is opened off the runtime worker.
const OFF_WORKER_BYTES: usize = 256 * 1024;

/// Runs blocking `work` without stalling a multi-thread runtime's worker (`block_in_place`);
/// anywhere else (a current-thread runtime, no runtime) it just runs.
fn off_worker<T>(work: impl FnOnce() -> T) -> T {
    let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
    if flavor.is_ok_and(|f| f == tokio::runtime::RuntimeFlavor::MultiThread) {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

impl DiskLayer {
    /// Reads and opens a live value. A value that fails to open counts as `corrupt`, is
    /// logged (namespace and key, never bytes), queued for deletion and reported as a miss.
    pub fn get(&self, ns: &str, key: &str, now: u64) -> Result<Option<DiskEntry>, DiskError> {
        let Some(state) = self.lookup(ns) else { return Ok(None) };
        let found = self.read_live(&state, key, now)?;
        let Some((bytes, header)) = found else {
            state.counters.misses.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        let open = || {
            let keys = state.keys.read().unwrap_or_else(PoisonError::into_inner);
            record::open(&bytes, ns, key, self.plain, |id| keys.get(id))
        };
        // Opening a big record (decrypt, decompress: milliseconds at 4 MiB) first hands the
        // runtime worker's other tasks to another thread; small ones stay inline (a hop per
        // read cost 40% of small disk-tier GETs, docs/benchmarks.md).
        let opened = if bytes.len() >= OFF_WORKER_BYTES { off_worker(open) } else { open() };
        match opened {
            Ok(value) => {
                state.counters.hits.fetch_add(1, Ordering::Relaxed);
                if state.policy() != EvictionPolicy::Fifo {
                    // Fire and forget: the order only guides eviction.
                    let op = Op::Touch { ns: state.clone(), keys: vec![key.to_owned()] };
                    let _ = self.enqueue(op, false);
                }
                Ok(Some(DiskEntry { value, expires_at: header.expires_at }))
            }
            Err(err) => {
                tracing::debug!(namespace = %state.name(), key = %key, "the value that does not open");
                self.drop_damaged(&state, &state.slot(key), bytes, &err, true);
                Ok(None)
            }
        }
    }

    /// The header of a live value (for `exists` and `ttl`).
    pub fn header(&self, ns: &str, key: &str, now: u64) -> Result<Option<RecordHeader>, DiskError> {
        let Some(state) = self.lookup(ns) else { return Ok(None) };
        Ok(self.read_live(&state, key, now)?.map(|(_, header)| header))
    }

    fn read_live(
        &self,
        state: &DiskNamespace,
        key: &str,
        now: u64,
    ) -> Result<Option<(Vec<u8>, RecordHeader)>, DiskError> {
        let slot = state.slot(key);
        let read = self.guarded(|db| {
            let Some(table) = table(db, state.tag())? else { return Ok(None) };
            let found = table.get(slot.as_str()).map_err(|e| DiskError::redb("reading", e))?;
            Ok(found.map(|guard| guard.value().to_vec()))
        })?;
        let Some(bytes) = read else { return Ok(None) };
        match record::peek(&bytes) {
            Ok(header) if header.expired(now) => Ok(None),
            Ok(header) => Ok(Some((bytes, header))),
            Err(err) => {
                tracing::debug!(namespace = %state.name(), key = %key, "the value that does not open");
                self.drop_damaged(state, &slot, bytes, &err, true);
                Ok(None)
            }
        }
    }

    /// Counts a record that does not open (and a miss, when a read asked for it) and queues
    /// its deletion (by slot: a damaged record may not yield its name). Neither slot nor
    /// name reaches the warn line; the caller logs the key name at debug level when it has
    /// one.
    fn drop_damaged(
        &self,
        state: &DiskNamespace,
        slot: &str,
        bytes: Vec<u8>,
        err: &record::RecordError,
        miss: bool,
    ) {
        state.counters.corrupt.fetch_add(1, Ordering::Relaxed);
        state.counters.misses.fetch_add(u64::from(miss), Ordering::Relaxed);
        tracing::warn!(namespace = %state.name(), "dropping a value that does not open: {err}");
        tracing::debug!(namespace = %state.name(), slot = %slot, "the stored slot that does not open");
        let op =
            Op::DropDamaged { ns: state.name().to_owned(), slot: slot.to_owned(), record: bytes };
        // Fire and forget: the value is already treated as a miss.
        let _ = self.enqueue(op, false);
    }

    /// Up to `limit` live keys after the slot `after` (exclusive), in slot order, with their
    /// names opened and their headers; the second value is the last slot visited (`None` =
    /// the end was reached). A record whose name does not open is dropped as damaged.
    pub fn scan_chunk(
        &self,
        ns: &str,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> Result<(Vec<ScannedKey>, Option<String>), DiskError> {
        let Some(state) = self.lookup(ns) else { return Ok((Vec::new(), None)) };
        let (found, damaged, last) =
            self.guarded(|db| scan(db, &state, self.plain, after, limit, now))?;
        for (slot, bytes, err) in damaged {
            self.drop_damaged(&state, &slot, bytes, &err, false);
        }
        Ok((found, last))
    }

    /// One page of matching keys; `cursor` 0 starts, others resume where a page ended.
    pub fn keys_page(
        &self,
        ns: &str,
        matcher: &KeyMatcher,
        cursor: u64,
        count: usize,
        now: u64,
    ) -> Result<KeysPage, DiskError> {
        let mut after = match cursor {
            0 => None,
            id => Some(self.cursors.resume(ns, id).ok_or(DiskError::Cursor(id))?),
        };
        let mut page = KeysPage::default();
        let budget = count.saturating_mul(16).max(4096);
        let mut visited = 0;
        // Keys may be 64 KiB each: a page also ends at a byte bound, like the memory layer's.
        let mut bytes = 0;
        while page.keys.len() < count && visited < budget && bytes < PAGE_BYTES {
            let (chunk, last) = self.scan_chunk(ns, after.as_deref(), 1024.min(budget), now)?;
            visited += 1024;
            for scanned in chunk {
                if page.keys.len() < count
                    && bytes < PAGE_BYTES
                    && matcher.is_match(scanned.key.as_bytes())
                {
                    bytes += scanned.key.len();
                    after = Some(scanned.slot.clone());
                    page.keys.push(scanned.key);
                } else if page.keys.len() >= count || bytes >= PAGE_BYTES {
                    break;
                }
            }
            if bytes >= PAGE_BYTES {
                break;
            }
            match last {
                None if page.keys.len() < count => return Ok(page),
                None => break,
                Some(last) if page.keys.len() < count => after = Some(last),
                Some(_) => break,
            }
        }
        if let Some(last) = after {
            page.next_cursor = Some(self.cursors.save(ns, last));
        }
        Ok(page)
    }
}

impl DiskLayer {
    /// The earliest expiry of any namespace (unix ms), from the expiry indexes.
    pub fn earliest_expiry(&self) -> Option<u64> {
        let states = self.all();
        self.guarded(|db| Ok(earliest(db, &states))).ok().flatten()
    }

    /// Values stored for `ns` (live or not yet swept).
    pub fn count(&self, ns: &str) -> Result<u64, DiskError> {
        Ok(self.size_of(ns)?.0)
    }

    /// Values and charged bytes (key + sealed record of each) of `ns`.
    pub fn size_of(&self, ns: &str) -> Result<(u64, u64), DiskError> {
        let Some(state) = self.lookup(ns) else { return Ok((0, 0)) };
        self.guarded(|db| size(db, state.tag()))
    }
}

/// Values and charged bytes of the namespace tagged `tag`.
fn size(db: &Database, tag: &str) -> Result<(u64, u64), DiskError> {
    let txn = db.begin_read().map_err(|e| DiskError::redb("starting a read", e))?;
    let table: ReadOnlyTable<&str, &[u8]> = match txn.open_table(data_def(&data_table(tag))) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((0, 0)),
        Err(e) => return Err(DiskError::redb("opening a table", e)),
    };
    let entries = table.len().map_err(|e| DiskError::redb("counting", e))?;
    let bytes = match txn.open_table(ACCOUNTING) {
        Ok(accounting) => accounting
            .get(bytes_key(tag).as_str())
            .map_err(|e| DiskError::redb("measuring", e))?
            .map_or(0, |g| g.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => return Err(DiskError::redb("measuring", e)),
    };
    Ok((entries, bytes))
}

/// A record that does not open (or whose name is not its slot's): its slot, bytes and why.
type Damaged = (String, Vec<u8>, record::RecordError);
/// What one scan chunk saw: live keys, damaged records, and the last slot visited.
type Chunk = (Vec<ScannedKey>, Vec<Damaged>, Option<String>);

/// The key name sealed in `bytes`, checked to be the one stored at `slot`.
fn name_at(
    ns: &DiskNamespace,
    keys: &KeySet,
    plain: bool,
    slot: &str,
    bytes: &[u8],
) -> Result<String, record::RecordError> {
    let key = record::open_name(bytes, ns.name(), plain, |id| keys.get(id))?;
    if ns.slot(&key) != slot {
        return Err(record::RecordError::Authentication);
    }
    Ok(key)
}

/// Up to `limit` live keys of `ns` after the slot `after`, names opened in place (values are
/// neither opened nor copied), the damaged records, and the last slot visited (see
/// [`DiskLayer::scan_chunk`]).
fn scan(
    db: &Database,
    ns: &DiskNamespace,
    plain: bool,
    after: Option<&str>,
    limit: usize,
    now: u64,
) -> Result<Chunk, DiskError> {
    let Some(table) = table(db, ns.tag())? else { return Ok((Vec::new(), Vec::new(), None)) };
    let start = match after {
        Some(key) => Bound::Excluded(key),
        None => Bound::Unbounded,
    };
    let range = table
        .range::<&str>((start, Bound::Unbounded))
        .map_err(|e| DiskError::redb("scanning", e))?;
    let keys = ns.keys.read().unwrap_or_else(PoisonError::into_inner);
    let mut out = Vec::new();
    let mut damaged = Vec::new();
    let mut visited = 0;
    for item in range {
        let (slot, value) = item.map_err(|e| DiskError::redb("scanning", e))?;
        visited += 1;
        let slot = slot.value().to_owned();
        let bytes = value.value();
        let opened = record::peek(bytes).and_then(|header| match header.expired(now) {
            true => Ok(None),
            false => name_at(ns, &keys, plain, &slot, bytes).map(|key| Some((key, header))),
        });
        match opened {
            Ok(None) => {}
            Ok(Some((key, header))) => {
                out.push(ScannedKey { key, slot: slot.clone(), header, stored: bytes.len() })
            }
            Err(err) => damaged.push((slot.clone(), bytes.to_vec(), err)),
        }
        if visited == limit {
            return Ok((out, damaged, Some(slot)));
        }
    }
    Ok((out, damaged, None))
}

fn earliest(db: &Database, states: &[std::sync::Arc<DiskNamespace>]) -> Option<u64> {
    let txn = db.begin_read().ok()?;
    states
        .iter()
        .filter_map(|state| {
            let name = super::expiry_table(state.tag());
            let index = txn.open_table(super::apply::index_def(&name)).ok()?;
            let first = redb::ReadableTable::first(&index).ok()??;
            Some(first.0.value().0)
        })
        .min()
}
