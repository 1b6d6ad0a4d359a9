//! The write half of the layered store: sealing, write-through under the memory lock, and
//! the disk-decided conditional writes (see `layered.rs` for the ordering rules).

use std::sync::atomic::Ordering;
use std::sync::PoisonError;

use cachemgr_proto::Entry;

use super::disk::record::{self, Sealer};
use super::disk::{unix_now_ms, DiskError, DiskLayer, Op, Outcome};
use super::memory::{CacheError, MemoryCache, WriteCondition, MAX_KEY_BYTES};
use super::tier::{Durability, Tier};
use super::{Namespace, Store, StoreError};

impl Store {
    /// Writes a batch (all or nothing); returns the number written.
    pub(super) async fn set_many_local(
        &self,
        ns: &str,
        entries: &[Entry],
    ) -> Result<u64, StoreError> {
        let namespace = self.namespace_for_write(ns)?;
        if namespace.tier() == Tier::Memory {
            return self.set_many_in_memory(&namespace, entries);
        }
        for entry in entries {
            check_key(&entry.key)?;
        }
        let (disk, state) = self.disk_of(&namespace).await?;
        let limits = namespace.lock().limits();
        let now_unix = unix_now_ms();
        let sealed: Vec<(String, Vec<u8>)> = {
            let keys = state.keys.read().unwrap_or_else(PoisonError::into_inner);
            let sealer = sealer_for(&disk, &keys)?;
            entries
                .iter()
                .map(|e| {
                    let expires = expiry(now_unix, e.ttl_ms.or(limits.default_ttl_ms));
                    (e.key.clone(), record::seal_named(&sealer, ns, &e.key, &e.value, expires))
                })
                .collect()
        };
        for (_, record) in &sealed {
            check_disk_fit(record, state.max_bytes())?;
        }
        let earliest = entries
            .iter()
            .map(|e| expiry(now_unix, e.ttl_ms.or(limits.default_ttl_ms)))
            .filter(|at| *at != 0)
            .min();
        let op = Op::PutMany { ns: state.clone(), entries: sealed };
        let durable = namespace.durability() == Durability::Fsync;
        disk.submit(op, durable).await?;
        if let Some(at) = earliest {
            disk.note_deadline(at);
        }
        if namespace.tier() == Tier::MemoryDisk {
            // Fill memory after the disk commit; a batch that does not fit memory stays on disk.
            let _ = self.set_many_in_memory(&namespace, entries);
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
        }
        Ok(entries.len() as u64)
    }

    pub(super) async fn set_layered(
        &self,
        namespace: &Namespace,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: WriteCondition,
    ) -> Result<bool, StoreError> {
        check_key(key)?;
        let (disk, state) = self.disk_of(namespace).await?;
        let limits = namespace.lock().limits();
        let ttl = ttl_ms.or(limits.default_ttl_ms).filter(|ms| *ms > 0);
        let now_unix = unix_now_ms();
        let expires_at = expiry(now_unix, ttl);
        let sealed = {
            let keys = state.keys.read().unwrap_or_else(PoisonError::into_inner);
            record::seal_named(&sealer_for(&disk, &keys)?, namespace.name(), key, value, expires_at)
        };
        check_disk_fit(&sealed, state.max_bytes())?;
        let op =
            Op::Put { ns: state, key: key.to_owned(), record: sealed, condition, now: now_unix };
        let both = namespace.tier() == Tier::MemoryDisk;
        let written = if both && condition == WriteCondition::Always {
            let now = self.clock().now_ms();
            let deadline = self.clock().deadline_after(ttl.unwrap_or(0));
            let outcome = self.write_through(namespace, op, |cache| {
                // A value too big for the memory layer lives on disk only.
                if cache.insert(key, value, deadline, WriteCondition::Always, now).is_err() {
                    cache.remove(key, now);
                }
            })?;
            self.note_deadline(deadline);
            if self.global_used() > self.global_cap() {
                self.enforce_global_cap(Some((namespace.name(), key)));
            }
            match outcome.await {
                Ok(outcome) => outcome == Outcome::Written(true),
                Err(err) => {
                    self.forget_in_memory(namespace, key);
                    return Err(err);
                }
            }
        } else {
            let durable = namespace.durability() == Durability::Fsync;
            let written = disk.submit(op, durable).await? == Outcome::Written(true);
            if both {
                // The disk decided the condition; memory re-reads it on the next get.
                self.forget_in_memory(namespace, key);
            }
            written
        };
        disk.note_deadline(expires_at);
        Ok(written)
    }

    /// Runs `in_memory` on the memory layer and queues `op` for disk under one lock hold, so
    /// the two layers apply concurrent writes in the same order. Await the result to know
    /// the disk committed.
    pub(super) fn write_through(
        &self,
        namespace: &Namespace,
        op: Op,
        in_memory: impl FnOnce(&mut MemoryCache),
    ) -> Result<impl std::future::Future<Output = Result<Outcome, StoreError>>, StoreError> {
        let disk = self.disk().ok_or_else(|| StoreError::NoDisk(namespace.name().into()))?;
        let durable = namespace.durability() == Durability::Fsync;
        let answer = {
            let mut cache = namespace.lock();
            if namespace.tier() == Tier::MemoryDisk {
                in_memory(&mut cache);
            }
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
            disk.enqueue(op, durable)?
        };
        Ok(async move {
            match answer.await {
                Ok(result) => result.map_err(StoreError::from),
                Err(_) => Err(StoreError::Disk(super::disk::DiskError::Closed)),
            }
        })
    }

    pub(super) fn forget_in_memory(&self, namespace: &Namespace, key: &str) {
        let now = self.clock().now_ms();
        let mut cache = namespace.lock();
        cache.remove(key, now);
        namespace.epoch.fetch_add(1, Ordering::Relaxed);
    }
}

/// The current key of a namespace; never falls back to plain unless the whole layer was
/// opened unsealed (the benchmark baseline).
pub(super) fn sealer_for<'a>(
    disk: &DiskLayer,
    keys: &'a super::disk::KeySet,
) -> Result<Sealer<'a>, StoreError> {
    if disk.is_plain() {
        return Ok(Sealer::Plain);
    }
    match keys.current() {
        Some((key_id, cipher)) => Ok(Sealer::Aes { cipher, key_id }),
        None => Err(StoreError::Disk(super::disk::DiskError::Storage(
            "the namespace has no key to seal with".into(),
        ))),
    }
}

pub(super) fn expiry(now_unix: u64, ttl_ms: Option<u64>) -> u64 {
    ttl_ms.filter(|ms| *ms > 0).map_or(0, |ms| now_unix.saturating_add(ms))
}

pub(super) fn count(outcome: Outcome) -> u64 {
    match outcome {
        Outcome::Count(n) => n,
        Outcome::Written(w) => u64::from(w),
        _ => 0,
    }
}

/// Refuses a value that could never fit the namespace's byte limit on disk (evicting
/// everything else would not make room for it).
fn check_disk_fit(record: &[u8], max_bytes: u64) -> Result<(), StoreError> {
    let needed = super::disk::charge(record);
    if needed > max_bytes {
        return Err(StoreError::Disk(DiskError::TooLarge { needed, limit: max_bytes }));
    }
    Ok(())
}

pub(super) fn check_key(key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::Cache(CacheError::KeyTooLong(key.len())));
    }
    Ok(())
}
