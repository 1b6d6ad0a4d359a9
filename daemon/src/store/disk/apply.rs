//! How each writer op changes the tables, inside the writer's transaction.

use std::sync::atomic::Ordering;
use std::sync::PoisonError;

use redb::{ReadableTable, ReadableTableMetadata, Table, TableDefinition, WriteTransaction};

use super::record::{self, RecordHeader, Sealer};
use super::writer::{Op, Outcome};
use super::{data_table, expiry_table, DiskError, DiskNamespace};
use crate::store::memory::WriteCondition;

/// Key id → salt of every namespace key generation.
pub(crate) const NS_KEYS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("ns_keys");

type DataTable<'t> = Table<'t, &'static str, &'static [u8]>;
type IndexTable<'t> = Table<'t, (u64, &'static str), ()>;

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

fn tables<'t>(
    txn: &'t WriteTransaction,
    ns: &str,
) -> Result<(DataTable<'t>, IndexTable<'t>), DiskError> {
    let data = txn.open_table(data_def(&data_table(ns))).map_err(storage("opening"))?;
    let index = txn.open_table(index_def(&expiry_table(ns))).map_err(storage("opening"))?;
    Ok((data, index))
}

/// Applies one op; an error aborts the whole transaction.
pub(crate) fn apply(txn: &WriteTransaction, op: &Op) -> Result<Outcome, DiskError> {
    match op {
        Op::Put { ns, key, record, condition, now } => {
            let (mut data, mut index) = tables(txn, &ns.name)?;
            if *condition != WriteCondition::Always {
                let live = read_header(&data, key)?.is_some_and(|h| !h.expired(*now));
                let wanted = *condition == WriteCondition::IfPresent;
                if live != wanted {
                    return Ok(Outcome::Written(false));
                }
            }
            put(&mut data, &mut index, ns, key, record)?;
            ns.counters.sets.fetch_add(1, Ordering::Relaxed);
            Ok(Outcome::Written(true))
        }
        Op::PutMany { ns, entries } => {
            let (mut data, mut index) = tables(txn, &ns.name)?;
            for (key, record) in entries {
                put(&mut data, &mut index, ns, key, record)?;
            }
            ns.counters.sets.fetch_add(entries.len() as u64, Ordering::Relaxed);
            Ok(Outcome::Count(entries.len() as u64))
        }
        Op::Delete { ns, keys, now } => {
            let (mut data, mut index) = tables(txn, ns)?;
            let mut live = 0;
            for key in keys {
                if let Some(header) = remove(&mut data, &mut index, key)? {
                    live += u64::from(!header.expired(*now));
                }
            }
            Ok(Outcome::Count(live))
        }
        Op::Expire { ns, keys, expires_at, now } => {
            let (mut data, mut index) = tables(txn, &ns.name)?;
            let mut changed = 0;
            for key in keys {
                changed += u64::from(expire(&mut data, &mut index, ns, key, *expires_at, *now)?);
            }
            Ok(Outcome::Count(changed))
        }
        Op::Clear { ns } => clear(txn, ns),
        Op::Sweep { ns, now, limit } => sweep(txn, ns, *now, *limit),
        Op::DropDamaged { ns, key, record } => {
            let (mut data, mut index) = tables(txn, ns)?;
            let same = data
                .get(key.as_str())
                .map_err(storage("reading"))?
                .map(|g| g.value() == &record[..]);
            if same == Some(true) {
                remove(&mut data, &mut index, key)?;
            }
            Ok(Outcome::Done)
        }
        Op::Reseal { ns, keys } => {
            let (mut data, mut index) = tables(txn, &ns.name)?;
            let mut resealed = 0;
            for key in keys {
                let Some(bytes) = read_record(&data, key)? else { continue };
                match refresh(ns, key, &bytes, None) {
                    Ok(Some(fresh)) => {
                        data.insert(key.as_str(), &fresh[..]).map_err(storage("writing"))?;
                        resealed += 1;
                    }
                    Ok(None) => {}
                    Err(err) => {
                        ns.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(namespace = %ns.name, key = %key, "dropping a value that does not open during rotation: {err}");
                        remove(&mut data, &mut index, key)?;
                    }
                }
            }
            Ok(Outcome::Count(resealed))
        }
        Op::AddKey { ns, id, salt } => {
            let mut keys = txn.open_table(NS_KEYS).map_err(storage("opening"))?;
            // A key generation is written once: overwriting its salt would make every value
            // sealed under it unreadable.
            if keys.get((ns.as_str(), *id)).map_err(storage("reading a key"))?.is_some() {
                return Err(DiskError::Storage(format!(
                    "key generation {id} of namespace {ns:?} already exists"
                )));
            }
            keys.insert((ns.as_str(), *id), &salt[..]).map_err(storage("writing a key"))?;
            Ok(Outcome::Done)
        }
        Op::DropKeys { ns, ids } => {
            let mut keys = txn.open_table(NS_KEYS).map_err(storage("opening"))?;
            for id in ids {
                keys.remove((ns.as_str(), *id)).map_err(storage("destroying a key"))?;
            }
            Ok(Outcome::Done)
        }
        Op::Flush => Ok(Outcome::Done),
    }
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
    Ok(Some(record::seal(&sealer, &ns.name, key, &value, expires_at.unwrap_or(header.expires_at))))
}

