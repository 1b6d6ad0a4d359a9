//! The master key and the keys derived from it.
//!
//! Key bytes live in a heap box (so moving a key never leaves copies on the stack), are wiped
//! when dropped, and never appear in `Debug` output. There is no `Display` and no accessor for
//! the master bytes outside this module: the rest of the daemon only derives keys from it.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::KeyError;

/// Length of the master key and of every derived key, in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// HKDF salt reserved for [`MasterKey::fingerprint`]; no data key should be derived with it.
const FINGERPRINT_SALT: &[u8] = b"cachemgr master key fingerprint";

/// Standard base64 that accepts the text with or without `=` padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The 32-byte secret every on-disk key is derived from. Wiped on drop; `Debug` is redacted.
pub struct MasterKey(Box<[u8; KEY_LEN]>);

impl MasterKey {
    /// A fresh random key from the OS generator, for `key-init` and ephemeral starts.
    ///
    /// # Panics
    ///
    /// If the OS has no random source (never on Linux ≥ 3.17); see [`MasterKey::try_generate`].
    pub fn generate() -> MasterKey {
        match MasterKey::try_generate() {
            Ok(key) => key,
            Err(err) => panic!("{err}"),
        }
    }

    /// Like [`MasterKey::generate`], but reports a missing OS random source as an error.
    pub fn try_generate() -> Result<MasterKey, KeyError> {
        let mut bytes = Box::new([0u8; KEY_LEN]);
        getrandom::getrandom(bytes.as_mut_slice())
            .map_err(|err| KeyError::Random { reason: err.to_string() })?;
        Ok(MasterKey::locked(bytes))
    }

    /// Wraps key bytes, locking their page in memory first (best effort, see
    /// [`crate::hygiene::lock_in_memory`]).
    fn locked(mut bytes: Box<[u8; KEY_LEN]>) -> MasterKey {
        crate::hygiene::lock_in_memory(bytes.as_mut_slice());
        MasterKey(bytes)
    }

