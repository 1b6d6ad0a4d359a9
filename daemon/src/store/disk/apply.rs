//! How each writer op changes the tables, inside the writer's transaction.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock};

use redb::{ReadableTable, ReadableTableMetadata, Table, TableDefinition, WriteTransaction};

use super::names::SLOT_LEN;
use super::record::{self, RecordHeader, Sealer};
use super::writer::{Op, Outcome};
use super::{access_table, data_table, expiry_table, order_table, DiskError, DiskNamespace};
use crate::store::memory::{EvictionPolicy, WriteCondition};

/// (Namespace tag, key id) → salt of every namespace key generation.
pub(crate) const NS_KEYS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("ns_keys");

/// Namespace tag → the namespace's name, sealed (see [`super::names`]).
pub(crate) const NS_NAMES: TableDefinition<&str, &[u8]> = TableDefinition::new("ns_names");

/// Every namespace with disk state, by name.
pub(crate) type Namespaces = RwLock<HashMap<String, Arc<DiskNamespace>>>;

/// Running counters: `seq` (the last eviction rank handed out) and `b/<ns>` (the bytes a
/// namespace holds: key + record of every value).
pub(crate) const ACCOUNTING: TableDefinition<&str, u64> = TableDefinition::new("accounting");

type DataTable<'t> = Table<'t, &'static str, &'static [u8]>;
type IndexTable<'t> = Table<'t, (u64, &'static str), ()>;
type OrderTable<'t> = Table<'t, (u64, &'static str), ()>;
type AccessTable<'t> = Table<'t, &'static str, (u64, u64)>;

/// The eviction order of a namespace: (rank, key), lowest rank evicted first.
pub(crate) fn order_def(name: &str) -> TableDefinition<'_, (u64, &'static str), ()> {
    TableDefinition::new(name)
}

/// Each key's (rank, charged bytes), to find its place in the order.
pub(crate) fn access_def(name: &str) -> TableDefinition<'_, &'static str, (u64, u64)> {
    TableDefinition::new(name)
}

/// The accounting key of a namespace's byte total (by its tag).
pub(crate) fn bytes_key(tag: &str) -> String {
    format!("b/{tag}")
}

/// The value table definition of a namespace (the name lives as long as the call).
pub(crate) fn data_def(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}

/// The expiry index definition of a namespace.
pub(crate) fn index_def(name: &str) -> TableDefinition<'_, (u64, &'static str), ()> {
    TableDefinition::new(name)
}

fn storage<E: Into<redb::Error>>(doing: &str) -> impl FnOnce(E) -> DiskError + '_ {
    move |err| DiskError::redb(doing, err)
}

