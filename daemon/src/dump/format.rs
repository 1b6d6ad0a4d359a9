//! Dump format version 1: constants, the header, key derivation, nonces and the trailer.
//! `docs/dump-format.md` is the prose specification of the same bytes; keep the two in step.

use aes_gcm::{Aes256Gcm, Key, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::DumpError;

/// First bytes of every dump file.
pub const MAGIC: [u8; 8] = *b"CMGRDUMP";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Length of the random per-dump HKDF salt.
pub const SALT_LEN: usize = 32;
/// Length of the random nonce prefix; the chunk counter and last flag fill the other 5 bytes.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Length of the key check value that tells "wrong key" from "damaged chunk".
pub const KEY_CHECK_LEN: usize = 16;
/// Header size: magic 8, version 2, created 8, salt 32, nonce prefix 7, key check 16.
pub const HEADER_LEN: usize = 8 + 2 + 8 + SALT_LEN + NONCE_PREFIX_LEN + KEY_CHECK_LEN;
/// AES-GCM tag length, appended to each chunk's ciphertext.
pub const TAG_LEN: usize = 16;
/// Most plaintext bytes in one chunk: bounds the reader's memory per chunk.
pub const CHUNK_PLAINTEXT_MAX: usize = 64 * 1024;
/// Most ciphertext bytes (tag included) a chunk frame may declare.
pub const CHUNK_CIPHERTEXT_MAX: usize = CHUNK_PLAINTEXT_MAX + TAG_LEN;
/// Chunk frame head: kind (1 byte) + ciphertext length (u32 LE).
pub const FRAME_HEAD_LEN: usize = 5;
/// Frame kind of a chunk carrying record-stream bytes.
pub const KIND_DATA: u8 = 0x00;
/// Frame kind of the final chunk (the trailer); also the STREAM "last chunk" flag.
pub const KIND_FINAL: u8 = 0x01;
/// Final chunk plaintext: entry count (u64 LE) + SHA-256 of all preceding file bytes.
pub const TRAILER_LEN: usize = 8 + 32;
/// Length prefix of each record in the record stream (u32 LE).
pub const RECORD_PREFIX_LEN: usize = 4;
/// Largest encoded record: a value as large as the biggest allowed frame (1 GiB) plus room for
/// its namespace, key and MessagePack overhead.
pub const MAX_RECORD_LEN: usize = (1 << 30) + (1 << 20);
/// Most chunks in one dump (the counter is 32 bits): 256 TiB of records.
pub const MAX_CHUNKS: u64 = 1 << 32;
/// HKDF-SHA256 info label of the AES-256-GCM file key.
pub const INFO_FILE_KEY: &[u8] = b"cachemgr dump v1 file key";
/// HKDF-SHA256 info label of the key check value.
pub const INFO_KEY_CHECK: &[u8] = b"cachemgr dump v1 key check";

/// The fixed-size header of a dump; its encoded bytes are the AAD of every chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub created_unix_ms: u64,
    pub salt: [u8; SALT_LEN],
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    pub key_check: [u8; KEY_CHECK_LEN],
}

impl Header {
    /// The header's bytes, exactly as written at the start of the file.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut w = Cursor { buf: &mut out, pos: 0 };
        w.put(&MAGIC);
        w.put(&FORMAT_VERSION.to_le_bytes());
        w.put(&self.created_unix_ms.to_le_bytes());
        w.put(&self.salt);
        w.put(&self.nonce_prefix);
        w.put(&self.key_check);
        out
    }

    /// Parses the fields after magic and version (which the reader checks first).
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Header {
        let mut created = [0u8; 8];
        let mut salt = [0u8; SALT_LEN];
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        let mut key_check = [0u8; KEY_CHECK_LEN];
        let mut pos = MAGIC.len() + 2;
        for field in [&mut created[..], &mut salt[..], &mut nonce_prefix[..], &mut key_check[..]] {
            field.copy_from_slice(&bytes[pos..pos + field.len()]);
            pos += field.len();
        }
        Header { created_unix_ms: u64::from_le_bytes(created), salt, nonce_prefix, key_check }
    }
}

/// Sequential writer into a fixed array (lengths are constants, so it cannot overrun).
struct Cursor<'a> {
    buf: &'a mut [u8; HEADER_LEN],
    pos: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
}

/// Keys derived for one dump; wiped from memory when dropped.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct FileKeys {
    file_key: [u8; 32],
    pub key_check: [u8; KEY_CHECK_LEN],
}