fn put(
    data: &mut DataTable<'_>,
    index: &mut IndexTable<'_>,
    ns: &DiskNamespace,
    key: &str,
    record: &[u8],
) -> Result<(), DiskError> {
    // Sealed before a rotation switched keys but queued after it: re-seal now, so no value
    // sealed with a retired key can slip in behind the rotation's scan.
    let fresh = refresh(ns, key, record, None).ok().flatten();
    let record = fresh.as_deref().unwrap_or(record);
    let header = record::peek(record).map_err(|e| DiskError::storage("sealing", e))?;
    let old = data.insert(key, record).map_err(storage("writing"))?;
    let old = old.and_then(|g| record::peek(g.value()).ok());
    if let Some(old) = old.filter(|h| h.expires_at != 0) {
        index.remove((old.expires_at, key)).map_err(storage("indexing"))?;
    }
    if header.expires_at != 0 {
        index.insert((header.expires_at, key), ()).map_err(storage("indexing"))?;
    }
    Ok(())
}

fn remove(
    data: &mut DataTable<'_>,
    index: &mut IndexTable<'_>,
    key: &str,
) -> Result<Option<RecordHeader>, DiskError> {
    let old = data.remove(key).map_err(storage("deleting"))?;
    let header = old.and_then(|g| record::peek(g.value()).ok());
    if let Some(h) = header.filter(|h| h.expires_at != 0) {
        index.remove((h.expires_at, key)).map_err(storage("indexing"))?;
    }
    Ok(header)
}

fn expire(
    data: &mut DataTable<'_>,
    index: &mut IndexTable<'_>,
    ns: &DiskNamespace,
    key: &str,
    expires_at: u64,
    now: u64,
) -> Result<bool, DiskError> {
    let Some(bytes) = read_record(data, key)? else { return Ok(false) };
    let Ok(header) = record::peek(&bytes) else { return Ok(false) };
    if header.expired(now) {
        return Ok(false);
    }
    match refresh(ns, key, &bytes, Some(expires_at)) {
        Ok(Some(fresh)) => put(data, index, ns, key, &fresh).map(|()| true),
        Ok(None) => Ok(true),
        Err(err) => {
            ns.counters.corrupt.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(namespace = %ns.name, key = %key, "dropping a value that does not open: {err}");
            remove(data, index, key).map(|_| false)
        }
    }
}

fn clear(txn: &WriteTransaction, ns: &str) -> Result<Outcome, DiskError> {
    let (entries, bytes) = {
        let (data, _) = tables(txn, ns)?;
        let entries = data.len().map_err(storage("counting"))?;
        let bytes = data.stats().map_err(storage("measuring"))?.stored_bytes();
        (entries, bytes)
    };
    for name in [data_table(ns), expiry_table(ns)] {
        txn.delete_table(data_def(&name)).map_err(storage("clearing"))?;
    }
    Ok(Outcome::Cleared { entries, bytes })
}

fn sweep(txn: &WriteTransaction, ns: &str, now: u64, limit: usize) -> Result<Outcome, DiskError> {
    let (mut data, mut index) = tables(txn, ns)?;
    let due: Vec<(u64, String)> = index
        .range((0u64, "")..(now.saturating_add(1), ""))
        .map_err(storage("scanning expiries"))?
        .take(limit)
        .map(|item| item.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
        .collect::<Result<_, _>>()
        .map_err(storage("scanning expiries"))?;
    let mut removed = 0;
    for (deadline, key) in &due {
        index.remove((*deadline, key.as_str())).map_err(storage("indexing"))?;
        if read_header(&data, key)?.is_some_and(|h| h.expires_at == *deadline) {
            data.remove(key.as_str()).map_err(storage("expiring"))?;
            removed += 1;
        }
    }
    Ok(Outcome::Swept { removed, more: due.len() == limit })
}
