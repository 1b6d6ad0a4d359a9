//! Eviction order for LRU, LFU and FIFO on top of the arena's single order list.
//!
//! All three keep the next victim at the head of one list, so eviction is O(1) for each:
//! - LRU moves an entry to the tail on every read and write;
//! - FIFO moves it to the tail only when it is written (order of last write);
//! - LFU keeps the list sorted by access count, oldest first within a count. A map from
//!   each count to the last entry holding it finds the insertion point in O(1), which is
//!   the "O(1) LFU" scheme of Shah, Mitra and Matani (2010) folded into one list.

use hashbrown::HashMap;

use super::arena::{Arena, NIL};

pub use crate::config::tier::EvictionPolicy;

/// Keeps the arena's order list in the shape the policy needs.
#[derive(Debug, Default)]
pub struct Order {
    policy: EvictionPolicy,
    /// LFU only: access count -> last slot in the list with that count.
    group_tails: HashMap<u32, u32>,
}

impl Order {
    /// An order keeper for `policy`.
    pub fn new(policy: EvictionPolicy) -> Self {
        Self { policy, group_tails: HashMap::new() }
    }

    /// The policy in force.
    pub fn policy(&self) -> EvictionPolicy {
        self.policy
    }

    /// Places a freshly allocated slot (its `freq` is 1).
    pub fn insert(&mut self, arena: &mut Arena, idx: u32) {
        match self.policy {
            EvictionPolicy::Lru | EvictionPolicy::Fifo => {
                arena.slot_mut(idx).freq = 1;
                arena.push_back(idx);
            }
            EvictionPolicy::Lfu => {
                arena.slot_mut(idx).freq = 1;
                let anchor = self.group_tails.get(&1).copied().unwrap_or(NIL);
                arena.link_after(idx, anchor);
                self.group_tails.insert(1, idx);
            }
        }
    }

    /// Records a read hit.
    pub fn on_read(&mut self, arena: &mut Arena, idx: u32) {
        match self.policy {
            EvictionPolicy::Lru => self.move_to_back(arena, idx),
            EvictionPolicy::Lfu => self.bump(arena, idx),
            EvictionPolicy::Fifo => {}
        }
        self.count_access(arena, idx);
    }

    /// Keeps access counts under LRU and FIFO too, so a switch to LFU starts from real counts.
    fn count_access(&self, arena: &mut Arena, idx: u32) {
        if self.policy != EvictionPolicy::Lfu {
            let slot = arena.slot_mut(idx);
            slot.freq = slot.freq.saturating_add(1);
        }
    }

    /// Records an overwrite of an existing entry.
    pub fn on_write(&mut self, arena: &mut Arena, idx: u32) {
        match self.policy {
            EvictionPolicy::Lru | EvictionPolicy::Fifo => self.move_to_back(arena, idx),
            EvictionPolicy::Lfu => self.bump(arena, idx),
        }
        self.count_access(arena, idx);
    }

    /// Takes a slot out of the order (before it is released).
    pub fn remove(&mut self, arena: &mut Arena, idx: u32) {
        if self.policy == EvictionPolicy::Lfu {
            let freq = arena.slot(idx).freq;
            if self.group_tails.get(&freq) == Some(&idx) {
                let prev = arena.prev_of(idx);
                if prev != NIL && arena.slot(prev).freq == freq {
                    self.group_tails.insert(freq, prev);
                } else {
                    self.group_tails.remove(&freq);
                }
            }
        }
        arena.unlink(idx);
    }

    /// The slot to evict next, or `NIL` when empty.
    pub fn victim(&self, arena: &Arena) -> u32 {
        arena.head()
    }

    /// Switches policy, re-threading every live entry (LFU sorts by count, keeping recency).
    pub fn rebuild(&mut self, arena: &mut Arena, policy: EvictionPolicy) {
        let mut order = arena.order();
        if policy == EvictionPolicy::Lfu {
            order.sort_by_key(|&idx| arena.slot(idx).freq);
        }
        self.policy = policy;
        self.group_tails.clear();
        arena.reset_order();
        for idx in order {
            arena.push_back(idx);
            if policy == EvictionPolicy::Lfu {
                self.group_tails.insert(arena.slot(idx).freq, idx);
            }
        }
    }

    /// Forgets all bookkeeping (the arena was cleared).
    pub fn clear(&mut self) {
        self.group_tails = HashMap::new();
    }

    fn move_to_back(&mut self, arena: &mut Arena, idx: u32) {
        if arena.tail() != idx {
            arena.unlink(idx);
            arena.push_back(idx);
        }
    }

    fn bump(&mut self, arena: &mut Arena, idx: u32) {
        let freq = arena.slot(idx).freq;
        let new_freq = freq.saturating_add(1);
        let old_prev = arena.prev_of(idx);
        self.remove(arena, idx);
        let anchor = self
            .group_tails
            .get(&new_freq)
            .or_else(|| self.group_tails.get(&freq))
            .copied()
            .unwrap_or(old_prev);
        arena.slot_mut(idx).freq = new_freq;
        arena.link_after(idx, anchor);
        self.group_tails.insert(new_freq, idx);
    }
}
