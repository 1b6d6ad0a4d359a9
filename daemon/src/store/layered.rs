//! Every cache operation, routed through the namespace's tier.
//!
//! Reads go top-down and fill memory on a disk hit; writes reach every layer before the reply.
//! For memory+disk, an unconditional write updates memory and queues the disk op under the
//! memory lock, so memory and disk see concurrent writes of one key in the same order; if the
//! disk then fails, the memory copy is dropped and the caller gets the error. A read-through
//! fill only lands if no change happened since the read began (the namespace's epoch).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use cachemgr_proto::EventKind;

use super::budget::Budget;
use super::disk::{unix_now_ms, DiskLayer, DiskNamespace, Op, Outcome};
use super::layered_write::count;
use super::memory::{PatternAction, PatternTally, WriteCondition};
use super::pattern::KeyMatcher;
use super::tier::Tier;
use super::{Namespace, Store, StoreError};

/// Slots reserved up front for a many-key answer (more grow as values are charged).
const MAX_PREALLOCATED: usize = 1024;

/// Keys per disk chunk in pattern operations.
const DISK_CHUNK: usize = 1024;

impl Store {
    /// Reads a value (a copy: no lock is held while it is sent).
    pub fn get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock().now_ms();
        let namespace = {
            let map = self.map();
            let Some(namespace) = map.get(ns) else { return Ok(None) };
            let tier = namespace.tier();
            if tier != Tier::Disk {
                if let Some(value) = namespace.lock().get(key, now) {
                    return Ok(Some(value.to_vec()));
                }
                if tier == Tier::Memory {
                    return Ok(None);
                }
            }
            namespace.clone()
        };
        self.read_through(&namespace, key)
    }

    /// Reads many keys, charging each value to `budget` as it is copied.
    pub fn get_many(
        &self,
        ns: &str,
        keys: &[String],
        budget: &mut Budget,
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut values = Vec::with_capacity(keys.len().min(MAX_PREALLOCATED));
        if let Some(namespace) = self.lookup(ns).filter(|n| n.tier() == Tier::Memory) {
            // Memory only: one lock hold for the whole batch.
            let now = self.clock().now_ms();
            let mut cache = namespace.lock();
            for key in keys {
                let value = cache.get(key, now);
                budget.charge(value, values.len())?;
                values.push(value.map(<[u8]>::to_vec));
            }
            return Ok(values);
        }
        for key in keys {
            let value = self.get(ns, key)?;
            budget.charge(value.as_deref(), values.len())?;
            values.push(value);
        }
        Ok(values)
    }

    /// Writes a value; `ttl_ms` absent = the namespace default, 0 = never expires.
    /// Returns whether it was written (false when `condition` failed).
    pub(super) async fn set_local(
        &self,
        ns: &str,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: WriteCondition,
    ) -> Result<bool, StoreError> {
        let fast = self.with_namespace_for_write(ns, |namespace| {
            (namespace.tier() == Tier::Memory)
                .then(|| self.set_in_memory(namespace, key, value, ttl_ms, condition))
        })?;
        if let Some(result) = fast {
            return result;
        }
        let namespace = self.namespace_for_write(ns)?;
        self.set_layered(&namespace, key, value, ttl_ms, condition).await
    }

    /// Deletes keys; returns how many existed.
    pub(super) async fn delete_local(&self, ns: &str, keys: &[String]) -> Result<u64, StoreError> {
        let Some(namespace) = self.lookup(ns) else { return Ok(0) };
        let now = self.clock().now_ms();
        if namespace.tier() == Tier::Memory {
            let announce = namespace.announces_in_memory();
            let mut cache = namespace.lock();
            let mut deleted = 0;
            for key in keys {
                if cache.remove(key, now) {
                    deleted += 1;
                    if announce {
                        self.events().key_event(EventKind::Delete, ns, key, None);
                    }
                }
            }
            return Ok(deleted);
        }
        let op = Op::Delete { ns: ns.to_owned(), keys: keys.to_vec(), now: unix_now_ms() };
        let outcome = self.write_through(&namespace, op, |cache| {
            for key in keys {
                cache.remove(key, now);
            }
        })?;
        let deleted = count(outcome.await?);
        if let Some(state) = namespace.disk_state.get() {
            state.counters.deletes.fetch_add(deleted, Ordering::Relaxed);
        }
        Ok(deleted)
    }

    /// Whether a live key exists.
    pub fn exists(&self, ns: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.ttl(ns, key)?.is_some())
    }

    /// `None` = missing, `Some(None)` = never expires, `Some(Some(ms))` = time left.
    pub fn ttl(&self, ns: &str, key: &str) -> Result<Option<Option<u64>>, StoreError> {
        let Some(namespace) = self.lookup(ns) else { return Ok(None) };
        let now = self.clock().now_ms();
        if namespace.tier() != Tier::Disk {
            if let Some(ttl) = namespace.lock().ttl(key, now) {
                return Ok(Some(ttl));
            }
            if namespace.tier() == Tier::Memory {
                return Ok(None);
            }
        }
        let Some(disk) = self.disk() else { return Ok(None) };
        let now_unix = unix_now_ms();
        Ok(disk.header(ns, key, now_unix)?.map(|header| {
            (header.expires_at != 0).then(|| header.expires_at.saturating_sub(now_unix))
        }))
    }

    /// Gives a key a new TTL (`None` = never expires); false when it is missing.
    pub(super) async fn expire_local(
        &self,
        ns: &str,
        key: &str,
        ttl_ms: Option<u64>,
    ) -> Result<bool, StoreError> {
        let Some(namespace) = self.lookup(ns) else { return Ok(false) };
        let now = self.clock().now_ms();
        let deadline = self.clock().deadline_after(ttl_ms.unwrap_or(0));
        self.note_deadline(deadline);
        if namespace.tier() == Tier::Memory {
            return Ok(namespace.lock().set_deadline(key, deadline, now));
        }
        let (_, state) = self.disk_of(&namespace).await?;
        let expires_at = self.clock().unix_of(deadline);
        let op =
            Op::Expire { ns: state, keys: vec![key.to_owned()], expires_at, now: unix_now_ms() };
        let outcome = self.write_through(&namespace, op, |cache| {
            cache.set_deadline(key, deadline, now);
        })?;
        if let Some(disk) = self.disk() {
            disk.note_deadline(expires_at);
        }
        Ok(count(outcome.await?) > 0)
    }

    /// One page of matching keys (see `RequestBody::Keys` for the cursor contract).
    pub fn keys_page(
        &self,
        ns: &str,
        matcher: &KeyMatcher,
        cursor: u64,
        count: usize,
    ) -> Result<(Vec<String>, Option<u64>), StoreError> {
        let Some(namespace) = self.lookup(ns) else { return Ok((Vec::new(), None)) };
        if namespace.tier() == Tier::Memory {
            let now = self.clock().now_ms();
            let budget = count.saturating_mul(16).max(super::namespaces::PATTERN_CHUNK);
            let mut keys = Vec::new();
            let next = namespace.lock().scan_keys(cursor, count, budget, matcher, now, &mut keys);
            return Ok((keys, next));
        }
        let Some(disk) = self.disk() else { return Ok((Vec::new(), None)) };
        let page = disk.keys_page(ns, matcher, cursor, count, unix_now_ms())?;
        Ok((page.keys, page.next_cursor))
    }

    /// Applies `action` to every matching key of every layer, in chunks.
    pub(super) async fn apply_pattern_local(
        &self,
        ns: &str,
        matcher: &KeyMatcher,
        action: PatternAction,
    ) -> Result<PatternTally, StoreError> {
        let Some(namespace) = self.lookup(ns) else { return Ok(PatternTally::default()) };
        let tier = namespace.tier();
        let mut tally = PatternTally::default();
        if tier != Tier::Disk && (tier == Tier::Memory || action != PatternAction::Tally) {
            tally = self.apply_pattern_in_memory(&namespace, matcher, action).await;
        }
        if tier == Tier::Memory {
            return Ok(tally);
        }
        let (disk, state) = self.disk_of(&namespace).await?;
        let durable = namespace.durability() == crate::store::tier::Durability::Fsync;
        let mut disk_tally = PatternTally::default();
        let mut after: Option<String> = None;
        loop {
            let now = unix_now_ms();
            let (chunk, last) = disk.scan_chunk(ns, after.as_deref(), DISK_CHUNK, now)?;
            let hits: Vec<_> =
                chunk.into_iter().filter(|s| matcher.is_match(s.key.as_bytes())).collect();
            for scanned in &hits {
                disk_tally.keys += 1;
                disk_tally.bytes += (scanned.key.len() + scanned.stored) as u64;
                disk_tally.with_ttl += u64::from(scanned.header.expires_at != 0);
            }
            let keys: Vec<String> = hits.into_iter().map(|s| s.key).collect();
            match action {
                PatternAction::Tally => {}
                _ if keys.is_empty() => {}
                PatternAction::Delete => {
                    let op = Op::Delete { ns: ns.to_owned(), keys, now };
                    let deleted = count(disk.submit(op, durable).await?);
                    state.counters.deletes.fetch_add(deleted, Ordering::Relaxed);
                }
                PatternAction::SetDeadline(deadline) => {
                    let expires_at = self.clock().unix_of(deadline);
                    let op = Op::Expire { ns: state.clone(), keys, expires_at, now };
                    disk.submit(op, durable).await?;
                    disk.note_deadline(expires_at);
                }
            }
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
            match last {
                Some(last) => after = Some(last),
                None => return Ok(disk_tally),
            }
            tokio::task::yield_now().await;
        }
    }

    /// Drops a namespace's entries in every layer; returns (entries, bytes).
    pub(super) async fn clear_local(&self, ns: &str) -> Result<(u64, u64), StoreError> {
        let Some(namespace) = self.lookup(ns) else { return Ok((0, 0)) };
        if namespace.tier() == Tier::Memory {
            return Ok(namespace.lock().clear());
        }
        let mut memory = (0, 0);
        let outcome = self.write_through(&namespace, Op::Clear { ns: ns.to_owned() }, |cache| {
            memory = cache.clear();
        })?;
        match outcome.await? {
            Outcome::Cleared { entries, bytes } if namespace.tier() == Tier::Disk => {
                Ok((entries, bytes))
            }
            Outcome::Cleared { entries, .. } => Ok((entries.max(memory.0), memory.1)),
            _ => Ok(memory),
        }
    }

    /// Drops only the memory copy of a namespace (its disk values were dropped by the disk
    /// layer itself, e.g. by `key rotate --clear`).
    pub fn clear_memory(&self, ns: &str) {
        if let Some(namespace) = self.lookup(ns) {
            namespace.lock().clear();
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops every namespace's entries; returns (entries, bytes).
    pub async fn clear_all(&self) -> Result<(u64, u64), StoreError> {
        let mut total = (0, 0);
        for namespace in self.all() {
            let (entries, bytes) = self.clear(namespace.name()).await?;
            total = (total.0 + entries, total.1 + bytes);
        }
        Ok(total)
    }

    /// The disk layer and the namespace's disk state (created with its first key if new).
    pub(super) async fn disk_of(
        &self,
        namespace: &Namespace,
    ) -> Result<(Arc<DiskLayer>, Arc<DiskNamespace>), StoreError> {
        let disk =
            self.disk().cloned().ok_or_else(|| StoreError::NoDisk(namespace.name().into()))?;
        if let Some(state) = namespace.disk_state.get() {
            return Ok((disk, state.clone()));
        }
        let state = disk.namespace(namespace.name()).await?;
        let eviction = namespace.lock().limits().eviction;
        let _ = state.set_limits(self.current_config().disk_limit_for(namespace.name()), eviction);
        Ok((disk, namespace.disk_state.get_or_init(|| state).clone()))
    }

    /// A memory miss of a disk-backed namespace: read disk, fill memory if nothing changed.
    fn read_through(
        &self,
        namespace: &Namespace,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(disk) = self.disk() else { return Ok(None) };
        let epoch = namespace.epoch.load(Ordering::Acquire);
        let Some(entry) = disk.get(namespace.name(), key, unix_now_ms())? else {
            return Ok(None);
        };
        if namespace.tier() == Tier::MemoryDisk {
            let deadline = self.clock().deadline_of_unix(entry.expires_at);
            let now = self.clock().now_ms();
            let filled = {
                let mut cache = namespace.lock();
                namespace.epoch.load(Ordering::Acquire) == epoch
                    && cache
                        .insert(key, &entry.value, deadline, WriteCondition::IfAbsent, now)
                        .is_ok_and(|w| w.is_some())
            };
            if filled {
                self.note_deadline(deadline);
                if self.global_used() > self.global_cap() {
                    self.enforce_global_cap(Some((namespace.name(), key)));
                }
            }
        }
        Ok(Some(entry.value))
    }
}
