//! Opening, checking and writing whole `.enc` files: the GCM step (tag checked before any
//! plaintext is used), the zlib step (bounded, so a zip bomb is an error), and the writer
//! that does what the Python module does.
//!
//! The file stores the tag before the ciphertext while `aes-gcm` appends it; the detached
//! in-place calls take and give the tag separately, so no swap or extra copy is needed, and
//! `verify` of an uncompressed file checks the tag without decrypting at all. Every
//! buffer that holds plaintext (or zlib'd plaintext) is wiped when dropped, including on
//! error paths; buffers are sized up front or grown by hand so no reallocation leaves an
//! unwiped copy behind.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use flate2::{Compress, Decompress, FlushCompress, FlushDecompress, Status};
use zeroize::Zeroizing;

use super::error::{fill_random, EncError};
use super::format::{self, parse, Compression, EncFile, NONCE_LEN};
use super::keys::{AppPrivateKey, AppPublicKey};
use super::{gcm, kem};

/// The default bound on a decompressed plaintext (1 GiB): far above any app cache, far below
/// what a zip bomb would claim.
pub const MAX_INFLATED_LEN: usize = 1 << 30;

/// What [`verify`] learned about a file whose tag checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The plaintext's size (after inflating, for a compressed file).
    pub plaintext_len: u64,
    /// Whether the payload is a zlib stream.
    pub compressed: bool,
}

/// Decrypts an `.enc` file with the app's private key: parse, GCM check, then inflate if the
/// flag says zlib (bounded by [`MAX_INFLATED_LEN`]). The plaintext is wiped when dropped.
pub fn decrypt(bytes: &[u8], key: &AppPrivateKey) -> Result<Zeroizing<Vec<u8>>, EncError> {
    decrypt_with_limit(bytes, key, MAX_INFLATED_LEN)
}

/// [`decrypt`] with an explicit bound on the inflated plaintext, in bytes.
pub fn decrypt_with_limit(
    bytes: &[u8],
    key: &AppPrivateKey,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let file = parse(bytes)?;
    decrypt_parsed(&file, &*kem::decapsulate(key, file.encapsulated_key)?, limit)
}

/// [`decrypt`] after the key step, with the file's AES key (also the fuzzing entry point).
pub(super) fn decrypt_parsed(
    file: &EncFile<'_>,
    aes_key: &[u8; 32],
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let payload = open(file, aes_key)?;
    match file.compression {
        Compression::None => unflagged(payload),
        Compression::Zlib => inflate(&payload, limit),
    }
}

/// Checks that a file decrypts, for backups, keeping no plaintext; returns the plaintext's
/// size and whether it was compressed. An uncompressed file has its GCM tag checked in place
/// (GHASH only: no copy, no decryption; see `gcm.rs`); a compressed one is decrypted into one
/// buffer and inflated through a small scratch buffer, so its zlib stream is proven too.
pub fn verify(bytes: &[u8], key: &AppPrivateKey) -> Result<Verified, EncError> {
    let file = parse(bytes)?;
    verify_parsed(&file, &*kem::decapsulate(key, file.encapsulated_key)?)
}

/// [`verify`] after the key step, with the file's AES key (also the fuzzing entry point).
pub(super) fn verify_parsed(file: &EncFile<'_>, aes_key: &[u8; 32]) -> Result<Verified, EncError> {
    let plaintext_len = match file.compression {
        Compression::None => {
            if !gcm::tag_matches(aes_key, file.nonce, file.ciphertext, file.tag) {
                return Err(EncError::TagMismatch);
            }
            // The damaged-flag check of `decrypt`, from the first block alone unless that
            // starts like a zlib header.
            if zlib_header(&gcm::first_block(aes_key, file.nonce, file.ciphertext)) {
                unflagged(open(file, aes_key)?)?;
            }
            file.ciphertext.len() as u64
        }
        Compression::Zlib => inflated_len(&open(file, aes_key)?, MAX_INFLATED_LEN)?,
    };
    Ok(Verified { plaintext_len, compressed: file.compression == Compression::Zlib })
}