impl FileKeys {
    /// HKDF-SHA256 with the dump's salt over the root key; two labels, two outputs.
    pub fn derive(root_key: &[u8; 32], salt: &[u8; SALT_LEN]) -> Result<FileKeys, DumpError> {
        let hkdf = Hkdf::<Sha256>::new(Some(salt), root_key);
        let mut keys = FileKeys { file_key: [0; 32], key_check: [0; KEY_CHECK_LEN] };
        let failed = |_| DumpError::Internal { detail: "HKDF output length rejected".into() };
        hkdf.expand(INFO_FILE_KEY, &mut keys.file_key).map_err(failed)?;
        hkdf.expand(INFO_KEY_CHECK, &mut keys.key_check).map_err(failed)?;
        Ok(keys)
    }

    /// The AEAD for this dump's chunks.
    pub fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.file_key))
    }

    /// Whether `stored` equals this key check, in time independent of where they differ.
    pub fn key_check_matches(&self, stored: &[u8; KEY_CHECK_LEN]) -> bool {
        self.key_check.iter().zip(stored).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// The 96-bit nonce of chunk `index`: prefix (7) ‖ index (u32 BE) ‖ kind (1).
pub(crate) fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], index: u32, kind: u8) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    nonce[NONCE_PREFIX_LEN..NONCE_PREFIX_LEN + 4].copy_from_slice(&index.to_be_bytes());
    nonce[11] = kind;
    nonce
}

/// The final chunk's plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trailer {
    pub entries: u64,
    pub checksum: [u8; 32],
}

impl Trailer {
    /// Encodes as `entries` (u64 LE) ‖ checksum.
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut out = [0u8; TRAILER_LEN];
        out[..8].copy_from_slice(&self.entries.to_le_bytes());
        out[8..].copy_from_slice(&self.checksum);
        out
    }

    /// Decodes a plaintext that must be exactly [`TRAILER_LEN`] bytes.
    pub fn decode(bytes: &[u8]) -> Option<Trailer> {
        let bytes: &[u8; TRAILER_LEN] = bytes.try_into().ok()?;
        let mut entries = [0u8; 8];
        entries.copy_from_slice(&bytes[..8]);
        let mut checksum = [0u8; 32];
        checksum.copy_from_slice(&bytes[8..]);
        Some(Trailer { entries: u64::from_le_bytes(entries), checksum })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_has_the_documented_layout() {
        let header = Header {
            created_unix_ms: 0x0102_0304_0506_0708,
            salt: [0xAA; SALT_LEN],
            nonce_prefix: [0xBB; NONCE_PREFIX_LEN],
            key_check: [0xCC; KEY_CHECK_LEN],
        };
        let bytes = header.encode();
        assert_eq!(HEADER_LEN, 73);
        assert_eq!(&bytes[..8], b"CMGRDUMP");
        assert_eq!(&bytes[8..10], &[1, 0]);
        assert_eq!(&bytes[10..18], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&bytes[18..50], &[0xAA; 32]);
        assert_eq!(&bytes[50..57], &[0xBB; 7]);
        assert_eq!(&bytes[57..73], &[0xCC; 16]);
        assert_eq!(Header::decode(&bytes), header);
    }

    #[test]
    fn nonce_layout() {
        let nonce = chunk_nonce(&[1, 2, 3, 4, 5, 6, 7], 0x0A0B_0C0D, KIND_FINAL);
        assert_eq!(nonce, [1, 2, 3, 4, 5, 6, 7, 0x0A, 0x0B, 0x0C, 0x0D, 1]);
    }

    #[test]
    fn keys_depend_on_root_key_and_salt() {
        let a = FileKeys::derive(&[1; 32], &[2; SALT_LEN]).unwrap();
        let b = FileKeys::derive(&[1; 32], &[3; SALT_LEN]).unwrap();
        let c = FileKeys::derive(&[4; 32], &[2; SALT_LEN]).unwrap();
        assert!(!a.key_check_matches(&b.key_check));
        assert!(!a.key_check_matches(&c.key_check));
        assert!(a.key_check_matches(&FileKeys::derive(&[1; 32], &[2; SALT_LEN]).unwrap().key_check));
        assert_ne!(a.file_key[..KEY_CHECK_LEN], a.key_check);
    }

    #[test]
    fn trailer_round_trips_and_rejects_other_lengths() {
        let trailer = Trailer { entries: 42, checksum: [9; 32] };
        assert_eq!(Trailer::decode(&trailer.encode()), Some(trailer));
        assert_eq!(Trailer::decode(&[0; TRAILER_LEN - 1]), None);
    }
}