/// A namespace's tables inside the writer's transaction, with its byte total; every change
/// of a value goes through it so the order and the total stay exact.
struct Tables<'t> {
    data: DataTable<'t>,
    index: IndexTable<'t>,
    order: OrderTable<'t>,
    access: AccessTable<'t>,
    accounting: Table<'t, &'static str, u64>,
    bytes_key: String,
    total: u64,
    seq: u64,
    seq_start: u64,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction, ns: &DiskNamespace) -> Result<Tables<'t>, DiskError> {
        let ns = ns.tag();
        let data = txn.open_table(data_def(&data_table(ns))).map_err(storage("opening"))?;
        let index = txn.open_table(index_def(&expiry_table(ns))).map_err(storage("opening"))?;
        let order = txn.open_table(order_def(&order_table(ns))).map_err(storage("opening"))?;
        let access = txn.open_table(access_def(&access_table(ns))).map_err(storage("opening"))?;
        let accounting = txn.open_table(ACCOUNTING).map_err(storage("opening"))?;
        let bytes_key = bytes_key(ns);
        let total = accounting
            .get(bytes_key.as_str())
            .map_err(storage("reading"))?
            .map_or(0, |g| g.value());
        let seq = accounting.get("seq").map_err(storage("reading"))?.map_or(0, |g| g.value());
        Ok(Tables { data, index, order, access, accounting, bytes_key, total, seq, seq_start: seq })
    }

    /// Writes the total and the rank counter back (call once the op succeeded).
    fn finish(mut self) -> Result<(), DiskError> {
        self.accounting
            .insert(self.bytes_key.as_str(), self.total)
            .map_err(storage("accounting"))?;
        if self.seq != self.seq_start {
            self.accounting.insert("seq", self.seq).map_err(storage("accounting"))?;
        }
        Ok(())
    }

    /// Moves `key` (a slot) in the eviction order after a use (`used`: a write or, under LRU and
    /// LFU, a read) and charges `bytes` (`None` = unchanged).
    fn rank(
        &mut self,
        key: &str,
        policy: EvictionPolicy,
        used: bool,
        bytes: Option<u64>,
    ) -> Result<(), DiskError> {
        let old = self.access.get(key).map_err(storage("ordering"))?.map(|g| g.value());
        let old_bytes = old.map_or(0, |(_, b)| b);
        let new_bytes = bytes.unwrap_or(old_bytes);
        let rank = match old {
            Some((rank, _)) if !used => rank,
            _ => {
                self.seq += 1;
                match policy {
                    EvictionPolicy::Lfu => {
                        let uses = old.map_or(0, |(rank, _)| rank >> LFU_SHIFT) + 1;
                        (uses.min(LFU_MAX_USES) << LFU_SHIFT) | (self.seq & LFU_SEQ_MASK)
                    }
                    EvictionPolicy::Lru | EvictionPolicy::Fifo => self.seq,
                }
            }
        };
        if let Some((old_rank, _)) = old {
            if old_rank != rank {
                self.order.remove((old_rank, key)).map_err(storage("ordering"))?;
            }
        }
        self.order.insert((rank, key), ()).map_err(storage("ordering"))?;
        self.access.insert(key, (rank, new_bytes)).map_err(storage("ordering"))?;
        self.total = self.total.saturating_sub(old_bytes).saturating_add(new_bytes);
        Ok(())
    }

    /// Forgets `key`'s place and bytes.
    fn unrank(&mut self, key: &str) -> Result<(), DiskError> {
        if let Some((rank, bytes)) =
            self.access.remove(key).map_err(storage("ordering"))?.map(|g| g.value())
        {
            self.order.remove((rank, key)).map_err(storage("ordering"))?;
            self.total = self.total.saturating_sub(bytes);
        }
        Ok(())
    }

    /// Evicts by the namespace's order until its total fits `max_bytes`, sparing `keep`;
    /// returns how many values went.
    fn evict_to(&mut self, max_bytes: u64, keep: Option<&str>) -> Result<u64, DiskError> {
        let mut evicted = 0;
        while self.total > max_bytes {
            let victim = {
                let mut iter = self.order.iter().map_err(storage("evicting"))?;
                let mut found = None;
                for item in iter.by_ref() {
                    let (rank_key, _) = item.map_err(storage("evicting"))?;
                    let key = rank_key.value().1;
                    if keep != Some(key) {
                        found = Some(key.to_owned());
                        break;
                    }
                }
                found
            };
            let Some(victim) = victim else { break };
            remove(self, &victim)?;
            evicted += 1;
        }
        Ok(evicted)
    }
}

/// LFU ranks: uses in the high bits, then the order of the last use (so ties go to the
/// least recent).
const LFU_SHIFT: u32 = 40;
const LFU_SEQ_MASK: u64 = (1 << LFU_SHIFT) - 1;
const LFU_MAX_USES: u64 = (1 << (64 - LFU_SHIFT)) - 1;

/// The state of namespace `ns`; `None` when it was never written (so has no tables).
fn resolve(namespaces: &Namespaces, ns: &str) -> Option<Arc<DiskNamespace>> {
    namespaces.read().unwrap_or_else(PoisonError::into_inner).get(ns).cloned()
}

