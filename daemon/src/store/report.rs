//! What the store reports about itself: per-namespace stats (per layer too) and settings.

use std::sync::atomic::Ordering;

use cachemgr_proto::{CacheStats, LayerStats, NamespaceStats, NamespaceSummary};

use super::tier::Tier;
use super::{Namespace, Store};

impl Store {
    /// Stats of one namespace (or all), plus their total.
    pub fn stats(&self, only: Option<&str>) -> (CacheStats, Vec<NamespaceStats>) {
        let mut rows: Vec<NamespaceStats> = self
            .all()
            .into_iter()
            .filter(|ns| only.is_none_or(|name| name == ns.name))
            .map(|ns| self.namespace_stats(&ns))
            .collect();
        rows.sort_by(|a, b| a.ns.cmp(&b.ns));
        let mut total = CacheStats::default();
        rows.iter().for_each(|row| total.accumulate(&row.stats));
        if only.is_none() {
            total.bytes_limit = self.global_cap();
        }
        (total, rows)
    }

    /// One namespace: the logical view (what a client saw) and each layer's own counters.
    fn namespace_stats(&self, ns: &Namespace) -> NamespaceStats {
        let memory = ns.lock().stats();
        let tier = ns.tier();
        let disk = match (tier, self.disk()) {
            (Tier::Memory, _) | (_, None) => None,
            (_, Some(disk)) => Some(disk.stats(ns.name())),
        };
        let (stats, layers) = match (tier, disk) {
            (Tier::MemoryDisk, Some(disk)) => {
                let logical = CacheStats {
                    hits: memory.hits + disk.hits,
                    misses: disk.misses,
                    sets: disk.sets,
                    deletes: disk.deletes,
                    evictions: memory.evictions,
                    expired: disk.expired,
                    evicted_before_expiry: memory.evicted_before_expiry,
                    corrupt: disk.corrupt,
                    degraded: 0,
                    entries: disk.entries,
                    bytes_used: memory.bytes_used,
                    bytes_limit: memory.bytes_limit,
                };
                (logical, vec![layer("memory", memory), layer("disk", disk)])
            }
            (Tier::Disk, Some(disk)) => (disk, vec![layer("disk", disk)]),
            _ => (memory, Vec::new()),
        };
        let full = ns.full_tier();
        let (stats, layers) = match self.redis() {
            Some(redis) if full.has_redis() => {
                with_redis(stats, layers, &redis.counters(ns.name()))
            }
            _ => (stats, layers),
        };
        NamespaceStats { ns: ns.name.clone(), stats, tier: full.as_str().to_owned(), layers }
    }

    /// Every namespace with its settings, sorted by name.
    pub fn summaries(&self) -> Vec<NamespaceSummary> {
        let mut out: Vec<NamespaceSummary> = self
            .all()
            .into_iter()
            .map(|ns| {
                let tier = ns.tier();
                let disk_size = match self.disk() {
                    Some(disk) if tier.has_disk() => disk.size_of(ns.name()).ok(),
                    _ => None,
                };
                let cache = ns.lock();
                let limits = cache.limits();
                NamespaceSummary {
                    ns: ns.name.clone(),
                    eviction: limits.eviction.to_string(),
                    max_bytes: limits.max_bytes,
                    default_ttl_ms: limits.default_ttl_ms,
                    entries: disk_size.map_or(cache.len() as u64, |(entries, _)| entries),
                    bytes_used: disk_size.map_or(cache.bytes_used(), |(_, bytes)| bytes),
                    configured: ns.configured.load(Ordering::Relaxed),
                    tier: ns.full_tier().as_str().to_owned(),
                    durability: tier.has_disk().then(|| ns.durability().as_str().to_owned()),
                }
            })
            .collect();
        out.sort_by(|a, b| a.ns.cmp(&b.ns));
        out
    }
}

/// Adds the Redis layer under the local ones: a client's hit is a hit in memory or Redis;
/// writes, deletes and misses are Redis's (the truth); entries and bytes stay the local
/// copies' (counting a shared Redis would mean scanning it).
fn with_redis(
    local: CacheStats,
    mut layers: Vec<LayerStats>,
    counters: &crate::store::redis::SharedCounters,
) -> (CacheStats, Vec<LayerStats>) {
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let redis = CacheStats {
        hits: load(&counters.hits),
        misses: load(&counters.misses),
        sets: load(&counters.sets),
        deletes: load(&counters.deletes),
        corrupt: load(&counters.corrupt),
        degraded: load(&counters.degraded),
        ..CacheStats::default()
    };
    if layers.is_empty() {
        layers.push(layer("memory", local));
    }
    let memory_hits = layers.first().map_or(0, |memory| memory.stats.hits);
    let logical = CacheStats {
        hits: memory_hits + redis.hits,
        misses: redis.misses,
        sets: redis.sets,
        deletes: redis.deletes,
        corrupt: local.corrupt + redis.corrupt,
        degraded: redis.degraded,
        ..local
    };
    layers.push(layer("redis", redis));
    (logical, layers)
}

fn layer(name: &str, stats: CacheStats) -> LayerStats {
    LayerStats { layer: name.to_owned(), stats }
}
