//! The fan-out of change events to subscribers.
//!
//! Publishing never waits: each subscriber has a bounded queue, an event that does not fit
//! is dropped for that subscriber and counted, and the count is handed to it with its next
//! event. With no subscriber, publishing is one atomic load, so the write path pays nothing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cachemgr_proto::{Event, EventKind};
use tokio::sync::mpsc;

use super::filter::EventFilter;

/// An event as published: the wire event plus who may see it.
#[derive(Debug, Clone)]
pub struct Published {
    /// What subscribers receive.
    pub event: Event,
    /// For app events, the app's owner (only they and admins see it).
    pub owner_uid: Option<u32>,
}

/// Decides, per event, whether a subscriber's caller may see it (access rules).
pub trait Visibility: Send + Sync {
    /// Whether the subscriber may see `published`.
    fn may_see(&self, published: &Published) -> bool;
}

/// One queued event, with how many events were dropped for the subscriber just before it
/// (so the notice lands exactly where the gap is).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Events dropped between the previous delivery and this one.
    pub missed_before: u64,
    /// The event.
    pub published: Arc<Published>,
}

/// The subscriber's end: events in publish order, and how many were dropped for it.
pub struct Subscription {
    /// Events delivered.
    pub events: mpsc::Receiver<Delivery>,
    slot: Arc<Slot>,
    hub: Arc<EventHub>,
}

impl Subscription {
    /// Events dropped after the last queued one, reset to zero, when the queue is empty
    /// (else 0: those drops will ride on the next queued event). Checked under the hub's
    /// lock, so no event can be queued between the check and the take, which would put the
    /// notice before an event older than the gap.
    pub fn take_missed_if_drained(&self) -> u64 {
        let _publishers = self.hub.lock();
        if self.events.is_empty() {
            self.slot.missed.swap(0, Ordering::AcqRel)
        } else {
            0
        }
    }

    /// Whether `set` events should carry their values to this subscriber.
    pub fn wants_values(&self) -> bool {
        self.slot.wants_values
    }

    /// The queue length granted.
    pub fn queue(&self) -> usize {
        self.events.max_capacity()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.slot.id);
    }
}

struct Slot {
    id: u64,
    filter: EventFilter,
    visibility: Box<dyn Visibility>,
    wants_values: bool,
    sender: mpsc::Sender<Delivery>,
    missed: AtomicU64,
}

#[derive(Default)]
struct Subscribers {
    seq: u64,
    next_id: u64,
    slots: Vec<Arc<Slot>>,
}

/// Where every change is announced; owned by the store, shared with whoever makes changes.
#[derive(Default)]
pub struct EventHub {
    active: AtomicUsize,
    wanting_values: AtomicUsize,
    inner: Mutex<Subscribers>,
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub").field("subscribers", &self.subscribers()).finish()
    }
}

impl EventHub {
    /// A hub with no subscribers.
    pub fn new() -> Arc<EventHub> {
        Arc::new(EventHub::default())
    }

    /// Whether anyone listens; callers skip building events when nobody does.
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire) > 0
    }

    /// Whether some subscriber wants the values of `set` events.
    pub fn values_wanted(&self) -> bool {
        self.wanting_values.load(Ordering::Acquire) > 0
    }

    /// How many subscribers there are.
    pub fn subscribers(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Registers a subscriber with a queue of `queue` events (at least 1).
    pub fn subscribe(
        self: &Arc<Self>,
        filter: EventFilter,
        visibility: Box<dyn Visibility>,
        wants_values: bool,
        queue: usize,
    ) -> Subscription {
        let (sender, events) = mpsc::channel(queue.max(1));
        let mut inner = self.lock();
        inner.next_id += 1;
        let slot = Arc::new(Slot {
            id: inner.next_id,
            filter,
            visibility,
            wants_values,
            sender,
            missed: AtomicU64::new(0),
        });
        inner.slots.push(slot.clone());
        self.active.fetch_add(1, Ordering::AcqRel);
        if wants_values {
            self.wanting_values.fetch_add(1, Ordering::AcqRel);
        }
        Subscription { events, slot, hub: self.clone() }
    }

    /// Announces a change; `build` runs only when someone listens.
    pub fn publish(&self, build: impl FnOnce() -> Published) {
        if !self.active() {
            return;
        }
        let mut published = build();
        let mut inner = self.lock();
        inner.seq += 1;
        published.event.seq = inner.seq;
        published.event.at_ms = unix_now_ms();
        let published = Arc::new(published);
        for slot in &inner.slots {
            if !slot.filter.matches(&published.event) || !slot.visibility.may_see(&published) {
                continue;
            }
            match slot.sender.try_reserve() {
                Ok(permit) => permit.send(Delivery {
                    missed_before: slot.missed.swap(0, Ordering::AcqRel),
                    published: published.clone(),
                }),
                Err(_) => {
                    slot.missed.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }

    /// Announces a key event of `ns` (`set`, `delete`, `expire`, `evict`).
    pub fn key_event(&self, kind: EventKind, ns: &str, key: &str, value: Option<&[u8]>) {
        self.publish(|| {
            let mut event = Event::new(kind);
            event.ns = Some(ns.to_owned());
            event.key = Some(key.to_owned());
            event.value = value
                .filter(|v| v.len() <= cachemgr_proto::MAX_EVENT_VALUE_BYTES)
                .filter(|_| self.values_wanted())
                .map(|v| serde_bytes::ByteBuf::from(v.to_vec()));
            Published { event, owner_uid: None }
        });
    }

    /// Announces an event about many entries of `ns` (`clear`, a pattern `delete`, a disk
    /// `expire`).
    pub fn bulk_event(&self, kind: EventKind, ns: &str, count: u64, pattern: Option<&str>) {
        self.publish(|| {
            let mut event = Event::new(kind);
            event.ns = Some(ns.to_owned());
            event.count = Some(count);
            event.pattern = pattern.map(str::to_owned);
            Published { event, owner_uid: None }
        });
    }

    fn remove(&self, id: u64) {
        let mut inner = self.lock();
        if let Some(at) = inner.slots.iter().position(|slot| slot.id == id) {
            let slot = inner.slots.swap_remove(at);
            self.active.fetch_sub(1, Ordering::AcqRel);
            if slot.wants_values {
                self.wanting_values.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Subscribers> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