/// Applies one op; an error aborts the whole transaction.
pub(crate) fn apply(
    txn: &WriteTransaction,
    op: &Op,
    namespaces: &Namespaces,
) -> Result<Outcome, DiskError> {
    match op {
        Op::Put { ns, key, record, condition, now } => {
            let mut t = Tables::open(txn, ns)?;
            let slot = ns.slot(key);
            if *condition != WriteCondition::Always {
                let live = read_header(&t.data, &slot)?.is_some_and(|h| !h.expired(*now));
                let wanted = *condition == WriteCondition::IfPresent;
                if live != wanted {
                    return Ok(Outcome::Written(false));
                }
            }
            put(&mut t, ns, key, &slot, record)?;
            evict(&mut t, ns, &slot)?;
            t.finish()?;
            ns.counters.sets.fetch_add(1, Ordering::Relaxed);
            Ok(Outcome::Written(true))
        }
        Op::PutMany { ns, entries } => {
            let mut t = Tables::open(txn, ns)?;
            for (key, record) in entries {
                let slot = ns.slot(key);
                put(&mut t, ns, key, &slot, record)?;
                evict(&mut t, ns, &slot)?;
            }
            t.finish()?;
            ns.counters.sets.fetch_add(entries.len() as u64, Ordering::Relaxed);
            Ok(Outcome::Count(entries.len() as u64))
        }
        Op::Touch { ns, keys } => {
            let mut t = Tables::open(txn, ns)?;
            let policy = ns.policy();
            // FIFO orders by writes alone.
            let keys = if policy == EvictionPolicy::Fifo { &[][..] } else { &keys[..] };
            for key in keys {
                let slot = ns.slot(key);
                if t.access.get(slot.as_str()).map_err(storage("ordering"))?.is_some() {
                    t.rank(&slot, policy, true, None)?;
                }
            }
            t.finish()?;
            Ok(Outcome::Done)
        }
        Op::Trim { ns } => {
            let mut t = Tables::open(txn, ns)?;
            let evicted = t.evict_to(ns.max_bytes(), None)?;
            ns.counters.evictions.fetch_add(evicted, Ordering::Relaxed);
            t.finish()?;
            Ok(Outcome::Count(evicted))
        }
        Op::Delete { ns, keys, now } => {
            let Some(ns) = resolve(namespaces, ns) else { return Ok(Outcome::Count(0)) };
            let mut t = Tables::open(txn, &ns)?;
            let mut live = 0;
            for key in keys {
                if let Some(header) = remove(&mut t, &ns.slot(key))? {
                    live += u64::from(!header.expired(*now));
                }
            }
            t.finish()?;
            Ok(Outcome::Count(live))
        }
        Op::Expire { ns, keys, expires_at, now } => {
            let mut t = Tables::open(txn, ns)?;
            let mut changed = 0;
            for key in keys {
                changed += u64::from(expire(&mut t, ns, key, *expires_at, *now)?);
            }
            t.finish()?;
            Ok(Outcome::Count(changed))
        }
        Op::Clear { ns } => match resolve(namespaces, ns) {
            Some(ns) => clear(txn, &ns),
            None => Ok(Outcome::Cleared { entries: 0, bytes: 0 }),
        },
        Op::Sweep { ns, now, limit } => match resolve(namespaces, ns) {
            Some(ns) => sweep(txn, &ns, *now, *limit),
            None => Ok(Outcome::Swept { removed: 0, more: false }),
        },
        Op::DropDamaged { ns, slot, record } => {
            let Some(ns) = resolve(namespaces, ns) else { return Ok(Outcome::Done) };
            let mut t = Tables::open(txn, &ns)?;
            let same = t
                .data
                .get(slot.as_str())
                .map_err(storage("reading"))?
                .map(|g| g.value() == &record[..]);
            if same == Some(true) {
                remove(&mut t, slot)?;
            }
            t.finish()?;
            Ok(Outcome::Done)
        }
        Op::Reseal { ns, keys } => {
            let mut t = Tables::open(txn, ns)?;
            let mut resealed = 0;
            for key in keys {
                let slot = ns.slot(key);
                let Some(bytes) = read_record(&t.data, &slot)? else { continue };
                match refresh(ns, key, &bytes, None) {
                    Ok(Some(fresh)) => {
                        t.data.insert(slot.as_str(), &fresh[..]).map_err(storage("writing"))?;
                        t.rank(&slot, ns.policy(), false, Some(charge(&fresh)))?;
                        resealed += 1;
                    }
                    Ok(None) => {}
                    Err(err) => {
                        ns.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(namespace = %ns.name, "dropping a value that does not open during rotation: {err}");
                        tracing::debug!(namespace = %ns.name, key = %key, "the value that does not open");
                        remove(&mut t, &slot)?;
                    }
                }
            }
            t.finish()?;
            Ok(Outcome::Count(resealed))
        }
        Op::AddKey { ns, id, salt } => {
            let mut keys = txn.open_table(NS_KEYS).map_err(storage("opening"))?;
            // A key generation is written once: overwriting its salt would make every value
            // sealed under it unreadable.
            if keys.get((ns.tag(), *id)).map_err(storage("reading a key"))?.is_some() {
                return Err(DiskError::Storage(format!(
                    "key generation {id} of namespace {:?} already exists",
                    ns.name
                )));
            }
            keys.insert((ns.tag(), *id), &salt[..]).map_err(storage("writing a key"))?;
            let mut names = txn.open_table(NS_NAMES).map_err(storage("opening"))?;
            if names.get(ns.tag()).map_err(storage("reading a name"))?.is_none() {
                names.insert(ns.tag(), ns.sealed_name()).map_err(storage("writing a name"))?;
            }
            Ok(Outcome::Done)
        }
        Op::DropKeys { ns, ids } => {
            let mut keys = txn.open_table(NS_KEYS).map_err(storage("opening"))?;
            for id in ids {
                keys.remove((ns.tag(), *id)).map_err(storage("destroying a key"))?;
            }
            Ok(Outcome::Done)
        }
        Op::Flush => Ok(Outcome::Done),
    }
}

