//! TEMPORARY shim of the master-key API (replaced by the keys branch on merge).

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// The daemon's master key.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A random key.
    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).unwrap_or_else(|_| std::process::abort());
        MasterKey(Zeroizing::new(bytes))
    }
    /// A key from bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(Zeroizing::new(bytes))
    }
    /// HKDF-SHA256.
    pub fn derive(&self, salt: &[u8], info: &[u8]) -> DerivedKey {
        let mut out = Zeroizing::new([0u8; 32]);
        let hk = Hkdf::<Sha256>::new(Some(salt), &self.0[..]);
        let _ = hk.expand(info, &mut out[..]);
        DerivedKey(out)
    }
    /// Public fingerprint.
    pub fn fingerprint(&self) -> String {
        let d = self.derive(b"", b"cachemgr fingerprint v1");
        d.as_bytes()[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A derived key.
pub struct DerivedKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

impl DerivedKey {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}
