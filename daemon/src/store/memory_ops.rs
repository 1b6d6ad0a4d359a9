//! The memory layer's part of each write: charging the global budget, waking the sweeper
//! and evicting for the global cap. Shared by memory-only and memory+disk namespaces; for
//! the memory tier it also announces the change while the lock is held, so events come in
//! the order the changes were made (an eviction a write causes included).

use cachemgr_proto::{Entry, EventKind};

use super::memory::{PatternAction, PatternTally, WriteCondition};
use super::namespaces::PATTERN_CHUNK;
use super::pattern::KeyMatcher;
use super::{Namespace, Store, StoreError};

impl Store {
    /// Writes one value to the memory layer; false when `condition` failed.
    pub(super) fn set_in_memory(
        &self,
        namespace: &Namespace,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: WriteCondition,
    ) -> Result<bool, StoreError> {
        let cap = self.global_cap();
        self.check_global_fit(key.len() + value.len(), cap)?;
        let now = self.clock().now_ms();
        let (stored, deadline) = {
            let mut cache = namespace.lock();
            let deadline = self.deadline(ttl_ms, cache.limits());
            let written = cache.insert(key, value, deadline, condition, now)?;
            if written.is_some() && namespace.announces_in_memory() {
                self.events().key_event(EventKind::Set, namespace.name(), key, Some(value));
            }
            (written.is_some(), deadline)
        };
        self.note_deadline(deadline);
        if self.global_used() > cap {
            self.enforce_global_cap(Some((namespace.name(), key)));
        }
        Ok(stored)
    }

    /// Writes a batch under one lock hold. Every entry is checked first, so a refused entry
    /// means nothing of the batch was written.
    pub(super) fn set_many_in_memory(
        &self,
        namespace: &Namespace,
        entries: &[Entry],
    ) -> Result<u64, StoreError> {
        let cap = self.global_cap();
        for entry in entries {
            self.check_global_fit(entry.key.len() + entry.value.len(), cap)?;
        }
        let now = self.clock().now_ms();
        let mut earliest = u64::MAX;
        {
            let mut cache = namespace.lock();
            for entry in entries {
                cache.check_entry(&entry.key, entry.value.len())?;
            }
            let limits = cache.limits();
            let announce = namespace.announces_in_memory();
            for entry in entries {
                let deadline = self.deadline(entry.ttl_ms, limits);
                cache.insert(&entry.key, &entry.value, deadline, WriteCondition::Always, now)?;
                if announce {
                    let events = self.events();
                    events.key_event(
                        EventKind::Set,
                        namespace.name(),
                        &entry.key,
                        Some(&entry.value),
                    );
                }
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

    /// Applies `action` to every matching key of the memory layer, one chunk per lock hold,
    /// yielding between chunks so other requests keep flowing.
    pub(super) async fn apply_pattern_in_memory(
        &self,
        namespace: &Namespace,
        matcher: &KeyMatcher,
        action: PatternAction,
    ) -> PatternTally {
        let mut tally = PatternTally::default();
        let mut cursor = Some(0);
        while let Some(at) = cursor {
            let now = self.clock().now_ms();
            cursor =
                namespace.lock().apply_pattern(at, PATTERN_CHUNK, matcher, action, now, &mut tally);
            tokio::task::yield_now().await;
        }
        if let PatternAction::SetDeadline(deadline) = action {
            self.note_deadline(deadline);
        }
        tally
    }
}
