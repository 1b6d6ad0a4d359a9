//! The cache's families: per layer (`cachemgr_hits_total{namespace,layer}`) and per
//! namespace (`cachemgr_namespace_hits_total{namespace}`). They are separate families because
//! summing a namespace's layers double-counts its misses (a memory miss the disk answers is a
//! miss of one layer and a hit of the other); the namespace's own row is what its clients see.

use cachemgr_proto::{CacheStats, NamespaceStats};

use super::exposition::{Family, Kind};

/// One `CacheStats` field exported per layer and per namespace.
struct Field {
    layer: &'static str,
    namespace: &'static str,
    kind: Kind,
    help: &'static str,
    read: fn(&CacheStats) -> u64,
}

const fn field(
    layer: &'static str,
    namespace: &'static str,
    kind: Kind,
    help: &'static str,
    read: fn(&CacheStats) -> u64,
) -> Field {
    Field { layer, namespace, kind, help, read }
}

const FIELDS: &[Field] = &[
    field(
        "cachemgr_hits_total",
        "cachemgr_namespace_hits_total",
        Kind::Counter,
        "Reads that found a live value.",
        |s| s.hits,
    ),
    field(
        "cachemgr_misses_total",
        "cachemgr_namespace_misses_total",
        Kind::Counter,
        "Reads that found nothing (or an expired value).",
        |s| s.misses,
    ),
    field(
        "cachemgr_sets_total",
        "cachemgr_namespace_sets_total",
        Kind::Counter,
        "Values written.",
        |s| s.sets,
    ),
    field(
        "cachemgr_deletes_total",
        "cachemgr_namespace_deletes_total",
        Kind::Counter,
        "Keys removed by a delete request (single, bulk or pattern).",
        |s| s.deletes,
    ),
    field(
        "cachemgr_evictions_total",
        "cachemgr_namespace_evictions_total",
        Kind::Counter,
        "Entries removed to make room.",
        |s| s.evictions,
    ),
    field(
        "cachemgr_expired_total",
        "cachemgr_namespace_expired_total",
        Kind::Counter,
        "Entries removed because their TTL passed.",
        |s| s.expired,
    ),
    field(
        "cachemgr_evicted_before_expiry_total",
        "cachemgr_namespace_evicted_before_expiry_total",
        Kind::Counter,
        "Evicted entries that still had time to live (a sign the cache is too small).",
        |s| s.evicted_before_expiry,
    ),
    field(
        "cachemgr_corrupt_total",
        "cachemgr_namespace_corrupt_total",
        Kind::Counter,
        "Values that failed to decrypt or authenticate and were dropped.",
        |s| s.corrupt,
    ),
    field(
        "cachemgr_entries",
        "cachemgr_namespace_entries",
        Kind::Gauge,
        "Live entries now.",
        |s| s.entries,
    ),
    field(
        "cachemgr_used_bytes",
        "cachemgr_namespace_used_bytes",
        Kind::Gauge,
        "Bytes counted against the limit now (keys, values, per-entry bookkeeping).",
        |s| s.bytes_used,
    ),
    field(
        "cachemgr_limit_bytes",
        "cachemgr_namespace_limit_bytes",
        Kind::Gauge,
        "The byte limit those bytes are held under.",
        |s| s.bytes_limit,
    ),
];

/// Per layer and per namespace counters, and each namespace's tier.
pub fn families(namespaces: &[NamespaceStats]) -> Vec<Family> {
    let mut families = Vec::new();
    let mut tiers =
        Family::new("cachemgr_namespace_info", Kind::Gauge, "A namespace and its tier; always 1.");
    let mut degraded = Family::new(
        "cachemgr_namespace_degraded_total",
        Kind::Counter,
        "Requests of a Redis-tier namespace answered locally because Redis was unreachable.",
    );
    for row in namespaces {
        tiers.push(&[("namespace", &row.ns), ("tier", &row.tier)], 1u64);
        degraded.push(&[("namespace", &row.ns)], row.stats.degraded);
    }
    for field in FIELDS {
        let mut per_layer = Family::new(field.layer, field.kind, field.help);
        let mut per_namespace = Family::new(field.namespace, field.kind, field.help);
        for row in namespaces {
            per_namespace.push(&[("namespace", &row.ns)], (field.read)(&row.stats));
            // A single-layer namespace has no layer rows: its one layer is its tier.
            if row.layers.is_empty() {
                per_layer.push(
                    &[("namespace", &row.ns), ("layer", &row.tier)],
                    (field.read)(&row.stats),
                );
            }
            for layer in &row.layers {
                per_layer.push(
                    &[("namespace", &row.ns), ("layer", &layer.layer)],
                    (field.read)(&layer.stats),
                );
            }
        }
        families.push(per_layer);
        families.push(per_namespace);
    }
    families.push(tiers);
    families.push(degraded);
    families
}
