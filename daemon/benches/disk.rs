//! The disk layer's own throughput, sealed against unsealed, so the cost of AES-256-GCM is
//! measured rather than guessed (target: sealed ≥ 0.7 × unsealed), plus the cost of sealing
//! one value with and without LZ4 (the reason LZ4 is tried before sealing).
//!
//! Run: `cargo bench -p cachemgrd --bench disk`. Figures go to docs/benchmarks.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aes_gcm::{Aes256Gcm, KeyInit};
use cachemgrd::config::Config;
use cachemgrd::keys::MasterKey;
use cachemgrd::store::disk::record::{self, Sealer};
use cachemgrd::store::disk::{DiskLayer, DiskOptions};
use cachemgrd::store::memory::WriteCondition;
use cachemgrd::store::Store;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Writers in flight, like `cachectl bench -c 64`: the writer group-commits what they queue.
const WRITERS: u64 = 64;
const VALUE_BYTES: usize = 1024;

fn store(dir: &std::path::Path, plain: bool, tier: &str) -> Arc<Store> {
    let options = DiskOptions {
        path: dir.join("bench.redb"),
        cache_bytes: 64 << 20,
        batch_window: Duration::from_millis(5),
        wipe: true,
        plain,
    };
    let (disk, _) = match DiskLayer::open(options, Arc::new(MasterKey::from_bytes([7; 32]))) {
        Ok(opened) => opened,
        Err(err) => panic!("cannot open the bench database: {err}"),
    };
    let toml = format!("[namespaces.b]\ntier = \"{tier}\"\ndurability = \"batched\"\n");
    let path = dir.join("bench.toml");
    std::fs::write(&path, toml).unwrap_or_else(|e| panic!("{e}"));
    let config = Config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
    Store::with_disk(Arc::new(config), Some(disk))
}

/// A value that compresses about as well as typical JSON (half repeated text).
fn value(i: u64) -> Vec<u8> {
    let mut v = format!("{{\"id\":{i},\"name\":\"user-{i}\",\"payload\":\"").into_bytes();
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while v.len() < VALUE_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(if x.is_multiple_of(2) { b'a' + (x % 26) as u8 } else { b'x' });
    }
    v
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn set_throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("disk_set_1KiB_batched");
    group.throughput(Throughput::Elements(1));
    for (label, plain) in [("sealed", false), ("unsealed", true)] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store(dir.path(), plain, "disk");
        let values: Vec<Vec<u8>> = (0..4096).map(value).collect();
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                rt.block_on(async {
                    let per = iters.div_ceil(WRITERS);
                    let writers = (0..WRITERS).map(|w| {
                        let (store, values) = (&store, &values);
                        async move {
                            for i in 0..per {
                                let n = w * per + i;
                                let v = &values[(n % 4096) as usize];
                                let key = format!("key:{n}");
                                let r = store.set("b", &key, v, None, WriteCondition::Always).await;
                                assert!(r.is_ok());
                            }
                        }
                    });
                    futures_util::future::join_all(writers).await;
                });
                start.elapsed()
            });
        });
    }
    group.finish();
}

fn get_throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("disk_get_1KiB");
    group.throughput(Throughput::Elements(1));
    for (label, plain, tier) in [
        ("sealed", false, "disk"),
        ("unsealed", true, "disk"),
        ("memory_hit", false, "memory+disk"),
        ("memory_only", false, "memory"),
    ] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store(dir.path(), plain, tier);
        rt.block_on(async {
            for n in 0..10_000u64 {
                let (key, value) = (format!("key:{n}"), value(n));
                let r = store.set("b", &key, &value, None, WriteCondition::Always).await;
                assert!(r.is_ok());
            }
        });
        let mut n = 0u64;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                n = (n + 7919) % 10_000;
                store.get("b", &format!("key:{n}")).ok().flatten()
            });
        });
    }
    group.finish();
}

/// Sealing one value as the disk layer does (value and key name, see `record::seal_named`).
fn seal_one(c: &mut Criterion) {
    let cipher = Aes256Gcm::new_from_slice(&[1; 32]).unwrap_or_else(|_| unreachable!());
    let sealer = Sealer::Aes { cipher: &cipher, key_id: 1 };
    let text = value(1);
    let mut random = vec![0u8; VALUE_BYTES];
    record::fill_random(&mut random);
    let mut group = c.benchmark_group("seal_1KiB");
    group.throughput(Throughput::Bytes(VALUE_BYTES as u64));
    group.bench_function("text_lz4_then_aes", |b| {
        b.iter(|| record::seal_named(&sealer, "b", "k", &text, 0))
    });
    group.bench_function("random_lz4_gives_up_then_aes", |b| {
        b.iter(|| record::seal_named(&sealer, "b", "k", &random, 0))
    });
    group.bench_function("text_plain_copy", |b| {
        b.iter(|| record::seal_named(&Sealer::Plain, "b", "k", &text, 0))
    });
    group.bench_function("text_lz4_only", |b| b.iter(|| lz4_flex::compress_prepend_size(&text)));
    let packed = lz4_flex::compress_prepend_size(&text).len();
    println!("lz4 stores the 1 KiB text value in {packed} bytes");
    group.finish();
}

criterion_group!(benches, set_throughput, get_throughput, seal_one);
criterion_main!(benches);
