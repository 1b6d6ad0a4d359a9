//! Names at rest: no namespace or key name sits in the database file in the clear.
//!
//! - A namespace becomes a tag: the first 16 bytes of HMAC-SHA256(names key, "ns" ‖ name),
//!   in hex, where the names key is HKDF(master, "cachemgr/disk-names/v1", "names"). Its
//!   tables and its rows in the shared tables are named by the tag. So the daemon can list
//!   its namespaces at start, `ns_names` maps each tag to the name sealed (AES-256-GCM, the
//!   tag as associated data) under HKDF(master, same salt, "namespace-names").
//! - A key becomes a slot: the first 16 bytes of HMAC-SHA256(slot key, key), in hex, with a
//!   slot key per namespace (HMAC(names key, "keys" ‖ name)). The plain key name travels
//!   sealed inside the value's record (see [`super::record::seal_named`]), so scans (keys,
//!   pattern operations, dumps, rotation) open names, and check each against its slot.
//!
//! Keyed hashes, not plain ones: without the master key a name cannot be confirmed by
//! hashing candidates.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

use super::record::fill_random;
use crate::keys::{hex, keyed_hash as mac, DerivedKey, MasterKey};

const SALT: &[u8] = b"cachemgr/disk-names/v1";
/// Bytes of the keyed hash kept in a tag or slot (hex doubles them).
const HASH_LEN: usize = 16;
/// Length of a slot (the stored form of a key name), in bytes.
pub const SLOT_LEN: usize = HASH_LEN * 2;

/// The master-derived keys that hide names.
pub struct DiskNames {
    names: DerivedKey,
    ns_cipher: Aes256Gcm,
}

impl std::fmt::Debug for DiskNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskNames").finish_non_exhaustive()
    }
}

impl DiskNames {
    /// Derives the name keys from `master`.
    pub fn new(master: &MasterKey) -> DiskNames {
        let ns_key = master.derive(SALT, b"namespace-names");
        let ns_cipher = match Aes256Gcm::new_from_slice(ns_key.as_bytes()) {
            Ok(cipher) => cipher,
            Err(_) => unreachable!("a derived key is 32 bytes"),
        };
        DiskNames { names: master.derive(SALT, b"names"), ns_cipher }
    }

    /// The tag standing for namespace `ns` on disk.
    pub fn tag(&self, ns: &str) -> String {
        hex(&mac(self.names.as_bytes(), &[b"ns", ns.as_bytes()])[..HASH_LEN])
    }

    /// The slot key of namespace `ns`.
    pub fn slots(&self, ns: &str) -> SlotKey {
        SlotKey(mac(self.names.as_bytes(), &[b"keys", ns.as_bytes()]))
    }

    /// `ns` sealed for the `ns_names` table: nonce, then ciphertext and tag.
    pub fn seal_namespace(&self, tag: &str, ns: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        fill_random(&mut nonce);
        let payload = Payload { msg: ns.as_bytes(), aad: tag.as_bytes() };
        let Ok(sealed) = self.ns_cipher.encrypt(Nonce::from_slice(&nonce), payload) else {
            // Only reachable for plaintexts over 64 GiB.
            std::process::abort();
        };
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a sealed namespace name stored under `tag`; `None` when it does not open (another
    /// master key, damage) or does not hash to its tag.
    pub fn open_namespace(&self, tag: &str, sealed: &[u8]) -> Option<String> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, body) = sealed.split_at(12);
        let payload = Payload { msg: body, aad: tag.as_bytes() };
        let plain = self.ns_cipher.decrypt(Nonce::from_slice(nonce), payload).ok()?;
        let name = String::from_utf8(plain).ok()?;
        (self.tag(&name) == tag).then_some(name)
    }
}

/// The keyed hash that turns one namespace's key names into slots.
#[derive(Clone)]
pub struct SlotKey([u8; 32]);

impl std::fmt::Debug for SlotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlotKey(..)")
    }
}

impl Drop for SlotKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl SlotKey {
    /// The slot (table key) of `key`.
    pub fn slot(&self, key: &str) -> String {
        hex(&mac(&self.0, &[key.as_bytes()])[..HASH_LEN])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hash_under_the_master_key_and_seal_round_trip() {
        let a = DiskNames::new(&MasterKey::from_bytes([1; 32]));
        let b = DiskNames::new(&MasterKey::from_bytes([2; 32]));
        assert_ne!(a.tag("ns"), b.tag("ns"));
        assert_ne!(a.tag("ns"), a.tag("ns2"));
        assert_eq!(a.tag("ns").len(), SLOT_LEN);
        assert_ne!(a.slots("ns").slot("k"), a.slots("ns2").slot("k"));
        assert_eq!(a.slots("ns").slot("k"), a.slots("ns").slot("k"));
        let tag = a.tag("secret-ns");
        let sealed = a.seal_namespace(&tag, "secret-ns");
        assert!(!sealed.windows(9).any(|w| w == b"secret-ns"));
        assert_eq!(a.open_namespace(&tag, &sealed).as_deref(), Some("secret-ns"));
        assert_eq!(b.open_namespace(&tag, &sealed), None);
        assert_eq!(a.open_namespace(&a.tag("other"), &sealed), None);
    }
}
