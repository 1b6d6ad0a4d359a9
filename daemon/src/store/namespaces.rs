//! The store: namespaces by name, the global memory budget, and every cache operation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use tokio::sync::Notify;

use super::clock::Clock;
use super::disk::{DiskError, DiskLayer, DiskNamespace};
use super::memory::{CacheError, CacheLimits, MemoryCache, RemovalTap};
use super::names::validate_namespace;
use super::tier::{Durability, Tier};
use crate::config::{Config, LiveConfig};
use crate::events::EventHub;

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
    /// The disk layer failed; nothing was stored.
    #[error(transparent)]
    Disk(#[from] DiskError),
    /// A many-value answer outgrew its byte budget while it was built.
    #[error(transparent)]
    OverBudget(#[from] super::budget::OverBudget),
    /// The namespace has a disk tier but the daemon runs without a disk layer.
    #[error("namespace {0:?} has a disk tier, but the disk layer is not open")]
    NoDisk(String),
    /// Redis answered with an error (out of memory, read-only replica, ...): the request
    /// fails instead of being served locally, which every other daemon would contradict.
    #[error("{0}")]
    Refused(crate::store::redis::Refused),
    /// Redis refused part of a change of many keys after accepting the rest.
    #[error(
        "{0}; part of the change may have been made: this daemon's copies of the keys it \
         touched were dropped and the other daemons told to drop theirs, so every daemon \
         reads what Redis holds"
    )]
    PartlyRefused(crate::store::redis::Refused),
    /// A TTL beyond what Redis can keep (its expiry time is a signed 64-bit count of ms).
    #[error(
        "a TTL of {ttl_ms} ms is longer than a Redis tier can keep (at most {max_ms} ms); \
         send no TTL for a value that never expires"
    )]
    TtlTooLong {
        /// The TTL asked for.
        ttl_ms: u64,
        /// The longest a Redis tier takes.
        max_ms: u64,
    },
}

/// One namespace: its name, whether the config names it, its layers and its memory layer.
#[derive(Debug)]
pub struct Namespace {
    pub(super) name: String,
    pub(super) configured: AtomicBool,
    cache: Mutex<MemoryCache>,
    tier: AtomicU8,
    fsync: AtomicBool,
    /// Bumped (under the memory lock) by every change of a disk-backed namespace, so a
    /// read-through fill that raced a write can tell and skip filling a stale value.
    pub(super) epoch: AtomicU64,
    /// Its disk state, once it has one.
    pub(super) disk_state: OnceLock<Arc<DiskNamespace>>,
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

    /// The layers this daemon holds for it (a Redis tier without Redis: see [`Tier::local`]).
    pub fn tier(&self) -> Tier {
        self.full_tier().local()
    }

    /// Whether memory holds the value itself (the memory tier): its changes are announced
    /// under the memory lock, in the order they are made.
    pub fn announces_in_memory(&self) -> bool {
        self.full_tier() == Tier::Memory
    }

    /// Its configured layers, Redis included.
    pub fn full_tier(&self) -> Tier {
        Tier::from_u8(self.tier.load(Ordering::Relaxed))
    }

    /// Its disk durability.
    pub fn durability(&self) -> Durability {
        if self.fsync.load(Ordering::Relaxed) {
            Durability::Fsync
        } else {
            Durability::Batched
        }
    }

    fn set_tier(&self, (tier, durability): (Tier, Durability)) {
        self.tier.store(tier.to_u8(), Ordering::Relaxed);
        self.fsync.store(durability == Durability::Fsync, Ordering::Relaxed);
        if let Some(tap) = self.lock().tap_mut() {
            // Only where memory holds the value itself: a disk tier's expiries come from
            // the disk sweeper, a Redis tier's from Redis (a local copy aging out is no change).
            tap.expiries = tier == Tier::Memory;
            tap.evictions = tier == Tier::Memory;
        }
    }
}