    /// A key with known bytes, for tests and benchmarks. The caller's copy is its own to wipe.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey::locked(Box::new(bytes))
    }

    /// HKDF-SHA256 with this key as input keying material: one independent 32-byte key per
    /// (`salt`, `info`), so each namespace and purpose gets its own key from one secret.
    pub fn derive(&self, salt: &[u8], info: &[u8]) -> DerivedKey {
        let mut out = DerivedKey(Box::new([0u8; KEY_LEN]));
        crate::hygiene::lock_in_memory(out.0.as_mut_slice());
        hkdf_expand(self.0.as_slice(), salt, info, out.0.as_mut_slice());
        out
    }

    /// 16 hex characters that identify this key without revealing it (HKDF of a fixed label):
    /// safe to log and print, so operators can tell which key a daemon runs with.
    pub fn fingerprint(&self) -> String {
        let mut bytes = [0u8; 8];
        hkdf_expand(self.0.as_slice(), FINGERPRINT_SALT, b"v1", &mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key as standard base64 text, the form stored in the keyring and key files.
    pub(crate) fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_slice()))
    }

    /// Parses key material: standard base64 (padding optional, surrounding whitespace
    /// ignored) of exactly 32 bytes, or, when `allow_raw`, exactly 32 raw bytes. The error
    /// says what is wrong without quoting the input.
    pub(crate) fn parse(material: &[u8], allow_raw: bool) -> Result<MasterKey, String> {
        if allow_raw && material.len() == KEY_LEN {
            let mut bytes = Box::new([0u8; KEY_LEN]);
            bytes.copy_from_slice(material);
            return Ok(MasterKey::locked(bytes));
        }
        let text = material.trim_ascii();
        if text.is_empty() {
            return Err("it is empty".into());
        }
        let decoded = match LENIENT_BASE64.decode(text) {
            Ok(decoded) => Zeroizing::new(decoded),
            Err(_) => {
                let raw = if allow_raw { " nor 32 raw bytes" } else { "" };
                return Err(format!(
                    "it is not valid base64{raw} (standard alphabet A-Z a-z 0-9 + /, padding optional)"
                ));
            }
        };
        if decoded.len() != KEY_LEN {
            return Err(format!("it decodes to {} bytes, not {KEY_LEN}", decoded.len()));
        }
        let mut bytes = Box::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(MasterKey::locked(bytes))
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for MasterKey {}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// A 32-byte key derived from the master key (e.g. one namespace's AES-256-GCM key).
/// Wiped on drop; `Debug` is redacted.
pub struct DerivedKey(Box<[u8; KEY_LEN]>);

impl DerivedKey {
    /// The key bytes, to hand to a cipher.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl Drop for DerivedKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for DerivedKey {}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

fn hkdf_expand(ikm: &[u8], salt: &[u8], info: &[u8], out: &mut [u8]) {
    let hkdf = Hkdf::<Sha256>::new(Some(salt), ikm);
    // HKDF-SHA256 can expand up to 255 * 32 bytes; callers here ask for at most 32.
    if hkdf.expand(info, out).is_err() {
        unreachable!("HKDF-SHA256 output of {} bytes is within its limit", out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint of `[7; 32]`, pinned: operators compare fingerprints across versions.
    pub(crate) const SEVENS_FINGERPRINT: &str = "2e640a3ab1c9fde5";

    #[test]
    fn derivation_is_deterministic_and_distinct_per_salt_and_info() {
        let key = MasterKey::from_bytes([1; KEY_LEN]);
        let a = key.derive(b"ns:alpha", b"aes-256-gcm");
        assert_eq!(a.as_bytes(), key.derive(b"ns:alpha", b"aes-256-gcm").as_bytes());
        assert_ne!(a.as_bytes(), key.derive(b"ns:beta", b"aes-256-gcm").as_bytes());
        assert_ne!(a.as_bytes(), key.derive(b"ns:alpha", b"other").as_bytes());
        let other = MasterKey::from_bytes([2; KEY_LEN]);
        assert_ne!(a.as_bytes(), other.derive(b"ns:alpha", b"aes-256-gcm").as_bytes());
        assert_ne!(a.as_bytes(), &[1; KEY_LEN]);
    }

    #[test]
    fn derivation_is_plain_hkdf_sha256() {
        // Known answer computed with an independent HKDF (Python hmac/hashlib): pins the
        // algorithm, since a change would make everything sealed on disk unreadable.
        let derived = MasterKey::from_bytes([7; KEY_LEN]).derive(b"ns:alpha", b"aes-256-gcm");
        let hex: String = derived.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "f2593a9cd633128201cb45b990c9cd0faccd0b0334d1615f3a5709ccf72145be");
    }

    #[test]
    fn fingerprint_is_stable_short_hex_and_not_the_key() {
        let key = MasterKey::from_bytes([7; KEY_LEN]);
        let fp = key.fingerprint();
        assert_eq!(fp.len(), 16);
        assert!(fp.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(fp, SEVENS_FINGERPRINT);
        assert_ne!(fp, MasterKey::from_bytes([8; KEY_LEN]).fingerprint());
    }

    #[test]
    fn debug_is_redacted() {
        let bytes = [0xab; KEY_LEN];
        let key = MasterKey::from_bytes(bytes);
        let derived = key.derive(b"s", b"i");
        let shown = format!("{key:?} {derived:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert_eq!(format!("{derived:?}"), "DerivedKey(<redacted>)");
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        for secret in [&bytes[..], &derived.as_bytes()[..]] {
            assert!(!shown.contains(&hex(&secret[..4])), "{shown}");
            assert!(!shown.contains(&STANDARD.encode(&secret[..6])), "{shown}");
            assert!(!shown.contains(&format!("{:?}", &secret[..4])), "{shown}");
        }
    }

    #[test]
    fn parses_base64_with_or_without_padding_and_whitespace() {
        let key = MasterKey::from_bytes([7; KEY_LEN]);
        let text = key.to_base64();
        assert_eq!(text.len(), 44);
        for input in [text.to_string(), format!("  {}\n", text.trim_end_matches('='))] {
            let parsed = MasterKey::parse(input.as_bytes(), false).expect("valid");
            assert_eq!(parsed.fingerprint(), SEVENS_FINGERPRINT);
        }
    }

    #[test]
    fn parse_errors_say_what_is_wrong_without_the_value() {
        let short = STANDARD.encode([9u8; 16]);
        let err = MasterKey::parse(short.as_bytes(), false).expect_err("short");
        assert_eq!(err, "it decodes to 16 bytes, not 32");
        let err = MasterKey::parse(b"not base64 at all!", false).expect_err("junk");
        assert!(err.contains("not valid base64"), "{err}");
        assert!(!err.contains("at all"), "{err}");
        assert_eq!(MasterKey::parse(b" \n", true).expect_err("empty"), "it is empty");
    }

    #[test]
    fn raw_bytes_only_where_allowed() {
        let raw = [b'!'; KEY_LEN];
        assert!(MasterKey::parse(&raw, false).is_err());
        let key = MasterKey::parse(&raw, true).expect("raw");
        assert_eq!(key.fingerprint(), MasterKey::from_bytes(raw).fingerprint());
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(MasterKey::generate().fingerprint(), MasterKey::generate().fingerprint());
    }
}
