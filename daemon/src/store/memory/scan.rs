//! Pattern work over a namespace: paged key listing and chunked count/delete/expire.
//!
//! Both walk slot indices from a cursor, so a call visits a bounded number of slots and the
//! caller can release the lock between calls; occupied slots never move, so a key present
//! for a whole iteration is seen exactly once.

use super::arena::Slot;
use super::cache::{MemoryCache, PatternAction, PatternTally};
use crate::pattern::KeyMatcher;

/// A `keys` page stops once its keys add up to this, so long keys cannot push a page past
/// the frame cap (the smallest allowed cap is 1 KiB, but the default is 16 MiB).
pub(crate) const PAGE_BYTES: usize = 1 << 20;

impl MemoryCache {
    /// Appends up to `max_keys` live keys matching `matcher`, scanning at most `budget`
    /// slots from `cursor`; returns the cursor to resume at, `None` at the end.
    pub fn scan_keys(
        &self,
        cursor: u64,
        max_keys: usize,
        budget: usize,
        matcher: &KeyMatcher,
        now: u64,
        out: &mut Vec<String>,
    ) -> Option<u64> {
        let end = self.arena.capacity() as u64;
        let mut pos = cursor;
        let mut scanned = 0;
        let mut bytes = 0;
        while pos < end && out.len() < max_keys && scanned < budget && bytes < PAGE_BYTES {
            let slot = self.arena.slot(pos as u32);
            if is_match(slot, matcher, now) {
                bytes += slot.key().len();
                out.push(String::from_utf8_lossy(slot.key()).into_owned());
            }
            pos += 1;
            scanned += 1;
        }
        (pos < end).then_some(pos)
    }

    /// Applies `action` to matching keys among at most `budget` slots from `cursor`,
    /// adding to `tally`; returns the cursor to resume at, `None` at the end.
    pub fn apply_pattern(
        &mut self,
        cursor: u64,
        budget: usize,
        matcher: &KeyMatcher,
        action: PatternAction,
        now: u64,
        tally: &mut PatternTally,
    ) -> Option<u64> {
        let end = (self.arena.capacity() as u64).min(cursor.saturating_add(budget as u64));
        for pos in cursor..end {
            let idx = pos as u32;
            let slot = self.arena.slot(idx);
            if !is_match(slot, matcher, now) {
                continue;
            }
            tally.keys += 1;
            tally.bytes += slot.payload_len() as u64;
            tally.with_ttl += u64::from(slot.expires_at != 0);
            match action {
                PatternAction::Tally => {}
                PatternAction::Delete => {
                    self.drop_slot(idx);
                    self.stats.deletes += 1;
                }
                PatternAction::SetDeadline(deadline) => self.change_deadline(idx, deadline),
            }
        }
        (end < self.arena.capacity() as u64).then_some(end)
    }
}

fn is_match(slot: &Slot, matcher: &KeyMatcher, now: u64) -> bool {
    !slot.is_vacant() && !slot.is_expired(now) && matcher.is_match(slot.key())
}
