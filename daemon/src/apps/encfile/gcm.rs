//! Checking a file's GCM tag without decrypting it, in one pass or piece by piece.
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
    let mut hasher = TagHasher::new(key);
    hasher.update(ciphertext);
    hasher.matches(nonce, tag)
}

/// GHASH over a ciphertext fed in pieces of any size, for checking a file's tag while it is
/// still being copied (see `TagStream`). Whole blocks go to GHASH as they come; a partial
/// one waits for the next piece, so the result equals one pass over the whole ciphertext.
pub(super) struct TagHasher {
    cipher: Aes256,
    ghash: GHash,
    pending: Zeroizing<[u8; 16]>,
    pending_len: usize,
    len: u64,
}

impl TagHasher {
    /// A hasher for ciphertext under `key`.
    pub(super) fn new(key: &[u8; 32]) -> TagHasher {
        let cipher = Aes256::new(GenericArray::from_slice(key));
        // H = AES(K, 0^128), the GHASH key.
        let mut hash_key = Zeroizing::new([0u8; 16]);
        cipher.encrypt_block(GenericArray::from_mut_slice(hash_key.as_mut_slice()));
        let ghash = GHash::new(GenericArray::from_slice(hash_key.as_slice()));
        TagHasher { cipher, ghash, pending: Zeroizing::new([0u8; 16]), pending_len: 0, len: 0 }
    }

    /// Adds the next piece of ciphertext.
    pub(super) fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.pending_len > 0 {
            let take = (16 - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < 16 {
                return;
            }
            self.ghash.update_padded(self.pending.as_slice());
            self.pending_len = 0;
        }
        let whole = data.len() - data.len() % 16;
        // A multiple of 16 bytes: `update_padded` adds no padding.
        self.ghash.update_padded(&data[..whole]);
        let rest = &data[whole..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// Bytes fed so far.
    pub(super) fn fed(&self) -> u64 {
        self.len
    }

    /// Whether `tag` is the GCM tag of everything fed, under `nonce`, in constant time.
    pub(super) fn matches(mut self, nonce: &[u8; NONCE_LEN], tag: &[u8; TAG_LEN]) -> bool {
        if self.len > MAX_CIPHERTEXT {
            return false;
        }
        self.ghash.update_padded(&self.pending[..self.pending_len]);
        let mut lengths = [0u8; 16];
        lengths[8..].copy_from_slice(&(self.len * 8).to_be_bytes());
        self.ghash.update(&[lengths.into()]);
        let mut expected = Zeroizing::new([0u8; TAG_LEN]);
        expected.copy_from_slice(&self.ghash.finalize());
        // Mask with AES(K, J0), J0 = nonce ‖ 0x00000001.
        let mask = counter_block(&self.cipher, nonce, 1);
        for (byte, m) in expected.iter_mut().zip(mask.iter()) {
            *byte ^= m;
        }
        expected.ct_eq(tag).into()
    }
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
