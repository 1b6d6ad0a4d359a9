//! Entry points for the fuzz targets in `fuzz/` and the property tests; not an API (hidden
//! from the docs, no stability promise).
//!
//! [`DumpReader`](super::DumpReader) reads files; the fuzzer has bytes, so [`read_bytes`] runs
//! the same reader over memory. Random bytes almost never pass a chunk's GCM tag, which would
//! leave the record decoder unreached, so [`seal_stream`] wraps arbitrary record-stream bytes
//! in correctly sealed chunks for the reader to decode.

use std::io::Cursor;
use std::path::Path;

use aes_gcm::AeadInPlace;
use sha2::{Digest, Sha256};

use super::format::{
    chunk_nonce, FileKeys, Header, Trailer, KIND_DATA, KIND_FINAL, NONCE_PREFIX_LEN, SALT_LEN,
};
use super::reader::DumpReader;
use super::{DumpError, DumpSummary};

/// Reads a whole dump from `bytes` as a restore would (every record, then the final chunk).
pub fn read_bytes(bytes: &[u8], root_key: &[u8; 32]) -> Result<DumpSummary, DumpError> {
    let input = Box::new(Cursor::new(bytes.to_vec()));
    let mut reader = DumpReader::from_input(Path::new("<memory>"), input, root_key)?;
    for record in &mut reader {
        record?;
    }
    reader.summary().ok_or_else(|| DumpError::Internal {
        detail: "reader stopped before the final chunk without an error".into(),
    })
}

/// A dump under `root_key` whose data chunks (of `chunk` plaintext bytes, at least 1) hold
/// `stream` verbatim as the record stream, closed by a final chunk counting `entries`.
pub fn seal_stream(
    root_key: &[u8; 32],
    stream: &[u8],
    chunk: usize,
    entries: u64,
) -> Result<Vec<u8>, DumpError> {
    let salt = [0x5a; SALT_LEN];
    let nonce_prefix = [0xa5; NONCE_PREFIX_LEN];
    let keys = FileKeys::derive(root_key, &salt)?;
    let header =
        Header { created_unix_ms: 0, salt, nonce_prefix, key_check: keys.key_check }.encode();
    let cipher = keys.cipher();
    let mut out = header.to_vec();
    let seal = |out: &mut Vec<u8>, index: u32, kind: u8, plain: &[u8]| {
        let mut body = plain.to_vec();
        let nonce = chunk_nonce(&nonce_prefix, index, kind);
        let tag = cipher
            .encrypt_in_place_detached((&nonce).into(), &header, &mut body)
            .map_err(|_| DumpError::Internal { detail: "sealing a chunk failed".into() })?;
        body.extend_from_slice(&tag);
        let len = u32::try_from(body.len())
            .map_err(|_| DumpError::Internal { detail: "chunk too large".into() })?;
        out.push(kind);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&body);
        Ok::<(), DumpError>(())
    };
    let mut index = 0u32;
    for piece in stream.chunks(chunk.max(1)) {
        seal(&mut out, index, KIND_DATA, piece)?;
        index =
            index.checked_add(1).ok_or(DumpError::Internal { detail: "too many chunks".into() })?;
    }
    let checksum: [u8; 32] = Sha256::digest(&out).into();
    seal(&mut out, index, KIND_FINAL, &Trailer { entries, checksum }.encode())?;
    Ok(out)
}
