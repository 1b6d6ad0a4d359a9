//! The key generations of one namespace: each is HKDF(master, salt, label + ns), the salt
//! stored in the database. Destroying a generation deletes its salt, after which nothing
//! (not even the master key) can re-derive it.

use std::collections::BTreeMap;

use aes_gcm::{Aes256Gcm, KeyInit};

use crate::keys::MasterKey;

/// Info label of namespace keys; the namespace name follows it.
const NAMESPACE_KEY_INFO: &[u8] = b"cachemgr/ns/v1/";

/// Ciphers by key id; the highest id seals new values. The salts are kept too (they are not
/// secret without the master key), so a database replaced after damage gets them back.
#[derive(Default)]
pub struct KeySet {
    ciphers: BTreeMap<u32, Aes256Gcm>,
    salts: BTreeMap<u32, Vec<u8>>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("ids", &self.ids()).finish()
    }
}

impl KeySet {
    /// Derives and adds generation `id` from its salt.
    pub fn add(&mut self, id: u32, master: &MasterKey, ns: &str, salt: &[u8]) {
        let mut info = NAMESPACE_KEY_INFO.to_vec();
        info.extend_from_slice(ns.as_bytes());
        let derived = master.derive(salt, &info);
        // The derived key is exactly 32 bytes, the only length AES-256 accepts.
        if let Ok(cipher) = Aes256Gcm::new_from_slice(derived.as_bytes()) {
            self.ciphers.insert(id, cipher);
            self.salts.insert(id, salt.to_vec());
        }
    }

    /// Every generation's salt, oldest first.
    pub fn salts(&self) -> Vec<(u32, Vec<u8>)> {
        self.salts.iter().map(|(id, salt)| (*id, salt.clone())).collect()
    }

    /// Forgets generation `id` (its cipher state is zeroised on drop).
    pub fn remove(&mut self, id: u32) {
        self.ciphers.remove(&id);
        self.salts.remove(&id);
    }

    /// The id new values are sealed with (0 when empty, which never happens once created).
    pub fn current_id(&self) -> u32 {
        self.ciphers.keys().next_back().copied().unwrap_or(0)
    }

    /// The current generation and its cipher.
    pub fn current(&self) -> Option<(u32, &Aes256Gcm)> {
        self.ciphers.iter().next_back().map(|(id, cipher)| (*id, cipher))
    }

    /// The cipher of generation `id`.
    pub fn get(&self, id: u32) -> Option<&Aes256Gcm> {
        self.ciphers.get(&id)
    }

    /// Every generation held, oldest first.
    pub fn ids(&self) -> Vec<u32> {
        self.ciphers.keys().copied().collect()
    }
}
