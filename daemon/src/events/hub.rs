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

/// Value bytes that may wait for one subscriber: with `values`, a queue of 1024 events of
/// up to 64 KiB could otherwise pin 64 MiB per stalled subscriber. Events over the budget
/// are dropped and counted like those over the queue's length.
pub const MAX_QUEUED_VALUE_BYTES: usize = 4 * 1024 * 1024;

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
    events: mpsc::Receiver<Delivery>,
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

    /// Takes the next queued event, if any, without waiting.
    pub fn try_next(&mut self) -> Option<Delivery> {
        let delivery = self.events.try_recv().ok()?;
        self.released(&delivery);
        Some(delivery)
    }

    /// Waits for the next queued event; `None` once the hub is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        let delivery = self.events.recv().await?;
        self.released(&delivery);
        Some(delivery)
    }

    fn released(&self, delivery: &Delivery) {
        let bytes = delivery.published.event.value.as_ref().map_or(0, |value| value.len());
        self.slot.queued_value_bytes.fetch_sub(bytes, Ordering::AcqRel);
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
    /// Value bytes of the events queued now (see [`MAX_QUEUED_VALUE_BYTES`]).
    queued_value_bytes: AtomicUsize,
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
            queued_value_bytes: AtomicUsize::new(0),
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
            let value_bytes = published.event.value.as_ref().map_or(0, |value| value.len());
            let queued = slot.queued_value_bytes.load(Ordering::Acquire);
            let permit = match queued + value_bytes <= MAX_QUEUED_VALUE_BYTES {
                true => slot.sender.try_reserve().ok(),
                false => None,
            };
            match permit {
                Some(permit) => {
                    slot.queued_value_bytes.fetch_add(value_bytes, Ordering::AcqRel);
                    permit.send(Delivery {
                        missed_before: slot.missed.swap(0, Ordering::AcqRel),
                        published: published.clone(),
                    });
                }
                None => {
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Everyone;

    impl Visibility for Everyone {
        fn may_see(&self, _: &Published) -> bool {
            true
        }
    }

    fn subscribe(hub: &Arc<EventHub>, queue: usize) -> Subscription {
        let filter = EventFilter { ns: None, matcher: None, kinds: None };
        hub.subscribe(filter, Box::new(Everyone), true, queue)
    }

    #[test]
    fn a_full_queue_drops_and_counts_at_the_gap() {
        let hub = EventHub::new();
        let mut sub = subscribe(&hub, 2);
        for i in 0..5 {
            hub.key_event(EventKind::Set, "ns", &format!("k{i}"), None);
        }
        assert_eq!(sub.try_next().map(|d| d.missed_before), Some(0));
        assert_eq!(sub.take_missed_if_drained(), 0, "an event is still queued");
        hub.key_event(EventKind::Set, "ns", "k5", None);
        let second = sub.try_next().expect("k1");
        assert_eq!(second.published.event.key.as_deref(), Some("k1"));
        let third = sub.try_next().expect("k5");
        assert_eq!((third.missed_before, third.published.event.seq), (3, 6), "k2..k4 dropped");
        assert_eq!(sub.take_missed_if_drained(), 0);
    }

    #[test]
    fn queued_values_are_bounded_in_bytes() {
        let hub = EventHub::new();
        let mut sub = subscribe(&hub, 1000);
        let value = vec![0u8; cachemgr_proto::MAX_EVENT_VALUE_BYTES];
        for _ in 0..100 {
            hub.key_event(EventKind::Set, "ns", "k", Some(&value));
        }
        let fits = MAX_QUEUED_VALUE_BYTES / value.len();
        let mut delivered = 0;
        while sub.try_next().is_some() {
            delivered += 1;
        }
        assert_eq!(delivered, fits);
        assert_eq!(sub.take_missed_if_drained(), (100 - fits) as u64);
        // Taking them gave the budget back.
        hub.key_event(EventKind::Set, "ns", "k", Some(&value));
        assert!(sub.try_next().is_some());
        drop(sub);
        assert!(!hub.active(), "a dropped subscription leaves the hub");
    }
}