/// Checks that `bytes` is exactly what the app encrypted: the GCM tag over the whole
/// ciphertext (computed without decrypting), and a first block that agrees with the flag
/// (a zlib header when flag 1). What a backup needs: the tag authenticates the exact bytes
/// the app wrote, so the full inflate of a compressed file (most of the cost of [`verify`]
/// on a large one) is left to [`decrypt`] when the content is needed.
pub fn verify_tag(bytes: &[u8], key: &AppPrivateKey) -> Result<(), EncError> {
    let file = parse(bytes)?;
    verify_tag_parsed(&file, &*kem::decapsulate(key, file.encapsulated_key)?)
}

/// [`verify_tag`] after the key step, with the file's AES key (also the fuzzing entry point).
pub(super) fn verify_tag_parsed(file: &EncFile<'_>, aes_key: &[u8; 32]) -> Result<(), EncError> {
    if !gcm::tag_matches(aes_key, file.nonce, file.ciphertext, file.tag) {
        return Err(EncError::TagMismatch);
    }
    check_flag(file, aes_key)
}

/// Once the tag matched: a first block that agrees with the flag (a zlib header when flag
/// 1; when flag 0 looks like zlib, the whole payload is checked not to be zlib).
pub(super) fn check_flag(file: &EncFile<'_>, aes_key: &[u8; 32]) -> Result<(), EncError> {
    let looks_zlib = zlib_header(&gcm::first_block(aes_key, file.nonce, file.ciphertext));
    match file.compression {
        Compression::Zlib if !looks_zlib => Err(EncError::DamagedFlag),
        Compression::None if looks_zlib => unflagged(open(file, aes_key)?).map(drop),
        _ => Ok(()),
    }
}

/// Encrypts `plaintext` for the app owning `key`, as the Python writer does: a fresh
/// ephemeral key (standard) or encapsulation (quantum), a random nonce, zlib at the best
/// level kept only when smaller than the plaintext (flag 1, else flag 0).
pub fn encrypt(plaintext: &[u8], key: &AppPublicKey) -> Result<Vec<u8>, EncError> {
    let mut compressed = deflate(plaintext, plaintext.len())?;
    if compressed.is_none() && is_zlib_stream(plaintext) {
        // Stored with flag 0 this would read as a damaged flag (see `unflagged`); flag 1
        // costs a few bytes and still opens in the Python apps. JSON never gets here.
        compressed = deflate(plaintext, zlib_bound(plaintext.len()))?;
    }
    let (payload, compression) = match &compressed {
        Some(zlib) => (zlib.as_slice(), Compression::Zlib),
        None => (plaintext, Compression::None),
    };
    let (encapsulated, aes_key) = kem::encapsulate(key)?;
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let mut file =
        Zeroizing::new(format::start_file(&encapsulated, &nonce, compression, payload.len())?);
    let start = file.len();
    file.extend_from_slice(payload);
    let cipher = Aes256Gcm::new(aes_key.as_ref().into());
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut file[start..])
        .map_err(|_| EncError::TooLarge { len: payload.len() })?;
    format::set_tag(&mut file, encapsulated.len(), &tag);
    Ok(std::mem::take(&mut *file))
}

/// The GCM step: the decrypted payload (still zlib'd if flagged), or
/// [`EncError::TagMismatch`].
fn open(file: &EncFile<'_>, aes_key: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let cipher = Aes256Gcm::new(aes_key.into());
    let mut buffer = Zeroizing::new(file.ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(file.nonce),
            b"",
            &mut buffer,
            Tag::from_slice(file.tag),
        )
        .map_err(|_| EncError::TagMismatch)?;
    Ok(buffer)
}

