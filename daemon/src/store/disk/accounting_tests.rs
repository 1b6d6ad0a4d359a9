//! The disk layer's byte accounting stays exact under any mix of writes, deletes, expiries,
//! sweeps, re-expiries and clears, for every policy, and the limit always holds.

use std::sync::Arc;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::apply::{access_def, bytes_key, charge, data_def, order_def, ACCOUNTING};
use super::record::{self, Sealer};
use super::{access_table, data_table, order_table, DiskLayer, DiskOptions, Op, Outcome};
use crate::keys::MasterKey;
use crate::store::memory::{EvictionPolicy, WriteCondition};

const LIMIT: u64 = 6_000;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Total, per-key charges and order entries as stored, checked against each other.
fn check(disk: &DiskLayer, ns: &str, step: usize) -> u64 {
    let db = disk.cell.get().unwrap_or_else(|e| panic!("{e}"));
    let txn = db.begin_read().unwrap_or_else(|e| panic!("{e}"));
    let Some(state) = disk.lookup(ns) else { return 0 };
    let ns = state.tag();
    let data_name = data_table(ns);
    let Ok(data) = txn.open_table(data_def(&data_name)) else { return 0 };
    let mut sum = 0;
    for item in data.iter().unwrap_or_else(|e| panic!("{e}")) {
        let (_, value) = item.unwrap_or_else(|e| panic!("{e}"));
        sum += charge(value.value());
    }
    let accounting = txn.open_table(ACCOUNTING).unwrap_or_else(|e| panic!("{e}"));
    let total = accounting
        .get(bytes_key(ns).as_str())
        .unwrap_or_else(|e| panic!("{e}"))
        .map_or(0, |g| g.value());
    assert_eq!(total, sum, "step {step}: the total is the sum of the values' charges");
    assert!(total <= LIMIT, "step {step}: {total} bytes over the limit {LIMIT}");
    let entries = data.len().unwrap_or_else(|e| panic!("{e}"));
    let (order_name, access_name) = (order_table(ns), access_table(ns));
    let order = txn.open_table(order_def(&order_name)).map_or(0, |t| t.len().unwrap_or(0));
    let access = txn.open_table(access_def(&access_name)).map_or(0, |t| t.len().unwrap_or(0));
    assert_eq!((order, access), (entries, entries), "step {step}: one order entry per value");
    total
}

fn run(policy: EvictionPolicy, seed: u64) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let options = DiskOptions {
        path: dir.path().join("cache.redb"),
        cache_bytes: 1 << 20,
        batch_window: Duration::from_millis(1),
        wipe: false,
        plain: false,
    };
    let master = Arc::new(MasterKey::from_bytes([7; 32]));
    let (disk, _) = DiskLayer::open(options, master).unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng(seed);
    let mut highest = 0;
    rt.block_on(async {
        let state = disk.namespace("n").await.unwrap_or_else(|e| panic!("{e}"));
        let _ = state.set_limits(LIMIT, policy);
        for step in 0..600 {
            let key = format!("k{}", rng.below(40));
            let now = super::unix_now_ms();
            let op = match rng.below(10) {
                0..=5 => {
                    let len = rng.below(900) as usize;
                    let value: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
                    let expires = if rng.below(4) == 0 { now + rng.below(3) } else { 0 };
                    let sealed = {
                        let keys = state.keys.read().unwrap_or_else(|e| e.into_inner());
                        let (key_id, cipher) = keys.current().unwrap_or_else(|| panic!("a key"));
                        record::seal_named(
                            &Sealer::Aes { cipher, key_id },
                            "n",
                            &key,
                            &value,
                            expires,
                        )
                    };
                    let condition = match rng.below(3) {
                        0 => WriteCondition::IfAbsent,
                        1 => WriteCondition::IfPresent,
                        _ => WriteCondition::Always,
                    };
                    Op::Put { ns: state.clone(), key, record: sealed, condition, now }
                }
                6 => Op::Delete { ns: "n".into(), keys: vec![key], now },
                7 => Op::Expire { ns: state.clone(), keys: vec![key], expires_at: now + 5, now },
                8 => Op::Sweep { ns: "n".into(), now: now + rng.below(10), limit: 8 },
                _ if rng.below(10) == 0 => Op::Clear { ns: "n".into() },
                _ => Op::Touch { ns: state.clone(), keys: vec![key] },
            };
            let outcome = disk.submit(op, rng.below(2) == 0).await;
            assert!(outcome.is_ok(), "step {step}: {outcome:?}");
            if let Ok(Outcome::Cleared { .. }) = outcome {
                assert_eq!(disk.size_of("n").ok(), Some((0, 0)), "step {step}");
            }
            highest = highest.max(check(&disk, "n", step));
        }
        assert!(highest > LIMIT / 2, "the limit was reached and held ({highest})");
        assert!(
            state.counters.evictions.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "values were evicted"
        );
    });
    disk.close(Duration::from_secs(5));
}

#[test]
fn byte_totals_stay_exact_and_under_the_limit_for_every_policy() {
    for (policy, seed) in
        [(EvictionPolicy::Lru, 1), (EvictionPolicy::Lfu, 2), (EvictionPolicy::Fifo, 3)]
    {
        run(policy, seed);
    }
}

#[test]
fn fifo_evicts_the_oldest_write_and_lru_spares_what_is_read() {
    for policy in [EvictionPolicy::Fifo, EvictionPolicy::Lru] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let options = DiskOptions {
            path: dir.path().join("cache.redb"),
            cache_bytes: 1 << 20,
            batch_window: Duration::from_millis(1),
            wipe: false,
            plain: false,
        };
        let master = Arc::new(MasterKey::from_bytes([7; 32]));
        let (disk, _) = DiskLayer::open(options, master).unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let state = disk.namespace("n").await.unwrap_or_else(|e| panic!("{e}"));
            let _ = state.set_limits(LIMIT, policy);
            let put = |key: &str| {
                let keys = state.keys.read().unwrap_or_else(|e| e.into_inner());
                let (key_id, cipher) = keys.current().unwrap_or_else(|| panic!("a key"));
                let value = vec![b'x'; 1000];
                // Incompressible enough: vary every byte.
                let value: Vec<u8> =
                    value.iter().enumerate().map(|(i, _)| (i * 7 + key.len()) as u8).collect();
                let sealed =
                    record::seal_named(&Sealer::Aes { cipher, key_id }, "n", key, &value, 0);
                Op::Put {
                    ns: state.clone(),
                    key: key.to_owned(),
                    record: sealed,
                    condition: WriteCondition::Always,
                    now: 0,
                }
            };
            disk.submit(put("first"), false).await.unwrap_or_else(|e| panic!("{e}"));
            for i in 0..20 {
                disk.submit(put(&format!("k{i:02}")), false)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let touch = Op::Touch { ns: state.clone(), keys: vec!["first".into()] };
                disk.submit(touch, false).await.unwrap_or_else(|e| panic!("{e}"));
            }
            let kept = disk.header("n", "first", 0).unwrap_or_else(|e| panic!("{e}")).is_some();
            assert_eq!(kept, policy == EvictionPolicy::Lru, "{policy}: `first` kept = {kept}");
            let newest = disk.header("n", "k19", 0).unwrap_or_else(|e| panic!("{e}"));
            assert!(newest.is_some(), "{policy}: the newest write stays");
            let oldest = disk.header("n", "k00", 0).unwrap_or_else(|e| panic!("{e}"));
            assert!(oldest.is_none(), "{policy}: an old write went");
        });
        disk.close(Duration::from_secs(5));
    }
}