/// Owner of all cache state.
#[derive(Debug)]
pub struct Store {
    namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    pub(super) disk: Option<Arc<DiskLayer>>,
    pub(super) redis: Option<Arc<crate::store::redis::RedisLayer>>,
    /// The configuration in force: the daemon's one cell (see [`LiveConfig`]).
    config: Arc<LiveConfig>,
    global_used: Arc<AtomicU64>,
    /// `memory.max_bytes`, kept apart from the config so the write path reads one atomic.
    global_cap: AtomicU64,
    clock: Clock,
    pub(super) wakeup: Notify,
    pub(super) next_wakeup: AtomicU64,
    events: Arc<EventHub>,
}

impl Store {
    /// A memory-only store holding the namespaces the config names (empty).
    pub fn new(config: Arc<Config>) -> Arc<Store> {
        Self::with_disk(config, None)
    }

    /// A store whose disk-tier namespaces live in `disk`.
    pub fn with_disk(config: Arc<Config>, disk: Option<Arc<DiskLayer>>) -> Arc<Store> {
        Self::with_layers(config, disk, None)
    }

    /// A store with every layer: disk tiers in `disk`, Redis tiers through `redis`.
    pub fn with_layers(
        config: Arc<Config>,
        disk: Option<Arc<DiskLayer>>,
        redis: Option<Arc<crate::store::redis::RedisLayer>>,
    ) -> Arc<Store> {
        Self::with_live(LiveConfig::new(config), disk, redis)
    }

    /// A store with every layer that follows the live config `live` (shared with the rest of
    /// the daemon: [`Store::apply_config`] replaces it for everyone).
    pub fn with_live(
        live: Arc<LiveConfig>,
        disk: Option<Arc<DiskLayer>>,
        redis: Option<Arc<crate::store::redis::RedisLayer>>,
    ) -> Arc<Store> {
        let config = live.get();
        let store = Arc::new(Store {
            namespaces: RwLock::new(HashMap::new()),
            disk,
            redis,
            config: live,
            global_used: Arc::new(AtomicU64::new(0)),
            global_cap: AtomicU64::new(config.memory.max_bytes.as_u64()),
            clock: Clock::new(),
            wakeup: Notify::new(),
            next_wakeup: AtomicU64::new(u64::MAX),
            events: EventHub::new(),
        });
        store.apply_config(config.clone());
        // Namespaces created on first write before a restart come back with their data.
        if let Some(disk) = &store.disk {
            for state in disk.all() {
                if config.tier_for(state.name()).0.has_disk() {
                    store.ensure_namespace(state.name(), &config);
                }
            }
        }
        store
    }

    /// Where every change is announced to subscribers.
    pub fn events(&self) -> &Arc<EventHub> {
        &self.events
    }

    /// The cache clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Bytes charged across all namespaces.
    pub fn global_used(&self) -> u64 {
        self.global_used.load(Ordering::Relaxed)
    }

    /// The live config cell the store follows (the daemon's one).
    pub fn live_config(&self) -> &Arc<LiveConfig> {
        &self.config
    }

    /// Puts a new config in force for the whole daemon (the live cell) and makes the store
    /// follow it: creates and re-limits configured namespaces, returns namespaces no longer
    /// configured to the defaults, enforces the global cap.
    pub fn apply_config(&self, config: Arc<Config>) {
        self.config.replace(config.clone());
        self.global_cap.store(config.memory.max_bytes.as_u64(), Ordering::Relaxed);
        let now = self.clock.now_ms();
        for name in config.namespaces.keys() {
            self.ensure_namespace(name, &config).configured.store(true, Ordering::Relaxed);
        }
        for ns in self.all() {
            let configured = config.namespaces.contains_key(&ns.name);
            ns.configured.store(configured, Ordering::Relaxed);
            ns.set_tier(config.tier_for(&ns.name));
            ns.lock().set_limits(config.limits_for(&ns.name), now);
        }
        self.sync_disk_limits(&config);
        self.enforce_global_cap(None);
    }

