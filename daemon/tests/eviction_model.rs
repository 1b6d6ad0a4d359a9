//! Property tests: each eviction policy against a plain, obviously-correct model.
//!
//! The model keeps every entry with its access counters and, when over budget, evicts the
//! entry that the policy's definition names (scanning everything). The cache must hold
//! exactly the model's keys after every operation and return the same values.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use cachemgrd::store::memory::{
    CacheLimits, EvictionPolicy, MemoryCache, WriteCondition, ENTRY_OVERHEAD,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, u16),
    Get(u8),
    Delete(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..24, 0u16..300).prop_map(|(k, len)| Op::Set(k, len)),
        4 => (0u8..24).prop_map(Op::Get),
        1 => (0u8..24).prop_map(Op::Delete),
    ]
}

#[derive(Debug, Clone)]
struct ModelEntry {
    value: Vec<u8>,
    freq: u64,
    last_access: u64,
    last_write: u64,
}

struct Model {
    policy: EvictionPolicy,
    max_bytes: u64,
    entries: BTreeMap<String, ModelEntry>,
    tick: u64,
}

fn cost(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64 + ENTRY_OVERHEAD
}

impl Model {
    fn bytes(&self) -> u64 {
        self.entries.iter().map(|(k, e)| cost(k, &e.value)).sum()
    }

    fn rank(&self, entry: &ModelEntry) -> (u64, u64) {
        match self.policy {
            EvictionPolicy::Lru => (0, entry.last_access),
            EvictionPolicy::Fifo => (0, entry.last_write),
            EvictionPolicy::Lfu => (entry.freq, entry.last_access),
        }
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> bool {
        if cost(&key, &value) > self.max_bytes {
            return false;
        }
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.entry(key.clone()).or_insert(ModelEntry {
            value: Vec::new(),
            freq: 0,
            last_access: tick,
            last_write: tick,
        });
        entry.value = value;
        entry.freq += 1;
        entry.last_access = tick;
        entry.last_write = tick;
        while self.bytes() > self.max_bytes {
            let victim = self
                .entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| self.rank(e))
                .map(|(k, _)| k.clone());
            match victim {
                Some(victim) => self.entries.remove(&victim),
                None => break,
            };
        }
        true
    }

    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.tick += 1;
        let tick = self.tick;
        let policy = self.policy;
        let entry = self.entries.get_mut(key)?;
        match policy {
            EvictionPolicy::Lru => entry.last_access = tick,
            EvictionPolicy::Lfu => {
                entry.freq += 1;
                entry.last_access = tick;
            }
            EvictionPolicy::Fifo => {}
        }
        Some(entry.value.clone())
    }
}

fn check_policy(policy: EvictionPolicy, ops: &[Op], max_bytes: u64) -> Result<(), TestCaseError> {
    let limits = CacheLimits { max_bytes, default_ttl_ms: None, eviction: policy };
    let mut cache = MemoryCache::new(limits, Arc::new(AtomicU64::new(0)));
    let mut model = Model { policy, max_bytes, entries: BTreeMap::new(), tick: 0 };
    let now = 1;
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Set(k, len) => {
                let key = format!("key{k}");
                let value = vec![*k; *len as usize];
                let expected = model.set(key.clone(), value.clone());
                let got = cache.insert(&key, &value, 0, WriteCondition::Always, now);
                prop_assert_eq!(got.is_ok(), expected, "step {} {:?}", step, op);
            }
            Op::Get(k) => {
                let key = format!("key{k}");
                let expected = model.get(&key);
                let got = cache.get(&key, now).map(<[u8]>::to_vec);
                prop_assert_eq!(got, expected, "step {} {:?}", step, op);
            }
            Op::Delete(k) => {
                let key = format!("key{k}");
                let expected = model.entries.remove(&key).is_some();
                prop_assert_eq!(cache.remove(&key, now), expected, "step {} {:?}", step, op);
            }
        }
        prop_assert_eq!(cache.len(), model.entries.len(), "entries after step {} {:?}", step, op);
        prop_assert_eq!(cache.bytes_used(), model.bytes(), "bytes after step {}", step);
        for key in model.entries.keys() {
            prop_assert!(cache.contains(key, now), "{} missing after step {} {:?}", key, step, op);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn lru_matches_model(ops in prop::collection::vec(op(), 1..200), max in 400u64..2000) {
        check_policy(EvictionPolicy::Lru, &ops, max)?;
    }

    #[test]
    fn lfu_matches_model(ops in prop::collection::vec(op(), 1..200), max in 400u64..2000) {
        check_policy(EvictionPolicy::Lfu, &ops, max)?;
    }

    #[test]
    fn fifo_matches_model(ops in prop::collection::vec(op(), 1..200), max in 400u64..2000) {
        check_policy(EvictionPolicy::Fifo, &ops, max)?;
    }
}

