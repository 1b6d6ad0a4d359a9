//! How a memory layer reports the keys it removes on its own (expired, evicted), so that
//! subscribers hear about changes no request made.

use std::sync::Arc;

use cachemgr_proto::EventKind;

use crate::events::EventHub;

/// Where a namespace's memory layer announces removals, and which ones count as changes:
/// an eviction from the memory copy of a disk or Redis tier loses nothing, and such a
/// tier's expiries are reported by the layer that holds the value.
#[derive(Debug, Clone)]
pub struct RemovalTap {
    hub: Arc<EventHub>,
    ns: Arc<str>,
    /// Report keys that expired.
    pub expiries: bool,
    /// Report keys evicted for room.
    pub evictions: bool,
}

impl RemovalTap {
    /// A tap for namespace `ns` reporting nothing until told which removals count.
    pub fn new(hub: Arc<EventHub>, ns: &str) -> Self {
        Self { hub, ns: ns.into(), expiries: false, evictions: false }
    }

    /// Announces that `key` expired or was evicted (`evicted`), if that counts here.
    pub fn removed(&self, key: &[u8], evicted: bool) {
        let (wanted, kind) = match evicted {
            true => (self.evictions, EventKind::Evict),
            false => (self.expiries, EventKind::Expire),
        };
        if wanted && self.hub.active() {
            self.hub.key_event(kind, &self.ns, &String::from_utf8_lossy(key), None);
        }
    }
}
