//! Checking a file's GCM tag without decrypting it, for `verify` of uncompressed files.
//!
//! A backup check only needs to know the tag is right. `aes-gcm` offers that only as part of
//! decrypting, which for a 50 MB file means a 50 MB copy, the keystream pass, and wiping the
//! plaintext afterwards. The tag itself is GHASH over the ciphertext (no associated data,
//! then the length block) masked with AES(K, J0) — NIST SP 800-38D, section 7.2, exactly as
//! `aes-gcm` 0.10 computes it from the same `aes` and `ghash` crates — so this reads the
//! file once, in place, and holds no plaintext. Tests check it agrees with `aes-gcm` on
//! random keys, nonces and messages, and on every tampered byte.

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes256;
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::format::{NONCE_LEN, TAG_LEN};

/// The longest GCM message (2^39 − 256 bits); `aes-gcm` refuses longer ones too.
const MAX_CIPHERTEXT: u64 = (1 << 36) - 32;

/// Whether `tag` is the GCM tag of `ciphertext` under `key` and `nonce` (no associated
/// data), compared in constant time.
pub(super) fn tag_matches(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    if ciphertext.len() as u64 > MAX_CIPHERTEXT {
        return false;
    }
    let cipher = Aes256::new(GenericArray::from_slice(key));
    // H = AES(K, 0^128), the GHASH key.
    let mut hash_key = Zeroizing::new([0u8; 16]);
    cipher.encrypt_block(GenericArray::from_mut_slice(hash_key.as_mut_slice()));
    let mut ghash = GHash::new(GenericArray::from_slice(hash_key.as_slice()));
    ghash.update_padded(ciphertext);
    let mut lengths = [0u8; 16];
    lengths[8..].copy_from_slice(&(ciphertext.len() as u64 * 8).to_be_bytes());
    ghash.update(&[lengths.into()]);
    let mut expected = Zeroizing::new([0u8; TAG_LEN]);
    expected.copy_from_slice(&ghash.finalize());
    // Mask with AES(K, J0), J0 = nonce ‖ 0x00000001.
    let mask = counter_block(&cipher, nonce, 1);
    for (byte, m) in expected.iter_mut().zip(mask.iter()) {
        *byte ^= m;
    }
    expected.ct_eq(tag).into()
}

/// The first (up to 16) plaintext bytes: the ciphertext's first block XOR AES(K, nonce ‖ 2).
/// Only meaningful once the tag has matched.
pub(super) fn first_block(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
) -> Zeroizing<Vec<u8>> {
    let cipher = Aes256::new(GenericArray::from_slice(key));
    let keystream = counter_block(&cipher, nonce, 2);
    let head = ciphertext.iter().take(16).zip(keystream.iter()).map(|(c, k)| c ^ k).collect();
    Zeroizing::new(head)
}

/// AES(K, nonce ‖ counter), wiped on drop.
fn counter_block(cipher: &Aes256, nonce: &[u8; NONCE_LEN], counter: u32) -> Zeroizing<[u8; 16]> {
    let mut block = Zeroizing::new([0u8; 16]);
    block[..NONCE_LEN].copy_from_slice(nonce);
    block[NONCE_LEN..].copy_from_slice(&counter.to_be_bytes());
    cipher.encrypt_block(GenericArray::from_mut_slice(block.as_mut_slice()));
    block
}
