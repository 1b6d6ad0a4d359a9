//! The store: namespaces by name, the global memory budget, and every cache operation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use cachemgr_proto::Entry;
use tokio::sync::Notify;

use super::clock::Clock;
use super::memory::{
    CacheError, CacheLimits, MemoryCache, PatternAction, PatternTally, WriteCondition,
};
use super::names::validate_namespace;
use super::pattern::KeyMatcher;
use crate::config::Config;

/// Slots visited per lock hold by pattern operations, so a huge namespace never stalls others.
pub const PATTERN_CHUNK: usize = 4096;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The namespace does not exist and may not be created here.
    #[error("namespace {0:?} does not exist (auto_create_namespaces is off)")]
    UnknownNamespace(String),
    /// The namespace name breaks the naming rules.
    #[error("invalid namespace name {name:?}: {reason}")]
    InvalidNamespace {
        /// The name.
        name: String,
        /// The rule broken.
        reason: &'static str,
    },
    /// The memory layer refused the write.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// One namespace: its name, whether the config names it, and its memory layer.
#[derive(Debug)]
pub struct Namespace {
    pub(super) name: String,
    pub(super) configured: AtomicBool,
    cache: Mutex<MemoryCache>,
}

impl Namespace {
    /// Locks the memory layer; a panic elsewhere never makes the cache unusable.
    pub fn lock(&self) -> MutexGuard<'_, MemoryCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Owner of all cache state.
#[derive(Debug)]
pub struct Store {
    namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    config: RwLock<Arc<Config>>,
    global_used: Arc<AtomicU64>,
    /// `memory.max_bytes`, kept apart from the config so the write path reads one atomic.
    global_cap: AtomicU64,
    clock: Clock,
    pub(super) wakeup: Notify,
    pub(super) next_wakeup: AtomicU64,
}

impl Store {
    /// A store holding the namespaces the config names (empty).
    pub fn new(config: Arc<Config>) -> Arc<Store> {
        let store = Arc::new(Store {
            namespaces: RwLock::new(HashMap::new()),
            config: RwLock::new(config.clone()),
            global_used: Arc::new(AtomicU64::new(0)),
            global_cap: AtomicU64::new(config.memory.max_bytes.as_u64()),
            clock: Clock::new(),
            wakeup: Notify::new(),
            next_wakeup: AtomicU64::new(u64::MAX),
        });
        store.apply_config(config);
        store
    }

    /// The cache clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Bytes charged across all namespaces.
    pub fn global_used(&self) -> u64 {
        self.global_used.load(Ordering::Relaxed)
    }

    /// Makes the store follow a new config: creates and re-limits configured namespaces,
    /// returns namespaces no longer configured to the defaults, enforces the global cap.
    pub fn apply_config(&self, config: Arc<Config>) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config.clone();
        self.global_cap.store(config.memory.max_bytes.as_u64(), Ordering::Relaxed);
        let now = self.clock.now_ms();
        for name in config.namespaces.keys() {
            self.ensure_namespace(name, &config).configured.store(true, Ordering::Relaxed);
        }
        for ns in self.all() {
            let configured = config.namespaces.contains_key(&ns.name);
            ns.configured.store(configured, Ordering::Relaxed);
            ns.lock().set_limits(config.limits_for(&ns.name), now);
        }
        self.enforce_global_cap(None);
    }

    /// Reads a value (a copy: the lock is not held while it is sent).
    pub fn get(&self, ns: &str, key: &str) -> Option<Vec<u8>> {
        let now = self.clock.now_ms();
        self.with_existing(ns, |cache| cache.get(key, now).map(<[u8]>::to_vec)).flatten()
    }

    /// Writes a value; `ttl_ms` absent = the namespace default, 0 = never expires.
    /// Returns whether it was written (false when `condition` failed).
    pub fn set(
        &self,
        ns: &str,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: WriteCondition,
    ) -> Result<bool, StoreError> {
        let cap = self.global_cap();
        self.check_global_fit(key.len() + value.len(), cap)?;
        let now = self.clock.now_ms();
        let (stored, deadline) = self.with_namespace_for_write(ns, |namespace| {
            let mut cache = namespace.lock();
            let deadline = self.deadline(ttl_ms, cache.limits());
            let written = cache.insert(key, value, deadline, condition, now)?;
            Ok::<_, StoreError>((written.is_some(), deadline))
        })??;
        self.note_deadline(deadline);
        if self.global_used() > cap {
            self.enforce_global_cap(Some((ns, key)));
        }
        Ok(stored)
    }

