//! What Redis sees: hashed names and sealed values, never a key name or value in the clear.
//!
//! Every daemon sharing a Redis must run with the same master key: the names and value keys
//! below are derived from it, so another key cannot read (or even find) the values.
//!
//! - A namespace becomes a tag: the first 12 bytes of HMAC-SHA256(names key, "ns" ‖ name),
//!   in hex. Its keys live under `<prefix>:{<tag>}:` (the braces are a Redis Cluster hash tag,
//!   so a namespace stays on one node), and each key name is the first 16 bytes of
//!   HMAC-SHA256(names key, tag ‖ key), in hex: a keyed hash, so names cannot be guessed by
//!   hashing candidates.
//! - A value is sealed with the disk layer's record format (AES-256-GCM, LZ4 when it helps)
//!   under a per-namespace key; the plaintext carries the key name too (pattern operations
//!   need it), and the associated data binds the record to its Redis key, so a value moved
//!   to another key does not open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aes_gcm::{Aes256Gcm, KeyInit};
use sha2::{Digest, Sha256};

use crate::keys::{hex, keyed_hash, DerivedKey, MasterKey};
use crate::store::disk::record::{self, RecordError, Sealer};

const SALT: &[u8] = b"cachemgr/redis/v1";

/// One namespace's names and value key.
pub struct NamespaceSeal {
    /// Hex tag standing for the namespace in Redis.
    pub tag: String,
    /// `<prefix>:{<tag>}:`, the start of every key of the namespace.
    pub key_prefix: String,
    cipher: Aes256Gcm,
    key_id: u32,
}

impl std::fmt::Debug for NamespaceSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceSeal").field("tag", &self.tag).finish_non_exhaustive()
    }
}

/// Derives and caches the per-namespace seals.
pub struct Sealing {
    prefix: String,
    names: DerivedKey,
    master: Arc<MasterKey>,
    channel_cipher: Aes256Gcm,
    channel_key_id: u32,
    namespaces: Mutex<HashMap<String, Arc<NamespaceSeal>>>,
}

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealing").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn cipher_of(key: &DerivedKey) -> Aes256Gcm {
    match Aes256Gcm::new_from_slice(key.as_bytes()) {
        Ok(cipher) => cipher,
        Err(_) => unreachable!("a derived key is 32 bytes"),
    }
}

