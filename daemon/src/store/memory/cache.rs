//! One namespace's memory layer: a byte-bounded map with TTLs, an eviction policy and stats.
//!
//! Not thread-safe by itself: the store wraps each namespace in a mutex, so every method
//! here runs under that lock and takes the current time as an argument (which also makes
//! the expiry logic testable without sleeping).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cachemgr_proto::CacheStats;
use hashbrown::{DefaultHashBuilder, HashTable};

use super::arena::{Arena, NIL};

/// "No slot to protect" for [`MemoryCache::evict_to`].
pub const NO_SLOT: u32 = NIL;
use super::expiry::ExpiryQueue;
use super::policy::Order;
use crate::config::tier::CacheLimits;

/// Bytes charged per entry on top of its key and value: the 40-byte slot, its share of the
/// hash index and the allocator's rounding. Charging it keeps `max_bytes` close to real RSS.
pub const ENTRY_OVERHEAD: u64 = 56;

/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 65_535;

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The entry alone is larger than the namespace may hold.
    #[error("entry of {needed} bytes (key + value + {ENTRY_OVERHEAD} bytes overhead) exceeds the namespace limit of {limit} bytes")]
    TooLarge {
        /// Bytes the entry would be charged.
        needed: u64,
        /// The namespace's `max_bytes`.
        limit: u64,
    },
    /// The key is longer than [`MAX_KEY_BYTES`].
    #[error("key of {0} bytes exceeds the maximum key length of {MAX_KEY_BYTES} bytes")]
    KeyTooLong(usize),
}

/// Only-if-absent / only-if-present writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCondition {
    /// Always write.
    Always,
    /// Write only if the key is absent.
    IfAbsent,
    /// Write only if the key is present.
    IfPresent,
}

/// What to do with each key a pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternAction {
    /// Count only.
    Tally,
    /// Delete the key.
    Delete,
    /// Set its deadline (`0` = never expires).
    SetDeadline(u64),
}

/// Running totals of a pattern operation across chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatternTally {
    /// Keys matched.
    pub keys: u64,
    /// Key + value bytes of the matched keys.
    pub bytes: u64,
    /// Matched keys that have a TTL.
    pub with_ttl: u64,
}

/// A namespace's entries.
#[derive(Debug)]
pub struct MemoryCache {
    pub(super) arena: Arena,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    order: Order,
    expiry: ExpiryQueue,
    limits: CacheLimits,
    bytes_used: u64,
    ttl_entries: usize,
    pub(super) stats: CacheStats,
    global_used: Arc<AtomicU64>,
    tap: Option<super::RemovalTap>,
}

fn entry_cost(payload: usize) -> u64 {
    payload as u64 + ENTRY_OVERHEAD
}

impl MemoryCache {
    /// An empty cache charging its bytes to `global_used` as well as to itself.
    pub fn new(limits: CacheLimits, global_used: Arc<AtomicU64>) -> Self {
        Self {
            arena: Arena::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            order: Order::new(limits.eviction),
            expiry: ExpiryQueue::default(),
            limits,
            bytes_used: 0,
            ttl_entries: 0,
            stats: CacheStats::default(),
            global_used,
            tap: None,
        }
    }

    /// Where removals the cache makes on its own (expiry, eviction) are announced.
    pub fn tap_mut(&mut self) -> &mut Option<super::RemovalTap> {
        &mut self.tap
    }

