//! Server-side cursors for paging the keys of a disk namespace.
//!
//! The wire cursor is an opaque `u64`; redb orders keys as strings, so the daemon keeps the
//! last key of each page under a random id. Bounded: the oldest cursors are forgotten first
//! (a client holding one gets a clear "start again" error).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Cursors kept at most.
const MAX_CURSORS: usize = 4096;

/// Cursor id → (namespace, last key returned).
#[derive(Debug, Default)]
pub struct Cursors {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<u64, (String, String)>,
    order: VecDeque<u64>,
}

impl Cursors {
    /// Remembers where a page ended; returns the id to hand out.
    pub fn save(&self, ns: &str, last_key: String) -> u64 {
        let mut id = [0u8; 8];
        super::record::fill_random(&mut id);
        let id = u64::from_le_bytes(id).max(1);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.order.len() >= MAX_CURSORS {
            if let Some(oldest) = inner.order.pop_front() {
                inner.by_id.remove(&oldest);
            }
        }
        inner.by_id.insert(id, (ns.to_owned(), last_key));
        inner.order.push_back(id);
        id
    }

    /// The key a cursor of `ns` resumes after, if the cursor is known.
    pub fn resume(&self, ns: &str, id: u64) -> Option<String> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.by_id.get(&id).filter(|(owner, _)| owner == ns).map(|(_, key)| key.clone())
    }
}