/// A short public id of a key, so a daemon with another master key reports "unknown key"
/// instead of a bare authentication failure.
fn key_id_of(key: &DerivedKey) -> u32 {
    let digest = Sha256::new().chain_update(b"key-id").chain_update(key.as_bytes()).finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

impl Sealing {
    /// Seals under keys derived from `master`, with names under `prefix`.
    pub fn new(master: Arc<MasterKey>, prefix: &str) -> Sealing {
        let channel_key = master.derive(SALT, b"invalidations");
        Sealing {
            prefix: prefix.to_owned(),
            names: master.derive(SALT, b"names"),
            channel_cipher: cipher_of(&channel_key),
            channel_key_id: key_id_of(&channel_key),
            master,
            namespaces: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        keyed_hash(self.names.as_bytes(), parts)
    }

    /// The namespace's seal (derived once, then cached).
    pub fn namespace(&self, ns: &str) -> Arc<NamespaceSeal> {
        let mut map = self.namespaces.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(seal) = map.get(ns) {
            return seal.clone();
        }
        let tag = hex(&self.mac(&[b"ns", ns.as_bytes()])[..12]);
        let mut info = b"value:".to_vec();
        info.extend_from_slice(ns.as_bytes());
        let value_key = self.master.derive(SALT, &info);
        let seal = Arc::new(NamespaceSeal {
            key_prefix: format!("{}:{{{tag}}}:", self.prefix),
            tag,
            cipher: cipher_of(&value_key),
            key_id: key_id_of(&value_key),
        });
        map.insert(ns.to_owned(), seal.clone());
        seal
    }

    /// The Redis key holding `key` of the namespace.
    pub fn redis_key(&self, seal: &NamespaceSeal, key: &str) -> String {
        let digest = self.mac(&[seal.tag.as_bytes(), key.as_bytes()]);
        format!("{}{}", seal.key_prefix, hex(&digest[..16]))
    }

    /// The key the write probe names (`SET … XX`, so never created); outside every
    /// namespace's `<prefix>:{<tag>}:` so no scan of a namespace meets it.
    pub fn probe_key(&self) -> String {
        format!("{}:write-probe", self.prefix)
    }

    /// The pub/sub channel of invalidations.
    pub fn channel(&self) -> String {
        format!("{}:invalidations", self.prefix)
    }

    /// Seals an invalidation message (bound to the channel name).
    pub fn seal_message(&self, body: &[u8]) -> Vec<u8> {
        let sealer = Sealer::Aes { cipher: &self.channel_cipher, key_id: self.channel_key_id };
        record::seal(&sealer, "", &self.channel(), body, 0)
    }

    /// Opens an invalidation message.
    pub fn open_message(&self, sealed: &[u8]) -> Result<Vec<u8>, RecordError> {
        let id = self.channel_key_id;
        record::open(sealed, "", &self.channel(), false, |got| {
            (got == id).then_some(&self.channel_cipher)
        })
    }
}

impl NamespaceSeal {
    /// Seals `value` of `key` for the Redis key `redis_key`.
    pub fn seal(&self, redis_key: &str, key: &str, value: &[u8]) -> Vec<u8> {
        let mut plaintext = Vec::with_capacity(4 + key.len() + value.len());
        plaintext.extend_from_slice(&(key.len() as u32).to_be_bytes());
        plaintext.extend_from_slice(key.as_bytes());
        plaintext.extend_from_slice(value);
        let sealer = Sealer::Aes { cipher: &self.cipher, key_id: self.key_id };
        record::seal(&sealer, &self.tag, redis_key, &plaintext, 0)
    }

    /// Opens a record read from `redis_key`: the key name and the value.
    pub fn open(&self, redis_key: &str, sealed: &[u8]) -> Result<(String, Vec<u8>), RecordError> {
        let id = self.key_id;
        let mut plaintext = record::open(sealed, &self.tag, redis_key, false, |got| {
            (got == id).then_some(&self.cipher)
        })?;
        let damaged = RecordError::Decompress;
        let len_bytes: [u8; 4] =
            plaintext.get(..4).and_then(|b| b.try_into().ok()).ok_or(damaged)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let key_end = 4usize.checked_add(len).filter(|end| *end <= plaintext.len());
        let key_end = key_end.ok_or(RecordError::Decompress)?;
        let key = String::from_utf8(plaintext[4..key_end].to_vec())
            .map_err(|_| RecordError::Decompress)?;
        let value = plaintext.split_off(key_end);
        Ok((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealing(byte: u8) -> Sealing {
        Sealing::new(Arc::new(MasterKey::from_bytes([byte; 32])), "cm")
    }

    #[test]
    fn names_are_keyed_hashes_and_values_round_trip() {
        let a = sealing(1);
        let seal = a.namespace("sessions");
        let redis_key = a.redis_key(&seal, "user:42");
        assert!(redis_key.starts_with("cm:{"), "{redis_key}");
        assert!(!redis_key.contains("user") && !redis_key.contains("sessions"));
        assert_eq!(redis_key, a.redis_key(&a.namespace("sessions"), "user:42"), "stable");
        let other = sealing(2);
        assert_ne!(redis_key, other.redis_key(&other.namespace("sessions"), "user:42"));
        let sealed = seal.seal(&redis_key, "user:42", b"secret value");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            seal.open(&redis_key, &sealed),
            Ok(("user:42".into(), b"secret value".to_vec()))
        );
    }

    #[test]
    fn a_value_moved_to_another_key_or_read_with_another_master_fails() {
        let a = sealing(1);
        let seal = a.namespace("ns");
        let k1 = a.redis_key(&seal, "k1");
        let k2 = a.redis_key(&seal, "k2");
        let sealed = seal.seal(&k1, "k1", b"v");
        assert!(seal.open(&k2, &sealed).is_err());
        let b = sealing(2);
        assert!(matches!(b.namespace("ns").open(&k1, &sealed), Err(RecordError::UnknownKey(_))));
        let message = a.seal_message(b"hello");
        assert_eq!(a.open_message(&message), Ok(b"hello".to_vec()));
        assert!(b.open_message(&message).is_err());
    }
}
