//! What checking and unlocking app caches costs, so backup verification can be planned on
//! figures: `verify` of a 50 MB standard `.enc` file (incompressible, flag 0) against raw
//! AES-256-GCM decryption of the same 50 MB (target: verify ≥ 0.5 × raw), and one unlock of
//! keyring-stored keys (PBKDF2-HMAC-SHA256 with 1,000,000 iterations dominates).
//!
//! Run: `cargo bench -p cachemgrd --bench encfile -- --sample-size 10`. Figures go to
//! docs/benchmarks.md.

use aes_gcm::aead::{Aead, AeadInPlace};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use cachemgrd::apps::encfile::{
    encrypt, generate_passphrase, parse, verify, AppKeyPair, EncryptorType, StoredAppKeys,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const FILE_BYTES: usize = 50 * 1000 * 1000;

/// Incompressible bytes (xorshift), so the writer stores them with flag 0.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn verify_vs_raw(c: &mut Criterion) {
    let pair = AppKeyPair::generate(EncryptorType::Standard).unwrap_or_else(|e| panic!("{e}"));
    let plain = noise(FILE_BYTES);
    let file = encrypt(&plain, pair.public()).unwrap_or_else(|e| panic!("{e}"));
    drop(plain);
    let parsed = parse(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.ciphertext.len(), FILE_BYTES, "the bench file must be flag 0");

    // The raw baseline: the same amount of AES-256-GCM under a fixed key.
    let cipher = Aes256Gcm::new_from_slice(&[7; 32]).unwrap_or_else(|_| unreachable!());
    let nonce = Nonce::from_slice(&[1; 12]);
    let mut raw = noise(FILE_BYTES);
    let tag =
        cipher.encrypt_in_place_detached(nonce, b"", &mut raw).unwrap_or_else(|e| panic!("{e}"));
    let mut sealed = raw.clone();
    sealed.extend_from_slice(&tag);

    let mut group = c.benchmark_group("encfile_50MB");
    group.throughput(Throughput::Bytes(FILE_BYTES as u64));
    group.bench_function("verify_standard_flag0", |b| {
        b.iter(|| verify(&file, pair.private()).unwrap_or_else(|e| panic!("{e}")))
    });
    group.bench_function("raw_aes_gcm_decrypt_alloc", |b| {
        b.iter(|| cipher.decrypt(nonce, sealed.as_slice()).unwrap_or_else(|e| panic!("{e}")))
    });
    group.bench_function("raw_aes_gcm_decrypt_in_place", |b| {
        b.iter_batched_ref(
            || raw.clone(),
            |buffer| {
                cipher
                    .decrypt_in_place_detached(nonce, b"", buffer, Tag::from_slice(&tag))
                    .unwrap_or_else(|e| panic!("{e}"))
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn unlock(c: &mut Criterion) {
    let pair = AppKeyPair::generate(EncryptorType::Standard).unwrap_or_else(|e| panic!("{e}"));
    let passphrase = generate_passphrase().unwrap_or_else(|e| panic!("{e}"));
    let stored = StoredAppKeys::seal(&pair, &passphrase).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("encfile_keys");
    group.sample_size(10);
    group.bench_function("unlock_pbkdf2_1M_standard", |b| {
        b.iter(|| stored.unlock().unwrap_or_else(|e| panic!("{e}")))
    });
    group.finish();
}

criterion_group!(benches, verify_vs_raw, unlock);
criterion_main!(benches);