    /// Gives every namespace with disk state its disk limit and policy; a limit that went
    /// down (or was set for the first time since the start) is enforced at once, fire and
    /// forget (a failure is the disk layer's problem, which `status` reports).
    fn sync_disk_limits(&self, config: &Config) {
        let Some(disk) = &self.disk else { return };
        for state in disk.all() {
            let eviction = config.limits_for(state.name()).eviction;
            if state.set_limits(config.disk_limit_for(state.name()), eviction) {
                let _ = disk.enqueue(super::disk::Op::Trim { ns: state }, false);
            }
        }
    }

    /// Every namespace (a snapshot; the map lock is not held afterwards).
    pub fn all(&self) -> Vec<Arc<Namespace>> {
        self.namespaces.read().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    /// The Redis layer, if configured.
    pub fn redis(&self) -> Option<&Arc<crate::store::redis::RedisLayer>> {
        self.redis.as_ref()
    }

    /// The disk layer, if open.
    pub fn disk(&self) -> Option<&Arc<DiskLayer>> {
        self.disk.as_ref()
    }

    pub(super) fn map(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Namespace>>> {
        self.namespaces.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The namespace `ns`, if it exists.
    pub fn lookup(&self, ns: &str) -> Option<Arc<Namespace>> {
        self.namespaces.read().unwrap_or_else(PoisonError::into_inner).get(ns).cloned()
    }

    /// Runs `op` on the namespace, creating it first if needed; the common case (it exists)
    /// takes only the map's read lock, with no reference-count traffic.
    pub(super) fn with_namespace_for_write<R>(
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

    pub(super) fn namespace_for_write(&self, ns: &str) -> Result<Arc<Namespace>, StoreError> {
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
                let mut cache = MemoryCache::new(config.limits_for(ns), self.global_used.clone());
                *cache.tap_mut() = Some(RemovalTap::new(self.events.clone(), ns));
                let namespace = Namespace {
                    name: ns.to_owned(),
                    configured: AtomicBool::new(config.namespaces.contains_key(ns)),
                    cache: Mutex::new(cache),
                    tier: AtomicU8::new(0),
                    fsync: AtomicBool::new(false),
                    epoch: AtomicU64::new(0),
                    disk_state: OnceLock::new(),
                };
                namespace.set_tier(config.tier_for(ns));
                Arc::new(namespace)
            })
            .clone()
    }

    /// The config the store follows (changed by `apply_config`).
    pub fn current_config(&self) -> Arc<Config> {
        self.config.get()
    }

    pub(super) fn global_cap(&self) -> u64 {
        self.global_cap.load(Ordering::Relaxed)
    }

    pub(super) fn deadline(&self, ttl_ms: Option<u64>, limits: CacheLimits) -> u64 {
        match ttl_ms.or(limits.default_ttl_ms) {
            Some(ms) => self.clock.deadline_after(ms),
            None => 0,
        }
    }

    /// Wakes the sweeper if `deadline` is earlier than the one it sleeps toward.
    pub(super) fn note_deadline(&self, deadline: u64) {
        if deadline != 0 && deadline < self.next_wakeup.fetch_min(deadline, Ordering::AcqRel) {
            self.wakeup.notify_one();
        }
    }

    /// Refuses an entry that could never fit under the global cap.
    pub(super) fn check_global_fit(&self, payload: usize, cap: u64) -> Result<(), StoreError> {
        let needed = payload as u64 + super::memory::ENTRY_OVERHEAD;
        if needed > cap {
            return Err(StoreError::Cache(CacheError::TooLarge { needed, limit: cap }));
        }
        Ok(())
    }

    /// Evicts until the global cap holds, from the largest namespaces first (each by its
    /// own policy), never evicting the entry just written (`written`: namespace and key).
    pub(super) fn enforce_global_cap(&self, written: Option<(&str, &str)>) {
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