/// The bytes a value is charged on disk: its slot and its sealed record (which holds the
/// key name).
pub(crate) fn charge(record: &[u8]) -> u64 {
    (SLOT_LEN + record.len()) as u64
}

fn read_record(data: &DataTable<'_>, key: &str) -> Result<Option<Vec<u8>>, DiskError> {
    Ok(data.get(key).map_err(storage("reading"))?.map(|g| g.value().to_vec()))
}

fn read_header(data: &DataTable<'_>, key: &str) -> Result<Option<RecordHeader>, DiskError> {
    Ok(data.get(key).map_err(storage("reading"))?.and_then(|g| record::peek(g.value()).ok()))
}

/// A record re-sealed with the namespace's current key (and `expires_at` when given), or
/// `None` when it already is current and keeps its expiry.
fn refresh(
    ns: &DiskNamespace,
    key: &str,
    bytes: &[u8],
    expires_at: Option<u64>,
) -> Result<Option<Vec<u8>>, record::RecordError> {
    let header = record::peek(bytes)?;
    let keys = ns.keys.read().unwrap_or_else(PoisonError::into_inner);
    let Some((current, cipher)) = keys.current() else {
        return Ok(None);
    };
    if header.key_id == current && expires_at.is_none_or(|at| at == header.expires_at) {
        return Ok(None);
    }
    let plain = header.algorithm == record::ALG_PLAIN;
    let value = record::open(bytes, &ns.name, key, plain, |id| keys.get(id))?;
    let sealer = if plain { Sealer::Plain } else { Sealer::Aes { cipher, key_id: current } };
    let expires_at = expires_at.unwrap_or(header.expires_at);
    Ok(Some(record::seal_named(&sealer, &ns.name, key, &value, expires_at)))
}

/// Evicts by the namespace's policy until it fits its byte limit, sparing `written`.
fn evict(t: &mut Tables<'_>, ns: &DiskNamespace, written: &str) -> Result<(), DiskError> {
    let evicted = t.evict_to(ns.max_bytes(), Some(written))?;
    ns.counters.evictions.fetch_add(evicted, Ordering::Relaxed);
    Ok(())
}

