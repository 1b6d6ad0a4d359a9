//! One value as it sits in the disk layer: a small versioned header, then the value
//! (optionally LZ4-compressed) sealed with AES-256-GCM.
//!
//! ```text
//! offset  size  field
//! 0       1     record version (1)
//! 1       1     algorithm: 1 = AES-256-GCM (0 = plain, only in the unsealed benchmark mode)
//! 2       1     flags: bit 0 = the plaintext is LZ4-compressed (size-prefixed block)
//! 3       4     key id (u32 BE): which generation of the namespace key sealed it
//! 7       8     expires at, unix ms (u64 BE); 0 = never
//! 15      12    nonce (random per write)
//! 27      n+16  ciphertext, then the 16-byte GCM tag
//! ```
//!
//! The associated data is the whole header (so the key id, flags and expiry cannot be
//! altered unnoticed), then the namespace's length and bytes, then the key: a record copied
//! to another key or namespace fails to open.
//!
//! The disk layer writes version 2 ([`seal_named`]): the same bytes (version byte 2), then
//! the key name sealed on its own, so a scan opens names without opening values:
//!
//! ```text
//! …       n+16  value ciphertext and tag, as above
//! …       12    name nonce (random per write)
//! …       m+16  name ciphertext, then its tag; associated data "name", the header, the
//!               namespace's length and bytes
//! last 4  4     length of the name nonce, ciphertext and tag (u32 BE)
//! ```
//!
//! Compression: LZ4 (`lz4_flex`, pure Rust) rather than zstd because the disk layer's
//! budget is microseconds per value: LZ4 compresses at GB/s and gives up fast on
//! incompressible input, while zstd would add a C build and several times the CPU per byte
//! for a better ratio that a cache rarely needs (`cargo bench -p cachemgrd --bench disk`
//! measures seal with and without compression).

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce, Tag};

/// Record layout version of [`seal`] (no name inside; the Redis layer's values).
pub const RECORD_VERSION: u8 = 1;
/// Record layout version of [`seal_named`] (the key name sealed inside; the disk layer's).
pub const RECORD_VERSION_NAMED: u8 = 2;
const NAME_TRAILER: usize = 4;
/// Algorithm byte of a sealed record.
pub const ALG_AES_256_GCM: u8 = 1;
/// Algorithm byte of a plain record (the benchmark's unsealed mode only).
pub const ALG_PLAIN: u8 = 0;
const FLAG_LZ4: u8 = 1;
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 27;
const TAG_LEN: usize = 16;
const EXPIRES_AT: std::ops::Range<usize> = 7..15;
/// Values shorter than this are stored as they are: LZ4 cannot win on them.
const COMPRESS_MIN: usize = 128;

/// Why a record could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Shorter than a header and a tag.
    #[error("record of {0} bytes is shorter than its header")]
    Truncated(usize),
    /// A version this daemon does not read.
    #[error("record version {0} is not supported")]
    Version(u8),
    /// An algorithm this layer does not accept.
    #[error("record algorithm {0} is not accepted here")]
    Algorithm(u8),
    /// No key with this id is known for the namespace (destroyed or never made).
    #[error("no namespace key with id {0}")]
    UnknownKey(u32),
    /// Authentication failed: the bytes were altered or belong to another key/namespace.
    #[error("authentication failed")]
    Authentication,
    /// The compressed plaintext did not decompress.
    #[error("compressed value is damaged")]
    Decompress,
    /// A version 1 record carries no name.
    #[error("record carries no key name")]
    Unnamed,
}

/// The readable part of a record's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Algorithm byte.
    pub algorithm: u8,
    /// Key generation that sealed it.
    pub key_id: u32,
    /// Unix ms after which the value is gone; 0 = never.
    pub expires_at: u64,
}

impl RecordHeader {
    /// Whether the value has expired at `now_unix_ms`.
    pub fn expired(&self, now_unix_ms: u64) -> bool {
        self.expires_at != 0 && self.expires_at <= now_unix_ms
    }
}