    /// The settings in force.
    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// Live entries (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.arena.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.arena.len() == 0
    }

    /// Bytes charged now.
    pub fn bytes_used(&self) -> u64 {
        self.bytes_used
    }

    /// Counters, with the gauges filled in.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            entries: self.arena.len() as u64,
            bytes_used: self.bytes_used,
            bytes_limit: self.limits.max_bytes,
            ..self.stats
        }
    }

    /// Applies new settings: evicts down to a smaller budget, re-threads for a new policy.
    pub fn set_limits(&mut self, limits: CacheLimits, now: u64) {
        if limits.eviction != self.order.policy() {
            self.order.rebuild(&mut self.arena, limits.eviction);
        }
        self.limits = limits;
        self.evict_to(self.limits.max_bytes, NIL, now);
    }

    /// The value of a live key, counting a hit or a miss and informing the policy.
    pub fn get(&mut self, key: &str, now: u64) -> Option<&[u8]> {
        match self.find_live(key.as_bytes(), now) {
            Some(idx) => {
                self.stats.hits += 1;
                self.order.on_read(&mut self.arena, idx);
                Some(self.arena.slot(idx).value())
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Whether a live key exists (no hit/miss counted, no policy effect).
    pub fn contains(&mut self, key: &str, now: u64) -> bool {
        self.find_live(key.as_bytes(), now).is_some()
    }

    /// `None` when missing; `Some(None)` when it never expires; else the ms left.
    pub fn ttl(&mut self, key: &str, now: u64) -> Option<Option<u64>> {
        let idx = self.find_live(key.as_bytes(), now)?;
        let deadline = self.arena.slot(idx).expires_at;
        Some((deadline != 0).then(|| deadline.saturating_sub(now)))
    }

    /// Gives a live key a new deadline (`0` = never); false when the key is missing.
    pub fn set_deadline(&mut self, key: &str, deadline: u64, now: u64) -> bool {
        match self.find_live(key.as_bytes(), now) {
            Some(idx) => {
                self.change_deadline(idx, deadline);
                true
            }
            None => false,
        }
    }

    /// Checks that an entry could be stored; returns the bytes it would be charged.
    pub fn check_entry(&self, key: &str, value_len: usize) -> Result<u64, CacheError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(CacheError::KeyTooLong(key.len()));
        }
        let cost = entry_cost(key.len() + value_len);
        if cost > self.limits.max_bytes {
            return Err(CacheError::TooLarge { needed: cost, limit: self.limits.max_bytes });
        }
        Ok(cost)
    }

    /// Writes a value; returns `Ok(None)` when the condition failed, else the slot written
    /// (valid until the lock is released, so the caller can protect it from global eviction).
    pub fn insert(
        &mut self,
        key: &str,
        value: &[u8],
        deadline: u64,
        condition: WriteCondition,
        now: u64,
    ) -> Result<Option<u32>, CacheError> {
        let cost = self.check_entry(key, value.len())?;
        let existing = self.find_live(key.as_bytes(), now);
        match (condition, existing) {
            (WriteCondition::IfAbsent, Some(_)) | (WriteCondition::IfPresent, None) => {
                return Ok(None)
            }
            _ => {}
        }
        self.stats.sets += 1;
        let idx = match existing {
            Some(idx) => {
                let old = self.arena.slot(idx).payload_len();
                self.arena.slot_mut(idx).set_value(value);
                self.uncharge(entry_cost(old));
                self.charge(cost);
                self.order.on_write(&mut self.arena, idx);
                self.change_deadline(idx, deadline);
                idx
            }
            None => {
                let idx = self.arena.alloc(key.as_bytes(), value, 0);
                let Self { index, arena, hasher, .. } = self;
                let hash = hasher.hash_one(key.as_bytes());
                index.insert_unique(hash, idx, |&i| hasher.hash_one(arena.slot(i).key()));
                self.order.insert(&mut self.arena, idx);
                self.charge(cost);
                self.change_deadline(idx, deadline);
                idx
            }
        };
        self.evict_to(self.limits.max_bytes, idx, now);
        Ok(Some(idx))
    }

    /// Deletes a key; true if it existed (and was live).
    pub fn remove(&mut self, key: &str, now: u64) -> bool {
        match self.find_live(key.as_bytes(), now) {
            Some(idx) => {
                self.drop_slot(idx);
                self.stats.deletes += 1;
                true
            }
            None => false,
        }
    }

    /// Evicts entries (never `protect`) until at most `target` bytes are charged; returns
    /// the bytes freed.
    pub fn evict_to(&mut self, target: u64, protect: u32, now: u64) -> u64 {
        let mut freed = 0;
        while self.bytes_used > target {
            let mut victim = self.order.victim(&self.arena);
            if victim == protect && victim != NIL {
                victim = self.arena.next_of(victim);
            }
            if victim == NIL {
                break;
            }
            freed += self.evict_slot(victim, now);
        }
        freed
    }

    /// Removes up to `budget` entries whose deadline passed; true if more are due.
    pub fn expire_due(&mut self, now: u64, budget: usize) -> bool {
        for _ in 0..budget {
            let Some((deadline, idx)) = self.expiry.pop_due(now) else {
                return false;
            };
            let slot = self.arena.slot(idx);
            if !slot.is_vacant() && slot.expires_at == deadline {
                self.report_removal(idx, false);
                self.drop_slot(idx);
                self.stats.expired += 1;
            }
        }
        self.expiry.peek_deadline().is_some_and(|d| d <= now)
    }

    /// The earliest deadline the sweeper should wake for.
    pub fn next_deadline(&self) -> Option<u64> {
        self.expiry.peek_deadline()
    }

    /// Drops every entry; returns (entries, bytes) freed. Counters are kept.
    pub fn clear(&mut self) -> (u64, u64) {
        let freed = (self.arena.len() as u64, self.bytes_used);
        self.uncharge(self.bytes_used);
        self.arena.clear();
        self.index = HashTable::new();
        self.order.clear();
        self.expiry.clear();
        self.ttl_entries = 0;
        freed
    }

    fn find_live(&mut self, key: &[u8], now: u64) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        let arena = &self.arena;
        let idx = *self.index.find(hash, |&i| arena.slot(i).key() == key)?;
        if self.arena.slot(idx).is_expired(now) {
            self.report_removal(idx, false);
            self.drop_slot(idx);
            self.stats.expired += 1;
            return None;
        }
        Some(idx)
    }

    pub(super) fn change_deadline(&mut self, idx: u32, deadline: u64) {
        let slot = self.arena.slot_mut(idx);
        let had_ttl = slot.expires_at != 0;
        slot.expires_at = deadline;
        match (had_ttl, deadline != 0) {
            (false, true) => self.ttl_entries += 1,
            (true, false) => self.ttl_entries -= 1,
            _ => {}
        }
        if deadline != 0 {
            self.expiry.push(deadline, idx);
            // Rewrites leave stale items behind; bound them here, not only when the sweeper
            // wakes (it may sleep for hours while hot keys are rewritten thousands of times).
            if self.expiry.needs_compaction(self.ttl_entries) {
                let arena = &self.arena;
                self.expiry.compact(|deadline, idx| {
                    let slot = arena.slot(idx);
                    !slot.is_vacant() && slot.expires_at == deadline
                });
            }
        }
    }

    /// Slot of a live key, for callers that must protect it from eviction.
    pub fn slot_of(&mut self, key: &str, now: u64) -> Option<u32> {
        self.find_live(key.as_bytes(), now)
    }

    /// Entries queued in the expiry heap (live or stale), to check it stays bounded.
    pub fn expiry_queue_len(&self) -> usize {
        self.expiry.len()
    }

    fn evict_slot(&mut self, idx: u32, now: u64) -> u64 {
        let expired = self.arena.slot(idx).is_expired(now);
        self.report_removal(idx, !expired);
        let slot = self.arena.slot(idx);
        if expired {
            self.stats.expired += 1;
        } else {
            self.stats.evictions += 1;
            if slot.expires_at != 0 {
                self.stats.evicted_before_expiry += 1;
            }
        }
        self.drop_slot(idx)
    }

    fn report_removal(&self, idx: u32, evicted: bool) {
        if let Some(tap) = &self.tap {
            tap.removed(self.arena.slot(idx).key(), evicted);
        }
    }

    /// Unindexes, unlinks and frees a slot; returns the bytes uncharged.
    pub(super) fn drop_slot(&mut self, idx: u32) -> u64 {
        let Self { index, arena, hasher, .. } = self;
        let hash = hasher.hash_one(arena.slot(idx).key());
        if let Ok(entry) = index.find_entry(hash, |&i| i == idx) {
            entry.remove();
        }
        if self.arena.slot(idx).expires_at != 0 {
            self.ttl_entries -= 1;
        }
        self.order.remove(&mut self.arena, idx);
        let cost = entry_cost(self.arena.release(idx));
        self.uncharge(cost);
        cost
    }

    fn charge(&mut self, bytes: u64) {
        self.bytes_used += bytes;
        self.global_used.fetch_add(bytes, Ordering::Relaxed);
    }

    fn uncharge(&mut self, bytes: u64) {
        self.bytes_used -= bytes;
        self.global_used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

impl Drop for MemoryCache {
    fn drop(&mut self) {
        self.global_used.fetch_sub(self.bytes_used, Ordering::Relaxed);
    }
}