#[test]
fn ttl_expires_lazily_and_by_sweep() {
    let limits =
        CacheLimits { max_bytes: 1 << 20, default_ttl_ms: None, eviction: EvictionPolicy::Lru };
    let mut cache = MemoryCache::new(limits, Arc::new(AtomicU64::new(0)));
    cache.insert("a", b"1", 100, WriteCondition::Always, 1).expect("fits");
    cache.insert("b", b"2", 200, WriteCondition::Always, 1).expect("fits");
    cache.insert("c", b"3", 0, WriteCondition::Always, 1).expect("fits");
    assert_eq!(cache.ttl("a", 50), Some(Some(50)));
    assert_eq!(cache.ttl("c", 50), Some(None));
    assert_eq!(cache.next_deadline(), Some(100));
    assert!(cache.get("a", 100).is_none(), "deadline reached: lazily expired");
    assert!(!cache.expire_due(250, 10), "nothing more due");
    assert_eq!(cache.len(), 1);
    let stats = cache.stats();
    assert_eq!((stats.expired, stats.misses, stats.entries), (2, 1, 1));
}

#[test]
fn policy_switch_to_lfu_uses_the_counts_gathered_under_lru() {
    let limits =
        CacheLimits { max_bytes: 1 << 20, default_ttl_ms: None, eviction: EvictionPolicy::Lru };
    let mut cache = MemoryCache::new(limits, Arc::new(AtomicU64::new(0)));
    for key in ["a", "b", "c"] {
        cache.insert(key, b"v", 0, WriteCondition::Always, 1).expect("fits");
    }
    for key in ["a", "a", "a", "b", "c"] {
        cache.get(key, 1);
    }
    // LRU would now evict `a` (read least recently); LFU must evict `b` (fewest reads, older
    // than `c`), which it can only know if the counts were kept under LRU.
    cache.set_limits(CacheLimits { eviction: EvictionPolicy::Lfu, ..limits }, 1);
    let two_entries = 2 * (("a".len() + 1) as u64 + ENTRY_OVERHEAD);
    cache.set_limits(CacheLimits { max_bytes: two_entries, ..cache.limits() }, 1);
    assert!(cache.contains("a", 1), "the most read key survives");
    assert!(!cache.contains("b", 1), "fewest reads, oldest: evicted");
    assert!(cache.contains("c", 1));
}

#[test]
fn expiry_queue_stays_bounded_while_a_hot_key_is_rewritten() {
    let limits =
        CacheLimits { max_bytes: 1 << 20, default_ttl_ms: None, eviction: EvictionPolicy::Lru };
    let mut cache = MemoryCache::new(limits, Arc::new(AtomicU64::new(0)));
    for i in 0..200_000u64 {
        cache.insert("hot", b"v", 3_600_000 + i, WriteCondition::Always, 1).expect("fits");
    }
    assert!(cache.expiry_queue_len() <= 2 + 1024 + 1, "{}", cache.expiry_queue_len());
    assert_eq!(cache.ttl("hot", 1), Some(Some(3_600_000 + 199_999 - 1)));
}

#[test]
fn evicting_an_entry_with_time_left_is_counted() {
    let one = ("k0".len() + 1) as u64 + ENTRY_OVERHEAD;
    let limits =
        CacheLimits { max_bytes: 2 * one, default_ttl_ms: None, eviction: EvictionPolicy::Fifo };
    let mut cache = MemoryCache::new(limits, Arc::new(AtomicU64::new(0)));
    cache.insert("k0", b"v", 1_000, WriteCondition::Always, 1).expect("fits");
    cache.insert("k1", b"v", 0, WriteCondition::Always, 1).expect("fits");
    cache.insert("k2", b"v", 0, WriteCondition::Always, 1).expect("fits");
    cache.insert("k3", b"v", 0, WriteCondition::Always, 1).expect("fits");
    let stats = cache.stats();
    assert_eq!((stats.evictions, stats.evicted_before_expiry), (2, 1));
}