/// Reads a record's header without opening it (rotation, sweeping and TTL reads need no key).
pub fn peek(record: &[u8]) -> Result<RecordHeader, RecordError> {
    if record.len() < HEADER_LEN + TAG_LEN {
        return Err(RecordError::Truncated(record.len()));
    }
    if record[0] != RECORD_VERSION && record[0] != RECORD_VERSION_NAMED {
        return Err(RecordError::Version(record[0]));
    }
    let key_id = u32::from_be_bytes([record[3], record[4], record[5], record[6]]);
    let mut expires = [0u8; 8];
    expires.copy_from_slice(&record[EXPIRES_AT]);
    Ok(RecordHeader { algorithm: record[1], key_id, expires_at: u64::from_be_bytes(expires) })
}

/// What seals: a namespace key generation, or nothing in the benchmark's plain mode.
pub enum Sealer<'a> {
    /// AES-256-GCM under key generation `key_id`.
    Aes {
        /// The cipher.
        cipher: &'a Aes256Gcm,
        /// Its generation.
        key_id: u32,
    },
    /// No encryption (the benchmark baseline; never used by the daemon).
    Plain,
}

/// Seals `value` for `ns`/`key`, compressing first when that saves at least an eighth.
pub fn seal(sealer: &Sealer<'_>, ns: &str, key: &str, value: &[u8], expires_at: u64) -> Vec<u8> {
    seal_version(RECORD_VERSION, sealer, ns, key, value, expires_at)
}

/// Seals like [`seal`] and appends the key name, sealed on its own (version 2): the disk
/// layer stores keys by a keyed hash, and scans read the names back from here.
pub fn seal_named(
    sealer: &Sealer<'_>,
    ns: &str,
    key: &str,
    value: &[u8],
    expires_at: u64,
) -> Vec<u8> {
    let mut out = seal_version(RECORD_VERSION_NAMED, sealer, ns, key, value, expires_at);
    let mut nonce = [0u8; 12];
    let mut segment = Vec::with_capacity(12 + key.len() + TAG_LEN);
    let tag = match sealer {
        Sealer::Aes { cipher, .. } => {
            fill_random(&mut nonce);
            let mut body = key.as_bytes().to_vec();
            let aad = name_associated_data(&out[..HEADER_LEN], ns);
            match cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, &mut body) {
                Ok(tag) => {
                    segment.extend_from_slice(&nonce);
                    segment.extend_from_slice(&body);
                    tag.into()
                }
                // Only reachable for plaintexts over 64 GiB, which the frame cap rules out.
                Err(_) => std::process::abort(),
            }
        }
        Sealer::Plain => {
            segment.extend_from_slice(&nonce);
            segment.extend_from_slice(key.as_bytes());
            [0u8; TAG_LEN]
        }
    };
    segment.extend_from_slice(&tag);
    out.extend_from_slice(&segment);
    out.extend_from_slice(&(segment.len() as u32).to_be_bytes());
    out
}

/// Splits a version 2 record into its value part (header, ciphertext, tag) and its name
/// segment; a version 1 record is all value part.
fn split(record: &[u8]) -> Result<(&[u8], Option<&[u8]>), RecordError> {
    if record.first() != Some(&RECORD_VERSION_NAMED) {
        return Ok((record, None));
    }
    let short = RecordError::Truncated(record.len());
    if record.len() < HEADER_LEN + TAG_LEN + 12 + TAG_LEN + NAME_TRAILER {
        return Err(short);
    }
    let (rest, trailer) = record.split_at(record.len() - NAME_TRAILER);
    let mut len = [0u8; 4];
    len.copy_from_slice(trailer);
    let len = u32::from_be_bytes(len) as usize;
    if len < 12 + TAG_LEN || rest.len() < HEADER_LEN + TAG_LEN + len {
        return Err(short);
    }
    let (value, name) = rest.split_at(rest.len() - len);
    Ok((value, Some(name)))
}

/// Opens the key name inside a version 2 record of `ns` (scans need the name, not the value).
pub fn open_name<'c>(
    record: &[u8],
    ns: &str,
    plain_allowed: bool,
    cipher_for: impl FnOnce(u32) -> Option<&'c Aes256Gcm>,
) -> Result<String, RecordError> {
    let header = peek(record)?;
    let (_, Some(segment)) = split(record)? else { return Err(RecordError::Unnamed) };
    let (nonce, rest) = segment.split_at(12);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut name = body.to_vec();
    match header.algorithm {
        ALG_AES_256_GCM => {
            let cipher = cipher_for(header.key_id).ok_or(RecordError::UnknownKey(header.key_id))?;
            let aad = name_associated_data(&record[..HEADER_LEN], ns);
            cipher
                .decrypt_in_place_detached(
                    Nonce::from_slice(nonce),
                    &aad,
                    &mut name,
                    Tag::from_slice(tag),
                )
                .map_err(|_| RecordError::Authentication)?;
        }
        ALG_PLAIN if plain_allowed => {}
        other => return Err(RecordError::Algorithm(other)),
    }
    String::from_utf8(name).map_err(|_| RecordError::Authentication)
}

