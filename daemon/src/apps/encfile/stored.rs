//! An app's keys as the Python module keeps them in the OS keyring: the private key sealed
//! under a passphrase (PBKDF2-HMAC-SHA256, 1,000,000 iterations, then AES-256-GCM with the
//! tag stored apart), the public key in the clear, both hex-encoded in 500-character chunks
//! under user names joined with `__`. Reading, unlocking, sealing and writing that layout
//! lets the daemon use and migrate the apps' keys without the apps.
//!
//! The key store itself is not touched here: the caller passes a lookup closure (and gets
//! entries back to store), so the same code serves the Secret Service, a JSON test fixture
//! or a recovery dump.

use std::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::{fill_random, EncError};
use super::keys::{AppKeyPair, AppPrivateKey, AppPublicKey, EncryptorType};

/// PBKDF2 iterations of the storage key (the Python module's constant).
pub const PBKDF2_ITERATIONS: u32 = 1_000_000;
/// Hex characters per keyring chunk (Windows Credential Manager's blob limit, kept as is).
pub const CHUNK_HEX_CHARS: usize = 500;
/// More chunks than any key needs (a Kyber768 secret key sealed is 10): a damaged count is
/// refused instead of driving thousands of lookups.
const MAX_CHUNKS: usize = 256;

/// The environment variable that overrides every app's passphrase for `service`: the service
/// name upper-cased plus `_PASSPHRASE` (`MYPERSONALAPPLICATIONSSERVICE_PASSPHRASE`).
pub fn passphrase_env_var(service: &str) -> String {
    format!("{}_PASSPHRASE", service.to_uppercase())
}

/// A fresh passphrase like the Python module makes: 32 random bytes as 64 lowercase hex
/// characters (used as that text, never decoded).
pub fn generate_passphrase() -> Result<Zeroizing<String>, EncError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    fill_random(bytes.as_mut_slice())?;
    Ok(hex_encode(bytes.as_slice()))
}

/// The keyring user name of one of an app's entries: the non-empty parts joined with `__`
/// (so chunk 0, whose suffix is empty, has none): `entry_name("muse", &["salt"])` is
/// `muse__salt`.
pub fn entry_name(app_id: &str, parts: &[&str]) -> String {
    std::iter::once(app_id)
        .chain(parts.iter().copied())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("__")
}

/// One app's key material in the Python keyring layout.
pub struct StoredAppKeys {
    /// `{app}__encryptor_type`.
    pub encryptor_type: EncryptorType,
    /// `{app}__passphrase` (or the environment override), used as its ASCII text.
    pub passphrase: Zeroizing<String>,
    /// `{app}__salt`: the PBKDF2 salt.
    pub salt: [u8; 16],
    /// `{app}__nonce`: the nonce the private key was sealed with.
    pub nonce: [u8; 12],
    /// `{app}__tag`: the GCM tag of the sealed private key.
    pub tag: [u8; 16],
    /// `{app}__encrypted_priv` chunks: the sealed private key (ciphertext only).
    pub encrypted_priv: Vec<u8>,
    /// `{app}__public_key` chunks: DER SPKI (standard) or raw Kyber768 bytes (quantum).
    pub public_key: Vec<u8>,
}

impl fmt::Debug for StoredAppKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredAppKeys")
            .field("encryptor_type", &self.encryptor_type)
            .field("passphrase", &"<redacted>")
            .field("encrypted_priv_len", &self.encrypted_priv.len())
            .field("public_key_len", &self.public_key.len())
            .finish_non_exhaustive()
    }
}

