//! Counters and namespace descriptions shared by `stats`, `list_namespaces` and `info`.

use serde::{Deserialize, Serialize};

/// The counters operators read (after Redis `INFO` and memcached `stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Reads that found a live value.
    pub hits: u64,
    /// Reads that found nothing (or an expired value).
    pub misses: u64,
    /// Values written.
    pub sets: u64,
    /// Keys removed by a delete request (single, bulk or pattern).
    pub deletes: u64,
    /// Entries removed to make room.
    pub evictions: u64,
    /// Entries removed because their TTL passed.
    pub expired: u64,
    /// Evicted entries that still had time to live (a sign the cache is too small).
    pub evicted_before_expiry: u64,
    /// Live entries now.
    pub entries: u64,
    /// Bytes counted against the limit now (keys, values and per-entry bookkeeping).
    pub bytes_used: u64,
    /// The limit those bytes are held under.
    pub bytes_limit: u64,
    /// Values that failed to decrypt or authenticate and were dropped (a disk layer that was
    /// tampered with, damaged, or sealed with a key the daemon no longer has). Absent from
    /// encodings made before the disk layer existed, hence the default.
    #[serde(default)]
    pub corrupt: u64,
    /// Requests of a Redis-tier namespace answered by the local layers alone because Redis
    /// was unreachable (circuit breaker open or no answer in time). 0 for other tiers.
    #[serde(default)]
    pub degraded: u64,
}

impl CacheStats {
    /// Hits over reads, 0 when nothing was read.
    pub fn hit_rate(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        }
    }

    /// Adds another namespace's counters into this total.
    pub fn accumulate(&mut self, other: &CacheStats) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.sets += other.sets;
        self.deletes += other.deletes;
        self.evictions += other.evictions;
        self.expired += other.expired;
        self.evicted_before_expiry += other.evicted_before_expiry;
        self.entries += other.entries;
        self.bytes_used += other.bytes_used;
        self.bytes_limit += other.bytes_limit;
        self.corrupt += other.corrupt;
        self.degraded += other.degraded;
    }
}

/// Counters of one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceStats {
    /// Namespace name.
    pub ns: String,
    /// Its counters, over every layer (what a client sees: a hit in any layer is a hit).
    pub stats: CacheStats,
    /// Where its entries live: `"memory"`, `"disk"` or `"memory+disk"`; empty when sent by
    /// a daemon older than the disk layer.
    #[serde(default)]
    pub tier: String,
    /// The same counters per layer, upper layer first, so an operator can see e.g. how many
    /// memory misses the disk answered; empty for a single-layer namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerStats>,
}

/// Counters of one layer of a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStats {
    /// The layer: `"memory"` or `"disk"`.
    pub layer: String,
    /// Its own counters (hits it answered, entries and bytes it holds, its limit).
    pub stats: CacheStats,
}

/// A namespace and its settings, as `list_namespaces` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceSummary {
    /// Namespace name.
    pub ns: String,
    /// Eviction policy: `lru`, `lfu` or `fifo`.
    pub eviction: String,
    /// Byte limit of its memory layer.
    pub max_bytes: u64,
    /// TTL given to writes that do not name one, in ms; absent = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_ttl_ms: Option<u64>,
    /// Live entries.
    pub entries: u64,
    /// Bytes used.
    pub bytes_used: u64,
    /// Whether it comes from the config file (false: created on first write).
    pub configured: bool,
    /// Where its entries live: `"memory"`, `"disk"` or `"memory+disk"`; empty when sent by a
    /// daemon older than the disk layer.
    #[serde(default)]
    pub tier: String,
    /// For a tier with a disk layer, when writes reach the disk: `"fsync"` (before the
    /// answer) or `"batched"` (shortly after; a crash may lose the last writes). Absent for
    /// memory-only namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability: Option<String>,
}

/// The shared Redis layer as `status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisStatus {
    /// The configured URL, password hidden.
    pub url: String,
    /// Circuit breaker: `closed` (Redis in use), `open` (served locally), `half-open`
    /// (probing whether Redis is back).
    pub breaker: String,
    /// Failed requests in a row.
    pub consecutive_failures: u32,
    /// Milliseconds since the breaker entered its state.
    pub since_ms: u64,
    /// How often the breaker opened since the daemon started.
    pub times_opened: u64,
    /// The last failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Whether invalidations from other daemons are being received (memory copies are only
    /// trusted while they are).
    pub invalidations_live: bool,
    /// Requests answered locally because Redis was unreachable, over all namespaces.
    pub degraded: u64,
    /// Requests Redis refused (answered with an error: out of memory, read-only replica,
    /// no permission), each of which failed with that answer instead of being served
    /// locally. Absent from encodings made before refusals were told apart, hence the default.
    #[serde(default)]
    pub refused: u64,
}