fn name_associated_data(header: &[u8], ns: &str) -> Vec<u8> {
    let mut aad = b"name".to_vec();
    aad.extend_from_slice(header);
    aad.extend_from_slice(&(ns.len() as u32).to_be_bytes());
    aad.extend_from_slice(ns.as_bytes());
    aad
}

fn seal_version(
    version: u8,
    sealer: &Sealer<'_>,
    ns: &str,
    key: &str,
    value: &[u8],
    expires_at: u64,
) -> Vec<u8> {
    let compressed = (value.len() >= COMPRESS_MIN)
        .then(|| lz4_flex::compress_prepend_size(value))
        .filter(|packed| packed.len() <= value.len() - value.len() / 8);
    let plaintext = compressed.as_deref().unwrap_or(value);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    let (algorithm, key_id) = match sealer {
        Sealer::Aes { key_id, .. } => (ALG_AES_256_GCM, *key_id),
        Sealer::Plain => (ALG_PLAIN, 0),
    };
    out.extend_from_slice(&[version, algorithm, u8::from(compressed.is_some())]);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(&expires_at.to_be_bytes());
    let mut nonce = [0u8; 12];
    if let Sealer::Aes { .. } = sealer {
        fill_random(&mut nonce);
    }
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = match sealer {
        Sealer::Aes { cipher, .. } => {
            let (header, body) = out.split_at_mut(HEADER_LEN);
            let aad = associated_data(header, ns, key);
            match cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, body) {
                Ok(tag) => tag.into(),
                // Only reachable for plaintexts over 64 GiB, which the frame cap rules out.
                Err(_) => std::process::abort(),
            }
        }
        Sealer::Plain => [0u8; TAG_LEN],
    };
    out.extend_from_slice(&tag);
    out
}

/// Opens a record of `ns`/`key` with the cipher for its key id (`cipher_for`). A version 2
/// record opens only whole: its name must open too and be `key`.
pub fn open<'c>(
    record: &[u8],
    ns: &str,
    key: &str,
    plain_allowed: bool,
    cipher_for: impl FnOnce(u32) -> Option<&'c Aes256Gcm>,
) -> Result<Vec<u8>, RecordError> {
    let header = peek(record)?;
    let whole = record;
    let (record, named) = split(record)?;
    let body_end = record.len() - TAG_LEN;
    let mut plaintext = record[HEADER_LEN..body_end].to_vec();
    match header.algorithm {
        ALG_AES_256_GCM => {
            let cipher = cipher_for(header.key_id).ok_or(RecordError::UnknownKey(header.key_id))?;
            if named.is_some() && open_name(whole, ns, false, |_| Some(cipher))? != key {
                return Err(RecordError::Authentication);
            }
            let aad = associated_data(&record[..HEADER_LEN], ns, key);
            let nonce = Nonce::from_slice(&record[15..HEADER_LEN]);
            let tag = Tag::from_slice(&record[body_end..]);
            cipher
                .decrypt_in_place_detached(nonce, &aad, &mut plaintext, tag)
                .map_err(|_| RecordError::Authentication)?;
        }
        ALG_PLAIN if plain_allowed => {}
        other => return Err(RecordError::Algorithm(other)),
    }
    if header.algorithm == ALG_PLAIN
        && named.is_some()
        && open_name(whole, ns, true, |_| None)? != key
    {
        return Err(RecordError::Authentication);
    }
    if record[2] & FLAG_LZ4 != 0 {
        return lz4_flex::decompress_size_prepended(&plaintext)
            .map_err(|_| RecordError::Decompress);
    }
    Ok(plaintext)
}

fn associated_data(header: &[u8], ns: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 4 + ns.len() + key.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(&(ns.len() as u32).to_be_bytes());
    aad.extend_from_slice(ns.as_bytes());
    aad.extend_from_slice(key.as_bytes());
    aad
}

