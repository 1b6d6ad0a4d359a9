//! The public write entry points: each makes its change, then announces it to subscribers
//! (see `crate::events`). A memory-tier namespace announces its writes itself, under its
//! memory lock (`memory_ops.rs`, `layered.rs`), so they interleave correctly with the
//! evictions and expiries the memory layer reports; the other tiers are announced here,
//! once the write has reached every layer.

use cachemgr_proto::{Entry, EventKind};

use super::memory::WriteCondition;
use super::{Store, StoreError};

impl Store {
    /// Writes a value; `ttl_ms` absent = the namespace default, 0 = never expires.
    /// Returns whether it was written (false when `condition` failed).
    pub async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: WriteCondition,
    ) -> Result<bool, StoreError> {
        let written = self.set_quietly(ns, key, value, ttl_ms, condition).await?;
        if written && self.events().active() && !self.announced_in_memory(ns) {
            self.events().key_event(EventKind::Set, ns, key, Some(value));
        }
        Ok(written)
    }

    /// Writes a batch; returns the number written.
    pub async fn set_many(&self, ns: &str, entries: &[Entry]) -> Result<u64, StoreError> {
        let written = self.set_many_quietly(ns, entries).await?;
        if self.events().active() && !self.announced_in_memory(ns) {
            for entry in entries {
                self.events().key_event(EventKind::Set, ns, &entry.key, Some(&entry.value));
            }
        }
        Ok(written)
    }

    /// Deletes keys; returns how many existed. While someone listens, the keys of a tier
    /// other than memory are deleted one at a time so that exactly the keys that existed are
    /// announced.
    pub async fn delete(&self, ns: &str, keys: &[String]) -> Result<u64, StoreError> {
        if !self.events().active() || self.announced_in_memory(ns) {
            return self.delete_quietly(ns, keys).await;
        }
        let mut deleted = 0;
        for key in keys {
            let one = self.delete_quietly(ns, std::slice::from_ref(key)).await?;
            if one > 0 {
                self.events().key_event(EventKind::Delete, ns, key, None);
            }
            deleted += one;
        }
        Ok(deleted)
    }

    /// Drops a namespace's entries in every layer; returns (entries, bytes).
    pub async fn clear(&self, ns: &str) -> Result<(u64, u64), StoreError> {
        let freed = self.clear_quietly(ns).await?;
        self.events().bulk_event(EventKind::Clear, ns, freed.0, None);
        Ok(freed)
    }

    /// Clears what this daemon holds of `ns`: for a Redis tier only its local copies (the
    /// values in Redis are every host's, and one host's memory pressure must not wipe them;
    /// nothing a client can read changed, so nothing is announced), for any other tier
    /// everything. Returns (entries, bytes).
    pub async fn clear_here(&self, ns: &str) -> Result<(u64, u64), StoreError> {
        let shared = self.lookup(ns).is_some_and(|namespace| namespace.full_tier().has_redis());
        let freed = self.clear_here_quietly(ns).await?;
        if !shared {
            self.events().bulk_event(EventKind::Clear, ns, freed.0, None);
        }
        Ok(freed)
    }

    fn announced_in_memory(&self, ns: &str) -> bool {
        self.lookup(ns).is_some_and(|namespace| namespace.announces_in_memory())
    }
}
