//! What the pressure monitor and the clears on a settings change ask of the store: shrink
//! every memory layer by eviction, and clear a namespace in every layer it may have data in,
//! including disk data its current tier no longer reads.

use std::sync::atomic::Ordering;

use super::disk::{Op, Outcome};
use super::memory::cache::NO_SLOT;
use super::{Store, StoreError};

/// Entries and bytes dropped.
pub type Freed = (u64, u64);

impl Store {
    /// Evicts each namespace's memory layer down to `percent` of the bytes it holds now, each
    /// by its own policy (the entries lost are the ones that policy values least).
    pub fn shrink_memory(&self, percent: f64) -> Freed {
        let fraction = (percent / 100.0).clamp(0.0, 1.0);
        let mut freed = (0, 0);
        for ns in self.all() {
            let now = self.clock().now_ms();
            let mut cache = ns.lock();
            let before = cache.len() as u64;
            let target = (cache.bytes_used() as f64 * fraction) as u64;
            let bytes = cache.evict_to(target, NO_SLOT, now);
            let entries = before.saturating_sub(cache.len() as u64);
            drop(cache);
            if bytes > 0 {
                tracing::debug!(namespace = %ns.name(), entries, bytes, "shrunk under memory pressure");
            }
            freed = (freed.0 + entries, freed.1 + bytes);
        }
        freed
    }

    /// Clears `ns` in memory and on disk whatever its tier says now, so values written under
    /// an earlier disk tier cannot come back when the tier changes again.
    pub async fn purge(&self, ns: &str) -> Result<Freed, StoreError> {
        let mut freed = (0, 0);
        if let Some(namespace) = self.lookup(ns) {
            freed = namespace.lock().clear();
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
        }
        let announce = |freed: Freed| {
            self.events().bulk_event(cachemgr_proto::EventKind::Clear, ns, freed.0, None);
            Ok(freed)
        };
        let Some(disk) = self.disk() else { return announce(freed) };
        if disk.lookup(ns).is_none() {
            return announce(freed);
        }
        if let Outcome::Cleared { entries, bytes } =
            disk.submit(Op::Clear { ns: ns.to_owned() }, true).await?
        {
            freed = (freed.0.max(entries), freed.1 + bytes);
        }
        if let Some(namespace) = self.lookup(ns) {
            // A read-through fill racing the disk clear must not survive it.
            namespace.lock().clear();
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
        }
        announce(freed)
    }
}
