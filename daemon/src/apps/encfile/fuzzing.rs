//! Entry points for the fuzz targets in `fuzz/` and the property tests; not an API (hidden
//! from the docs, no stability promise).
//!
//! The key step (P-384 agreement or Kyber decapsulation) needs an app key and costs a
//! millisecond per call, and random bytes never pass the GCM tag behind it. These run the
//! code after the key step with a given AES key ([`check_with_aes_key`]), and seal arbitrary
//! payloads under it ([`seal_with_aes_key`]) so the fuzzer reaches the zlib and damaged-flag
//! checks that only authenticated payloads get to.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

use super::cipher::{decrypt_parsed, verify_parsed, verify_tag_parsed};
use super::error::EncError;
use super::format::{self, parse, Compression, NONCE_LEN, STANDARD_KEY_LEN};

/// What the three readers said about one file.
#[derive(Debug)]
pub struct Checked {
    /// [`super::verify_tag`] after the key step.
    pub tag: Result<(), EncError>,
    /// [`super::verify`] after the key step: the plaintext length.
    pub verify: Result<u64, EncError>,
    /// [`super::decrypt`] after the key step (bounded by the given limit): the plaintext.
    pub decrypt: Result<Vec<u8>, EncError>,
}

/// Parses `bytes`, then runs `verify_tag`, `verify` and `decrypt` (inflating at most `limit`
/// bytes) as if the key step had produced `aes_key`. A parse error is returned as such.
pub fn check_with_aes_key(
    bytes: &[u8],
    aes_key: &[u8; 32],
    limit: usize,
) -> Result<Checked, EncError> {
    let file = parse(bytes)?;
    Ok(Checked {
        tag: verify_tag_parsed(&file, aes_key),
        verify: verify_parsed(&file, aes_key).map(|v| v.plaintext_len),
        decrypt: decrypt_parsed(&file, aes_key, limit).map(|p| p.to_vec()),
    })
}

/// A file whose ciphertext is `payload` sealed under `aes_key` and `nonce` with the given
/// flag, behind a dummy encapsulated key of the standard length.
pub fn seal_with_aes_key(
    payload: &[u8],
    compression: Compression,
    aes_key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, EncError> {
    let encapsulated = [0x04u8; STANDARD_KEY_LEN];
    let mut file = format::start_file(&encapsulated, nonce, compression, payload.len())?;
    let start = file.len();
    file.extend_from_slice(payload);
    let tag = Aes256Gcm::new(aes_key.into())
        .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", &mut file[start..])
        .map_err(|_| EncError::TooLarge { len: payload.len() })?;
    format::set_tag(&mut file, encapsulated.len(), &tag);
    Ok(file)
}