/// Fills `buf` from the OS generator; a system without one cannot seal safely, so abort.
pub fn fill_random(buf: &mut [u8]) {
    if getrandom::getrandom(buf).is_err() {
        tracing::error!("the operating system's random generator failed; cannot seal safely");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use aes_gcm::KeyInit;

    use super::*;

    fn cipher(byte: u8) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&[byte; 32]).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn round_trip_small_and_compressible() {
        let c = cipher(1);
        let sealer = Sealer::Aes { cipher: &c, key_id: 7 };
        for value in [Vec::new(), b"hi".to_vec(), vec![b'a'; 10_000]] {
            let record = seal(&sealer, "ns", "k", &value, 42);
            assert_eq!(peek(&record).map(|h| (h.key_id, h.expires_at)), Ok((7, 42)));
            assert_eq!(open(&record, "ns", "k", false, |_| Some(&c)), Ok(value.clone()));
        }
        let big = seal(&sealer, "ns", "k", &vec![b'a'; 10_000], 0);
        assert!(big.len() < 1000, "compressible value was not compressed: {}", big.len());
    }

    #[test]
    fn other_key_namespace_or_flipped_byte_is_refused() {
        let c = cipher(1);
        let record = seal(&Sealer::Aes { cipher: &c, key_id: 1 }, "ns", "k", b"value", 0);
        assert_eq!(
            open(&record, "ns", "k2", false, |_| Some(&c)),
            Err(RecordError::Authentication)
        );
        assert_eq!(
            open(&record, "ns2", "k", false, |_| Some(&c)),
            Err(RecordError::Authentication)
        );
        for at in 0..record.len() {
            let mut bad = record.clone();
            bad[at] ^= 0x40;
            assert!(open(&bad, "ns", "k", false, |_| Some(&c)).is_err(), "flip at {at} passed");
        }
        let other = cipher(2);
        assert!(open(&record, "ns", "k", false, |_| Some(&other)).is_err());
    }

    #[test]
    fn plain_records_only_where_allowed() {
        let record = seal(&Sealer::Plain, "ns", "k", b"v", 0);
        assert_eq!(open(&record, "ns", "k", true, |_| None), Ok(b"v".to_vec()));
        assert_eq!(open(&record, "ns", "k", false, |_| None), Err(RecordError::Algorithm(0)));
    }

    #[test]
    fn named_records_carry_the_name_sealed_and_bound() {
        let c = cipher(1);
        let sealer = Sealer::Aes { cipher: &c, key_id: 3 };
        let record = seal_named(&sealer, "ns", "secret-key", &vec![b'v'; 500], 9);
        assert!(!record.windows(10).any(|w| w == b"secret-key"));
        assert_eq!(peek(&record).map(|h| (h.key_id, h.expires_at)), Ok((3, 9)));
        assert_eq!(open_name(&record, "ns", false, |_| Some(&c)).as_deref(), Ok("secret-key"));
        assert_eq!(open(&record, "ns", "secret-key", false, |_| Some(&c)), Ok(vec![b'v'; 500]));
        assert_eq!(
            open_name(&record, "ns2", false, |_| Some(&c)),
            Err(RecordError::Authentication)
        );
        for at in 0..record.len() {
            let mut bad = record.clone();
            bad[at] ^= 0x40;
            let value = open(&bad, "ns", "secret-key", false, |_| Some(&c));
            assert!(value.is_err(), "flip at {at} passed");
        }
        let unnamed = seal(&sealer, "ns", "k", b"v", 0);
        assert_eq!(open_name(&unnamed, "ns", false, |_| Some(&c)), Err(RecordError::Unnamed));
        let plain = seal_named(&Sealer::Plain, "ns", "k", b"v", 0);
        assert_eq!(open_name(&plain, "ns", true, |_| None).as_deref(), Ok("k"));
        assert_eq!(open(&plain, "ns", "k", true, |_| None), Ok(b"v".to_vec()));
    }

    #[test]
    fn nonces_differ_between_writes() {
        let c = cipher(1);
        let sealer = Sealer::Aes { cipher: &c, key_id: 1 };
        assert_ne!(seal(&sealer, "n", "k", b"v", 0), seal(&sealer, "n", "k", b"v", 0));
    }
}
