//! Slot storage with an intrusive doubly linked order list, indexed by `u32`.
//!
//! Hand-written rather than taken from a crate because the memory target is tight (≤ 64
//! bytes of overhead per entry beyond key and value): a slot is 40 bytes, key and value
//! share one allocation, and the list links are `u32` indices instead of pointers. Slots
//! never move while occupied, so an index doubles as a stable scan cursor.
//!
//! Slots live in fixed chunks of 4096 that are never reallocated: a single growing `Vec`
//! would double (copying everything) and leave the old buffer resident in the allocator,
//! which measured ~40 bytes per entry of extra RSS at 1M entries (see docs/benchmarks.md).

/// "No slot": the end of a list, or an empty free list.
pub const NIL: u32 = u32::MAX;
const VACANT: u32 = u32::MAX;
const CHUNK_SHIFT: u32 = 12;
const CHUNK: usize = 1 << CHUNK_SHIFT;
const CHUNK_MASK: u32 = (CHUNK as u32) - 1;

/// One entry: key bytes followed by value bytes in a single allocation.
#[derive(Debug)]
pub struct Slot {
    data: Box<[u8]>,
    key_len: u32,
    prev: u32,
    next: u32,
    /// Deadline on the cache clock in milliseconds; 0 = never expires.
    pub expires_at: u64,
    /// Access count for LFU (saturating); unused by the other policies.
    pub freq: u32,
}

impl Slot {
    /// The key bytes (always valid UTF-8: keys arrive as strings).
    pub fn key(&self) -> &[u8] {
        &self.data[..self.key_len as usize]
    }

    /// The value bytes.
    pub fn value(&self) -> &[u8] {
        &self.data[self.key_len as usize..]
    }

    /// Whether this slot is on the free list.
    pub fn is_vacant(&self) -> bool {
        self.key_len == VACANT
    }

    /// Whether the entry's deadline has passed at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at != 0 && self.expires_at <= now
    }

    /// Bytes of key plus value.
    pub fn payload_len(&self) -> usize {
        self.data.len()
    }

    /// Replaces the value, keeping the key; reuses the allocation when the size is unchanged
    /// (the common overwrite of a counter or a fixed-size record).
    pub fn set_value(&mut self, value: &[u8]) {
        let key_len = self.key_len as usize;
        if self.data.len() == key_len + value.len() {
            self.data[key_len..].copy_from_slice(value);
            return;
        }
        let mut data = Vec::with_capacity(self.key_len as usize + value.len());
        data.extend_from_slice(self.key());
        data.extend_from_slice(value);
        self.data = data.into_boxed_slice();
    }
}

/// The slots, their free list and one order list (head = next eviction victim).
#[derive(Debug, Default)]
pub struct Arena {
    /// Chunks of exactly `CHUNK` capacity; only the last one is partly filled.
    chunks: Vec<Vec<Slot>>,
    free_head: u32,
    head: u32,
    tail: u32,
    len: usize,
}

impl Arena {
    /// An empty arena.
    pub fn new() -> Self {
        Self { chunks: Vec::new(), free_head: NIL, head: NIL, tail: NIL, len: 0 }
    }

    /// Occupied slots.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Slots ever allocated (occupied or free): the end of a scan.
    pub fn capacity(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        }
    }

    fn at(&self, idx: u32) -> &Slot {
        &self.chunks[(idx >> CHUNK_SHIFT) as usize][(idx & CHUNK_MASK) as usize]
    }

    fn at_mut(&mut self, idx: u32) -> &mut Slot {
        &mut self.chunks[(idx >> CHUNK_SHIFT) as usize][(idx & CHUNK_MASK) as usize]
    }

    /// First slot of the order list (the eviction victim), or [`NIL`].
    pub fn head(&self) -> u32 {
        self.head
    }

    /// Last slot of the order list, or [`NIL`].
    pub fn tail(&self) -> u32 {
        self.tail
    }

    /// The slot after `idx` in the order list.
    pub fn next_of(&self, idx: u32) -> u32 {
        self.at(idx).next
    }

    /// The slot before `idx` in the order list.
    pub fn prev_of(&self, idx: u32) -> u32 {
        self.at(idx).prev
    }

    /// A slot by index (may be vacant: check [`Slot::is_vacant`] when scanning).
    pub fn slot(&self, idx: u32) -> &Slot {
        self.at(idx)
    }

    /// A slot by index, mutably.
    pub fn slot_mut(&mut self, idx: u32) -> &mut Slot {
        self.at_mut(idx)
    }

    /// Stores an entry in a free slot (not yet linked into the order list).
    pub fn alloc(&mut self, key: &[u8], value: &[u8], expires_at: u64) -> u32 {
        let mut data = Vec::with_capacity(key.len() + value.len());
        data.extend_from_slice(key);
        data.extend_from_slice(value);
        let slot = Slot {
            data: data.into_boxed_slice(),
            key_len: key.len() as u32,
            prev: NIL,
            next: NIL,
            expires_at,
            freq: 1,
        };
        self.len += 1;
        if self.free_head != NIL {
            let idx = self.free_head;
            self.free_head = self.at(idx).next;
            *self.at_mut(idx) = slot;
            idx
        } else {
            let idx = self.capacity() as u32;
            if self.chunks.last().is_none_or(|last| last.len() == CHUNK) {
                self.chunks.push(Vec::with_capacity(CHUNK));
            }
            if let Some(last) = self.chunks.last_mut() {
                last.push(slot);
            }
            idx
        }
    }

    /// Frees an unlinked slot, returning its payload length.
    pub fn release(&mut self, idx: u32) -> usize {
        let free_head = self.free_head;
        let slot = self.at_mut(idx);
        let freed = slot.data.len();
        slot.data = Box::default();
        slot.key_len = VACANT;
        slot.prev = NIL;
        slot.next = free_head;
        slot.expires_at = 0;
        self.free_head = idx;
        self.len -= 1;
        freed
    }

    /// Inserts `idx` after `anchor` in the order list; `anchor == NIL` inserts at the head.
    pub fn link_after(&mut self, idx: u32, anchor: u32) {
        let next = if anchor == NIL { self.head } else { self.at(anchor).next };
        {
            let slot = self.at_mut(idx);
            slot.prev = anchor;
            slot.next = next;
        }
        if anchor == NIL {
            self.head = idx;
        } else {
            self.at_mut(anchor).next = idx;
        }
        if next == NIL {
            self.tail = idx;
        } else {
            self.at_mut(next).prev = idx;
        }
    }

    /// Appends `idx` at the tail (most recent end).
    pub fn push_back(&mut self, idx: u32) {
        self.link_after(idx, self.tail);
    }

    /// Takes `idx` out of the order list.
    pub fn unlink(&mut self, idx: u32) {
        let (prev, next) = {
            let slot = self.at(idx);
            (slot.prev, slot.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.at_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.at_mut(next).prev = prev;
        }
        let slot = self.at_mut(idx);
        slot.prev = NIL;
        slot.next = NIL;
    }

    /// Occupied slot indices in order-list order, head first.
    pub fn order(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len);
        let mut cur = self.head;
        while cur != NIL {
            out.push(cur);
            cur = self.at(cur).next;
        }
        out
    }

    /// Empties the order list without touching the slots (before relinking them all).
    pub fn reset_order(&mut self) {
        self.head = NIL;
        self.tail = NIL;
    }

    /// Drops everything and returns the memory to the allocator.
    pub fn clear(&mut self) {
        *self = Self::new();
    }
}