impl StoredAppKeys {
    /// Reads an app's entries through `lookup` (keyring user name to value, `None` when
    /// absent). `passphrase_override` is the value of [`passphrase_env_var`] when set; then
    /// `{app}__passphrase` is not read. A missing entry is [`EncError::MissingEntry`] naming
    /// the exact user name; a malformed one [`EncError::BadEntry`].
    pub fn from_entries<E>(
        app_id: &str,
        passphrase_override: Option<Zeroizing<String>>,
        mut lookup: impl FnMut(&str) -> Result<Option<Zeroizing<String>>, E>,
    ) -> Result<Self, EncError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut get = |parts: &[&str]| -> Result<(String, Zeroizing<String>), EncError> {
            let user = entry_name(app_id, parts);
            match lookup(&user) {
                Ok(Some(value)) => Ok((user, value)),
                Ok(None) => Err(EncError::MissingEntry { user }),
                Err(err) => Err(EncError::Lookup { user, source: err.into() }),
            }
        };
        let (type_user, kind) = get(&["encryptor_type"])?;
        let encryptor_type = kind
            .trim()
            .parse::<EncryptorType>()
            .map_err(|err| EncError::BadEntry { user: type_user, reason: err.to_string() })?;
        let passphrase = match passphrase_override {
            Some(passphrase) => passphrase,
            None => get(&["passphrase"])?.1,
        };
        let salt = fixed(get(&["salt"])?)?;
        let nonce = fixed(get(&["nonce"])?)?;
        let tag = fixed(get(&["tag"])?)?;
        let encrypted_priv = chunked(&mut get, "encrypted_priv")?;
        let public_key = chunked(&mut get, "public_key")?;
        Ok(StoredAppKeys {
            encryptor_type,
            passphrase,
            salt,
            nonce,
            tag,
            encrypted_priv,
            public_key,
        })
    }

    /// Unseals the private key (PBKDF2 with 1,000,000 iterations: a fraction of a second, so
    /// unlock once and keep the pair) and checks it matches the stored public key.
    /// [`EncError::WrongPassphrase`] when the seal does not open.
    pub fn unlock(&self) -> Result<AppKeyPair, EncError> {
        let cipher = Aes256Gcm::new(storage_key(&self.passphrase, &self.salt).as_ref().into());
        let mut private = Zeroizing::new(self.encrypted_priv.clone());
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&self.nonce),
                b"",
                &mut private,
                Tag::from_slice(&self.tag),
            )
            .map_err(|_| EncError::WrongPassphrase)?;
        let private = AppPrivateKey::from_bytes(self.encryptor_type, &private)?;
        let public = AppPublicKey::from_bytes(self.encryptor_type, &self.public_key)?;
        AppKeyPair::from_parts(public, private)
    }

    /// Seals `pair` under `passphrase` with a fresh salt and nonce, as the Python module does
    /// when it generates keys: for migrating keys or registering an app from the daemon.
    pub fn seal(pair: &AppKeyPair, passphrase: &str) -> Result<Self, EncError> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        fill_random(&mut salt)?;
        fill_random(&mut nonce)?;
        let cipher = Aes256Gcm::new(storage_key(passphrase, &salt).as_ref().into());
        let mut private = pair.private().to_bytes()?;
        let tag = cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut private)
            .map_err(|_| EncError::TooLarge { len: private.len() })?;
        Ok(StoredAppKeys {
            encryptor_type: pair.encryptor_type(),
            passphrase: Zeroizing::new(passphrase.to_owned()),
            salt,
            nonce,
            tag: tag.into(),
            encrypted_priv: std::mem::take(&mut *private),
            public_key: pair.public().to_bytes()?,
        })
    }

    /// The keyring entries of this app, exactly as the Python module writes them: type,
    /// passphrase, salt, nonce, tag, then count and chunks of the sealed private key and of the
    /// public key. The passphrase is included even if it came from the environment override;
    /// leave that entry out when the override is how the user keeps it.
    pub fn to_entries(&self, app_id: &str) -> Vec<(String, Zeroizing<String>)> {
        let plain = |s: &str| Zeroizing::new(s.to_owned());
        let mut entries = vec![
            (entry_name(app_id, &["encryptor_type"]), plain(self.encryptor_type.as_str())),
            (entry_name(app_id, &["passphrase"]), self.passphrase.clone()),
            (entry_name(app_id, &["salt"]), hex_encode(&self.salt)),
            (entry_name(app_id, &["nonce"]), hex_encode(&self.nonce)),
            (entry_name(app_id, &["tag"]), hex_encode(&self.tag)),
        ];
        for (field, bytes) in
            [("encrypted_priv", &self.encrypted_priv), ("public_key", &self.public_key)]
        {
            let hex = hex_encode(bytes);
            let chunks: Vec<&str> = hex
                .as_bytes()
                .chunks(CHUNK_HEX_CHARS)
                .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
                .collect();
            entries.push((entry_name(app_id, &[field, "count"]), plain(&chunks.len().to_string())));
            for (index, chunk) in chunks.iter().enumerate() {
                let suffix = if index == 0 { String::new() } else { index.to_string() };
                entries.push((entry_name(app_id, &[field, &suffix]), plain(chunk)));
            }
        }
        entries
    }
}

/// PBKDF2-HMAC-SHA256(passphrase text, salt, 1,000,000 iterations, 32 bytes).
fn storage_key(passphrase: &str, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(passphrase.as_bytes(), salt, PBKDF2_ITERATIONS, key.as_mut());
    key
}

/// A hex entry of exactly `N` bytes.
fn fixed<const N: usize>((user, value): (String, Zeroizing<String>)) -> Result<[u8; N], EncError> {
    let bytes = hex_decode(&user, value.trim())?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| EncError::BadEntry {
        reason: format!("{} bytes of hex, expected {N}", bytes.len()),
        user,
    })
}

/// A chunked hex value: `{field}__count`, then chunks `{field}`, `{field}__1`, ...
fn chunked(
    get: &mut impl FnMut(&[&str]) -> Result<(String, Zeroizing<String>), EncError>,
    field: &str,
) -> Result<Vec<u8>, EncError> {
    let (count_user, count) = get(&[field, "count"])?;
    let count = count
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|count| (1..=MAX_CHUNKS).contains(count))
        .ok_or_else(|| EncError::BadEntry {
            user: count_user,
            reason: format!("not a chunk count from 1 to {MAX_CHUNKS}"),
        })?;
    let mut bytes = Vec::with_capacity(count * CHUNK_HEX_CHARS / 2);
    for index in 0..count {
        let suffix = if index == 0 { String::new() } else { index.to_string() };
        let (user, chunk) = get(&[field, &suffix])?;
        bytes.extend_from_slice(&hex_decode(&user, chunk.trim())?);
    }
    Ok(bytes)
}

/// Lowercase hex, as Python's `bytes.hex()`.
pub(super) fn hex_encode(bytes: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes hex (either case) from entry `user`; the error names the entry, never the value.
fn hex_decode(user: &str, hex: &str) -> Result<Vec<u8>, EncError> {
    let bad = |reason: String| EncError::BadEntry { user: user.to_owned(), reason };
    if !hex.len().is_multiple_of(2) {
        return Err(bad(format!("odd number of hex characters ({})", hex.len())));
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    hex.as_bytes()
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => Ok(high << 4 | low),
            _ => Err(bad(format!("not hex (at character {})", i * 2))),
        })
        .collect()
}