    /// Writes a batch under one lock hold. Every entry is checked first, so a refused entry
    /// means nothing of the batch was written. Returns the number written.
    pub fn set_many(&self, ns: &str, entries: &[Entry]) -> Result<u64, StoreError> {
        let namespace = self.namespace_for_write(ns)?;
        let cap = self.global_cap();
        for entry in entries {
            self.check_global_fit(entry.key.len() + entry.value.len(), cap)?;
        }
        let now = self.clock.now_ms();
        let mut earliest = u64::MAX;
        {
            let mut cache = namespace.lock();
            for entry in entries {
                cache.check_entry(&entry.key, entry.value.len())?;
            }
            let limits = cache.limits();
            for entry in entries {
                let deadline = self.deadline(entry.ttl_ms, limits);
                cache.insert(&entry.key, &entry.value, deadline, WriteCondition::Always, now)?;
                if deadline != 0 {
                    earliest = earliest.min(deadline);
                }
            }
        }
        self.note_deadline(if earliest == u64::MAX { 0 } else { earliest });
        if self.global_used() > cap {
            self.enforce_global_cap(None);
        }
        Ok(entries.len() as u64)
    }

    /// Deletes keys; returns how many existed.
    pub fn delete(&self, ns: &str, keys: &[String]) -> u64 {
        let now = self.clock.now_ms();
        self.with_existing(ns, |cache| keys.iter().filter(|key| cache.remove(key, now)).count())
            .unwrap_or(0) as u64
    }

    /// Whether a live key exists.
    pub fn exists(&self, ns: &str, key: &str) -> bool {
        let now = self.clock.now_ms();
        self.with_existing(ns, |cache| cache.contains(key, now)).unwrap_or(false)
    }

    /// `None` = missing, `Some(None)` = never expires, `Some(Some(ms))` = time left.
    pub fn ttl(&self, ns: &str, key: &str) -> Option<Option<u64>> {
        let now = self.clock.now_ms();
        self.with_existing(ns, |cache| cache.ttl(key, now)).flatten()
    }

    /// Gives a key a new TTL (`None` = never expires); false when it is missing.
    pub fn expire(&self, ns: &str, key: &str, ttl_ms: Option<u64>) -> bool {
        let now = self.clock.now_ms();
        let deadline = self.clock.deadline_after(ttl_ms.unwrap_or(0));
        let found = self.with_existing(ns, |cache| cache.set_deadline(key, deadline, now));
        self.note_deadline(deadline);
        found.unwrap_or(false)
    }

    /// Reads many keys under one lock hold.
    pub fn get_many(&self, ns: &str, keys: &[String]) -> Vec<Option<Vec<u8>>> {
        let now = self.clock.now_ms();
        self.with_existing(ns, |cache| {
            keys.iter().map(|key| cache.get(key, now).map(<[u8]>::to_vec)).collect()
        })
        .unwrap_or_else(|| vec![None; keys.len()])
    }

    /// One page of matching keys (see `RequestBody::Keys` for the cursor contract).
    pub fn keys_page(
        &self,
        ns: &str,
        matcher: &KeyMatcher,
        cursor: u64,
        count: usize,
    ) -> (Vec<String>, Option<u64>) {
        let now = self.clock.now_ms();
        let budget = count.saturating_mul(16).max(PATTERN_CHUNK);
        let mut keys = Vec::new();
        let next = self
            .with_existing(ns, |cache| {
                cache.scan_keys(cursor, count, budget, matcher, now, &mut keys)
            })
            .flatten();
        (keys, next)
    }

    /// Applies `action` to every matching key, one chunk per lock hold, yielding between
    /// chunks so other requests keep flowing.
    pub async fn apply_pattern(
        &self,
        ns: &str,
        matcher: &KeyMatcher,
        action: PatternAction,
    ) -> PatternTally {
        let mut tally = PatternTally::default();
        let Some(namespace) = self.lookup(ns) else {
            return tally;
        };
        let mut cursor = Some(0);
        while let Some(at) = cursor {
            let now = self.clock.now_ms();
            cursor =
                namespace.lock().apply_pattern(at, PATTERN_CHUNK, matcher, action, now, &mut tally);
            tokio::task::yield_now().await;
        }
        if let PatternAction::SetDeadline(deadline) = action {
            self.note_deadline(deadline);
        }
        tally
    }

    /// Drops a namespace's entries; returns (entries, bytes).
    pub fn clear(&self, ns: &str) -> (u64, u64) {
        self.with_existing(ns, MemoryCache::clear).unwrap_or((0, 0))
    }