/// zlib at the best level into a buffer of `room` bytes, `None` unless the stream finishes
/// in fewer bytes than that. With `room` = the plaintext's size this is the Python rule
/// (compressed only when smaller), and the buffer never needs to grow.
fn deflate(plaintext: &[u8], room: usize) -> Result<Option<Zeroizing<Vec<u8>>>, EncError> {
    let mut out = Zeroizing::new(Vec::with_capacity(room));
    let mut z = Compress::new(flate2::Compression::best(), true);
    loop {
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let rest = plaintext.get(consumed..).unwrap_or_default();
        let before = (z.total_in(), z.total_out());
        let status = z
            .compress_vec(rest, &mut out, FlushCompress::Finish)
            .map_err(|err| EncError::Compress { reason: err.to_string() })?;
        match status {
            Status::StreamEnd => break,
            _ if out.len() >= room => return Ok(None),
            _ if (z.total_in(), z.total_out()) == before => {
                return Err(EncError::Compress { reason: "the encoder made no progress".into() })
            }
            _ => {}
        }
    }
    Ok((out.len() < room).then_some(out))
}

/// zlib's `compressBound`: the most a stream of `len` bytes can take.
fn zlib_bound(len: usize) -> usize {
    len.saturating_add((len >> 12) + (len >> 14) + (len >> 25) + 64)
}

/// A flag-0 payload, unless it is a complete zlib stream: the flag is not covered by the
/// tag, and a compressed file whose flag byte was damaged to 0x00 would otherwise decrypt
/// "fine" to zlib bytes that the app then fails to parse. (The apps' JSON never starts like
/// a zlib header, and `encrypt` writes flag 1 for a plaintext that is itself one.)
fn unflagged(payload: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>, EncError> {
    if is_zlib_stream(&payload) {
        return Err(EncError::DamagedFlag);
    }
    Ok(payload)
}

/// Whether `bytes` starts with a valid zlib header and inflates to a checked stream end.
fn is_zlib_stream(bytes: &[u8]) -> bool {
    zlib_header(bytes) && inflated_len(bytes, MAX_INFLATED_LEN).is_ok()
}

/// Whether `bytes` starts with a valid zlib header (deflate, window ≤ 32 KiB, no preset
/// dictionary, header checksum right).
fn zlib_header(bytes: &[u8]) -> bool {
    match bytes {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && flg & 0x20 == 0
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// Inflates a zlib stream into a wiped buffer, growing it by hand (new buffer, copy, wipe
/// the old) up to `limit` bytes. Bytes after the end of the stream are ignored, as Python's
/// `zlib.decompress` does; a stream that stops early is an error.
fn inflate(input: &[u8], limit: usize) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let mut out = Zeroizing::new(Vec::with_capacity(
        input.len().saturating_mul(4).max(64).min(limit.saturating_add(1)),
    ));
    let mut z = Decompress::new(true);
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(EncError::InflatedTooLarge { limit });
            }
            let grown =
                out.capacity().saturating_mul(2).min(limit.saturating_add(1)).max(out.len() + 1);
            let mut bigger = Zeroizing::new(Vec::with_capacity(grown));
            bigger.extend_from_slice(&out);
            out = bigger;
        }
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(
                input.get(consumed..).unwrap_or_default(),
                &mut out,
                FlushDecompress::None,
            )
            .map_err(|err| EncError::Inflate { reason: err.to_string() })?;
        if out.len() > limit {
            return Err(EncError::InflatedTooLarge { limit });
        }
        match status {
            Status::StreamEnd => return Ok(out),
            _ if (z.total_in(), z.total_out()) == before && out.len() < out.capacity() => {
                return Err(EncError::Inflate { reason: "the stream ends early".into() })
            }
            _ => {}
        }
    }
}

/// The inflated size of a zlib stream, decoded through a fixed scratch buffer (wiped on
/// drop) and bounded by `limit`.
fn inflated_len(input: &[u8], limit: usize) -> Result<u64, EncError> {
    let mut scratch = Zeroizing::new(vec![0u8; 64 * 1024]);
    let mut z = Decompress::new(true);
    loop {
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress(
                input.get(consumed..).unwrap_or_default(),
                &mut scratch,
                FlushDecompress::None,
            )
            .map_err(|err| EncError::Inflate { reason: err.to_string() })?;
        if z.total_out() > limit as u64 {
            return Err(EncError::InflatedTooLarge { limit });
        }
        match status {
            Status::StreamEnd => return Ok(z.total_out()),
            _ if (z.total_in(), z.total_out()) == before => {
                return Err(EncError::Inflate { reason: "the stream ends early".into() })
            }
            _ => {}
        }
    }
}
