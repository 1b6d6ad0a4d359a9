//! What the store reports about itself: per-namespace stats and settings.

use std::sync::atomic::Ordering;

use cachemgr_proto::{CacheStats, NamespaceStats, NamespaceSummary};

use super::Store;

/// The only tier this store has so far (the disk layer is being built).
const MEMORY_TIER: &str = "memory";

impl Store {
    /// Stats of one namespace (or all), plus their total.
    pub fn stats(&self, only: Option<&str>) -> (CacheStats, Vec<NamespaceStats>) {
        let mut rows: Vec<NamespaceStats> = self
            .all()
            .into_iter()
            .filter(|ns| only.is_none_or(|name| name == ns.name))
            .map(|ns| NamespaceStats {
                stats: ns.lock().stats(),
                ns: ns.name.clone(),
                tier: MEMORY_TIER.to_owned(),
                layers: Vec::new(),
            })
            .collect();
        rows.sort_by(|a, b| a.ns.cmp(&b.ns));
        let mut total = CacheStats::default();
        rows.iter().for_each(|row| total.accumulate(&row.stats));
        if only.is_none() {
            total.bytes_limit = self.global_cap();
        }
        (total, rows)
    }

    /// Every namespace with its settings, sorted by name.
    pub fn summaries(&self) -> Vec<NamespaceSummary> {
        let mut out: Vec<NamespaceSummary> = self
            .all()
            .into_iter()
            .map(|ns| {
                let cache = ns.lock();
                let limits = cache.limits();
                NamespaceSummary {
                    ns: ns.name.clone(),
                    eviction: limits.eviction.to_string(),
                    max_bytes: limits.max_bytes,
                    default_ttl_ms: limits.default_ttl_ms,
                    entries: cache.len() as u64,
                    bytes_used: cache.bytes_used(),
                    configured: ns.configured.load(Ordering::Relaxed),
                    tier: MEMORY_TIER.to_owned(),
                    durability: None,
                }
            })
            .collect();
        out.sort_by(|a, b| a.ns.cmp(&b.ns));
        out
    }
}