    /// Drops every namespace's entries; returns (entries, bytes).
    pub fn clear_all(&self) -> (u64, u64) {
        self.all().iter().map(|ns| ns.lock().clear()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// Every namespace (a snapshot; the map lock is not held afterwards).
    pub fn all(&self) -> Vec<Arc<Namespace>> {
        self.namespaces.read().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    fn lookup(&self, ns: &str) -> Option<Arc<Namespace>> {
        self.namespaces.read().unwrap_or_else(PoisonError::into_inner).get(ns).cloned()
    }

    fn with_existing<R>(&self, ns: &str, op: impl FnOnce(&mut MemoryCache) -> R) -> Option<R> {
        let map = self.namespaces.read().unwrap_or_else(PoisonError::into_inner);
        let namespace = map.get(ns)?;
        let mut cache = namespace.lock();
        Some(op(&mut cache))
    }

    /// Runs `op` on the namespace, creating it first if needed; the common case (it exists)
    /// takes only the map's read lock, with no reference-count traffic.
    fn with_namespace_for_write<R>(
        &self,
        ns: &str,
        op: impl FnOnce(&Namespace) -> R,
    ) -> Result<R, StoreError> {
        {
            let map = self.namespaces.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(namespace) = map.get(ns) {
                return Ok(op(namespace));
            }
        }
        let namespace = self.namespace_for_write(ns)?;
        Ok(op(&namespace))
    }

    fn namespace_for_write(&self, ns: &str) -> Result<Arc<Namespace>, StoreError> {
        if let Some(namespace) = self.lookup(ns) {
            return Ok(namespace);
        }
        validate_namespace(ns)
            .map_err(|reason| StoreError::InvalidNamespace { name: ns.to_owned(), reason })?;
        let config = self.current_config();
        if !config.auto_create_namespaces {
            return Err(StoreError::UnknownNamespace(ns.to_owned()));
        }
        Ok(self.ensure_namespace(ns, &config))
    }

    fn ensure_namespace(&self, ns: &str, config: &Config) -> Arc<Namespace> {
        let mut map = self.namespaces.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(ns.to_owned())
            .or_insert_with(|| {
                tracing::debug!(namespace = ns, "namespace created");
                Arc::new(Namespace {
                    name: ns.to_owned(),
                    configured: AtomicBool::new(config.namespaces.contains_key(ns)),
                    cache: Mutex::new(MemoryCache::new(
                        config.limits_for(ns),
                        self.global_used.clone(),
                    )),
                })
            })
            .clone()
    }

    fn current_config(&self) -> Arc<Config> {
        self.config.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(super) fn global_cap(&self) -> u64 {
        self.global_cap.load(Ordering::Relaxed)
    }

    fn deadline(&self, ttl_ms: Option<u64>, limits: CacheLimits) -> u64 {
        match ttl_ms.or(limits.default_ttl_ms) {
            Some(ms) => self.clock.deadline_after(ms),
            None => 0,
        }
    }

    /// Wakes the sweeper if `deadline` is earlier than the one it sleeps toward.
    fn note_deadline(&self, deadline: u64) {
        if deadline != 0 && deadline < self.next_wakeup.fetch_min(deadline, Ordering::AcqRel) {
            self.wakeup.notify_one();
        }
    }

    /// Refuses an entry that could never fit under the global cap.
    fn check_global_fit(&self, payload: usize, cap: u64) -> Result<(), StoreError> {
        let needed = payload as u64 + super::memory::ENTRY_OVERHEAD;
        if needed > cap {
            return Err(StoreError::Cache(CacheError::TooLarge { needed, limit: cap }));
        }
        Ok(())
    }

    /// Evicts until the global cap holds, from the largest namespaces first (each by its
    /// own policy), never evicting the entry just written (`written`: namespace and key).
    fn enforce_global_cap(&self, written: Option<(&str, &str)>) {
        let cap = self.global_cap();
        let mut namespaces = self.all();
        namespaces.sort_by_cached_key(|ns| std::cmp::Reverse(ns.lock().bytes_used()));
        for ns in namespaces {
            let over = self.global_used().saturating_sub(cap);
            if over == 0 {
                break;
            }
            let now = self.clock.now_ms();
            let mut cache = ns.lock();
            let protect = match written {
                Some((name, key)) if name == ns.name => {
                    cache.slot_of(key, now).unwrap_or(super::memory::cache::NO_SLOT)
                }
                _ => super::memory::cache::NO_SLOT,
            };
            let target = cache.bytes_used().saturating_sub(over);
            let freed = cache.evict_to(target, protect, now);
            tracing::debug!(namespace = %ns.name, freed, "evicted for the global memory cap");
        }
    }
}