/// Stores `record` of `key` at `slot` (its keyed hash).
fn put(
    t: &mut Tables<'_>,
    ns: &DiskNamespace,
    key: &str,
    slot: &str,
    record: &[u8],
) -> Result<(), DiskError> {
    // Sealed before a rotation switched keys but queued after it: re-seal now, so no value
    // sealed with a retired key can slip in behind the rotation's scan.
    let fresh = refresh(ns, key, record, None).ok().flatten();
    let record = fresh.as_deref().unwrap_or(record);
    let header = record::peek(record).map_err(|e| DiskError::storage("sealing", e))?;
    let old = t.data.insert(slot, record).map_err(storage("writing"))?;
    let old = old.and_then(|g| record::peek(g.value()).ok());
    if let Some(old) = old.filter(|h| h.expires_at != 0) {
        t.index.remove((old.expires_at, slot)).map_err(storage("indexing"))?;
    }
    if header.expires_at != 0 {
        t.index.insert((header.expires_at, slot), ()).map_err(storage("indexing"))?;
    }
    t.rank(slot, ns.policy(), true, Some(charge(record)))
}

/// Removes the value at `key` (a slot) with its index and order entries.
fn remove(t: &mut Tables<'_>, key: &str) -> Result<Option<RecordHeader>, DiskError> {
    let old = t.data.remove(key).map_err(storage("deleting"))?;
    let header = old.and_then(|g| record::peek(g.value()).ok());
    if let Some(h) = header.filter(|h| h.expires_at != 0) {
        t.index.remove((h.expires_at, key)).map_err(storage("indexing"))?;
    }
    t.unrank(key)?;
    Ok(header)
}

fn expire(
    t: &mut Tables<'_>,
    ns: &DiskNamespace,
    key: &str,
    expires_at: u64,
    now: u64,
) -> Result<bool, DiskError> {
    let slot = ns.slot(key);
    let Some(bytes) = read_record(&t.data, &slot)? else { return Ok(false) };
    let Ok(header) = record::peek(&bytes) else { return Ok(false) };
    if header.expired(now) {
        return Ok(false);
    }
    match refresh(ns, key, &bytes, Some(expires_at)) {
        Ok(Some(fresh)) => put(t, ns, key, &slot, &fresh).map(|()| true),
        Ok(None) => Ok(true),
        Err(err) => {
            ns.counters.corrupt.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(namespace = %ns.name, "dropping a value that does not open: {err}");
            tracing::debug!(namespace = %ns.name, key = %key, "the value that does not open");
            remove(t, &slot).map(|_| false)
        }
    }
}

fn clear(txn: &WriteTransaction, ns: &DiskNamespace) -> Result<Outcome, DiskError> {
    let (entries, bytes) = {
        let t = Tables::open(txn, ns)?;
        let entries = t.data.len().map_err(storage("counting"))?;
        (entries, t.total)
    };
    let ns = ns.tag();
    for name in [data_table(ns), expiry_table(ns), order_table(ns)] {
        txn.delete_table(data_def(&name)).map_err(storage("clearing"))?;
    }
    txn.delete_table(access_def(&access_table(ns))).map_err(storage("clearing"))?;
    let mut accounting = txn.open_table(ACCOUNTING).map_err(storage("clearing"))?;
    accounting.insert(bytes_key(ns).as_str(), 0).map_err(storage("clearing"))?;
    Ok(Outcome::Cleared { entries, bytes })
}

fn sweep(
    txn: &WriteTransaction,
    ns: &DiskNamespace,
    now: u64,
    limit: usize,
) -> Result<Outcome, DiskError> {
    let mut t = Tables::open(txn, ns)?;
    let due: Vec<(u64, String)> = t
        .index
        .range((0u64, "")..(now.saturating_add(1), ""))
        .map_err(storage("scanning expiries"))?
        .take(limit)
        .map(|item| item.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
        .collect::<Result<_, _>>()
        .map_err(storage("scanning expiries"))?;
    let mut removed = 0;
    for (deadline, key) in &due {
        t.index.remove((*deadline, key.as_str())).map_err(storage("indexing"))?;
        if read_header(&t.data, key)?.is_some_and(|h| h.expires_at == *deadline) {
            t.data.remove(key.as_str()).map_err(storage("expiring"))?;
            t.unrank(key)?;
            removed += 1;
        }
    }
    t.finish()?;
    Ok(Outcome::Swept { removed, more: due.len() == limit })
}
