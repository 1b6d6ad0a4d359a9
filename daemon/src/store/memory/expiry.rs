//! Deadlines of the entries that have a TTL, earliest first.
//!
//! A binary heap of `(deadline, slot)` with lazy deletion: changing or removing a TTL does
//! not search the heap; a popped item counts only if the slot still carries that exact
//! deadline. A reused slot with the same deadline is due anyway, so no generation is needed.
//! Stale items are bounded by rebuilding when they outnumber the live ones.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Rebuild once the heap holds this many more items than live TTL entries (and twice as many).
const COMPACT_SLACK: usize = 1024;

/// Min-heap of deadlines.
#[derive(Debug, Default)]
pub struct ExpiryQueue {
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl ExpiryQueue {
    /// Records that slot `idx` expires at `deadline`.
    pub fn push(&mut self, deadline: u64, idx: u32) {
        self.heap.push(Reverse((deadline, idx)));
    }

    /// The earliest recorded deadline (possibly stale).
    pub fn peek_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((deadline, _))| *deadline)
    }

    /// Pops the earliest item if its deadline is at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<(u64, u32)> {
        match self.heap.peek() {
            Some(Reverse((deadline, _))) if *deadline <= now => {
                self.heap.pop().map(|Reverse(item)| item)
            }
            _ => None,
        }
    }

    /// Whether stale items have piled up enough that a rebuild pays off.
    pub fn needs_compaction(&self, live_ttl_entries: usize) -> bool {
        self.heap.len() > live_ttl_entries.saturating_mul(2) + COMPACT_SLACK
    }

    /// Drops stale items (and duplicates), keeping those `is_live` confirms. Costs
    /// O(n log n) in the heap's size, amortised over the ≥ 1024 pushes that made it due.
    pub fn compact(&mut self, is_live: impl Fn(u64, u32) -> bool) {
        let mut items: Vec<(u64, u32)> =
            std::mem::take(&mut self.heap).into_iter().map(|Reverse(item)| item).collect();
        items.retain(|&(deadline, idx)| is_live(deadline, idx));
        items.sort_unstable();
        items.dedup();
        self.heap = items.into_iter().map(Reverse).collect();
    }

    /// Items in the heap, stale ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops every item.
    pub fn clear(&mut self) {
        self.heap = BinaryHeap::new();
    }
}
