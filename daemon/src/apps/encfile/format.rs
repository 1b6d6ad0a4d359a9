//! The byte layout of an `.enc` file: splitting one into its fields (no copies, no crypto) and
//! laying out the header when writing one.
//!
//! Layout: `L` (u32 big-endian) ‖ encapsulated key (`L` bytes) ‖ nonce (12) ‖ GCM tag (16) ‖
//! compression flag (1) ‖ ciphertext. Only the tag authenticates anything, so parsing checks
//! structure alone and a torn file is reported by the field it ends in.

use super::error::{EncError, Field};
use super::EncryptorType;

/// Size of the AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Size of the GCM tag.
pub const TAG_LEN: usize = 16;
/// The smallest encapsulated key length accepted (anything shorter is not a key of either type).
pub const MIN_KEY_LEN: usize = 32;
/// The largest encapsulated key length accepted, so a damaged or foreign length prefix (say
/// 2 GB) is refused outright instead of being read as a length.
pub const MAX_KEY_LEN: usize = 64 * 1024;
/// The encapsulated key length of a standard file (a P-384 DER SubjectPublicKeyInfo).
pub const STANDARD_KEY_LEN: usize = 120;
/// The encapsulated key length of a quantum file (a Kyber768 ciphertext).
pub const QUANTUM_KEY_LEN: usize = 1088;

/// How the encrypted payload is encoded, from the flag byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Flag `0x00`: the payload is the plaintext.
    None,
    /// Flag `0x01`: the payload is a zlib stream of the plaintext.
    Zlib,
}

impl Compression {
    /// The flag byte written for this encoding.
    pub fn flag(self) -> u8 {
        match self {
            Compression::None => 0x00,
            Compression::Zlib => 0x01,
        }
    }
}

/// An `.enc` file split into its fields, borrowing from the file's bytes: what `inspect`
/// shows and what decryption works from, so nothing is copied before the tag is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncFile<'a> {
    /// The sender's ephemeral P-384 public key (DER SPKI) or the Kyber768 ciphertext.
    pub encapsulated_key: &'a [u8],
    /// The AES-GCM nonce.
    pub nonce: &'a [u8; NONCE_LEN],
    /// The GCM tag (stored before the ciphertext).
    pub tag: &'a [u8; TAG_LEN],
    /// The compression flag.
    pub compression: Compression,
    /// The AES-256-GCM ciphertext (no associated data).
    pub ciphertext: &'a [u8],
}

impl EncFile<'_> {
    /// The type the encapsulated key's length suggests (120 bytes standard, 1088 quantum),
    /// `None` for any other length. A hint for inspection only: the key decides.
    pub fn likely_type(&self) -> Option<EncryptorType> {
        match self.encapsulated_key.len() {
            STANDARD_KEY_LEN => Some(EncryptorType::Standard),
            QUANTUM_KEY_LEN => Some(EncryptorType::Quantum),
            _ => None,
        }
    }

    /// Bytes before the ciphertext (length prefix, key, nonce, tag, flag).
    pub fn header_len(&self) -> usize {
        header_len(self.encapsulated_key.len())
    }
}

/// The size of the header in front of the ciphertext for a key of `key_len` bytes.
pub(super) fn header_len(key_len: usize) -> usize {
    4 + key_len + NONCE_LEN + TAG_LEN + 1
}

/// Splits `bytes` into the fields of an `.enc` file without copying or decrypting.
///
/// Errors: [`EncError::Truncated`] naming the field the file ends in,
/// [`EncError::ImplausibleKeyLength`] for a length prefix outside
/// [`MIN_KEY_LEN`]`..=`[`MAX_KEY_LEN`], [`EncError::UnknownCompressionFlag`].
pub fn parse(bytes: &[u8]) -> Result<EncFile<'_>, EncError> {
    let mut reader = Reader { bytes, offset: 0 };
    let prefix: &[u8; 4] = reader.array(Field::LengthPrefix)?;
    let len = u32::from_be_bytes(*prefix);
    let key_len = usize::try_from(len).unwrap_or(usize::MAX);
    if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key_len) {
        return Err(EncError::ImplausibleKeyLength { len, min: MIN_KEY_LEN, max: MAX_KEY_LEN });
    }
    let encapsulated_key = reader.take(Field::EncapsulatedKey, key_len)?;
    let nonce = reader.array(Field::Nonce)?;
    let tag = reader.array(Field::Tag)?;
    let flag_offset = reader.offset;
    let [flag] = *reader.array::<1>(Field::CompressionFlag)?;
    let compression = match flag {
        0x00 => Compression::None,
        0x01 => Compression::Zlib,
        flag => return Err(EncError::UnknownCompressionFlag { flag, offset: flag_offset }),
    };
    let ciphertext = reader.rest();
    Ok(EncFile { encapsulated_key, nonce, tag, compression, ciphertext })
}

/// Reads fields front to back, reporting where the bytes run out.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: Field, need: usize) -> Result<&'a [u8], EncError> {
        let rest = self.bytes.get(self.offset..).unwrap_or_default();
        match rest.get(..need) {
            Some(taken) => {
                self.offset += need;
                Ok(taken)
            }
            None => Err(EncError::Truncated {
                field,
                need,
                offset: self.offset,
                have: rest.len(),
                total: self.bytes.len(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, field: Field) -> Result<&'a [u8; N], EncError> {
        let taken = self.take(field, N)?;
        // `take` returned exactly N bytes, so the conversion cannot fail; map it anyway
        // rather than unwrap.
        taken.try_into().map_err(|_| EncError::Truncated {
            field,
            need: N,
            offset: self.offset - N,
            have: taken.len(),
            total: self.bytes.len(),
        })
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.offset..).unwrap_or_default()
    }
}

/// Starts a file: the header with a zeroed tag slot, capacity for the payload. The caller
/// appends the payload, encrypts it in place and fills the tag with [`set_tag`].
pub(super) fn start_file(
    encapsulated_key: &[u8],
    nonce: &[u8; NONCE_LEN],
    compression: Compression,
    payload_len: usize,
) -> Result<Vec<u8>, EncError> {
    let key_len = u32::try_from(encapsulated_key.len())
        .ok()
        .filter(|_| (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&encapsulated_key.len()))
        .ok_or(EncError::ImplausibleKeyLength {
            len: u32::try_from(encapsulated_key.len()).unwrap_or(u32::MAX),
            min: MIN_KEY_LEN,
            max: MAX_KEY_LEN,
        })?;
    let mut out = Vec::with_capacity(header_len(encapsulated_key.len()) + payload_len);
    out.extend_from_slice(&key_len.to_be_bytes());
    out.extend_from_slice(encapsulated_key);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&[0u8; TAG_LEN]);
    out.push(compression.flag());
    Ok(out)
}

/// Writes the tag into the slot [`start_file`] left for it.
pub(super) fn set_tag(file: &mut [u8], key_len: usize, tag: &[u8]) {
    let at = 4 + key_len + NONCE_LEN;
    if let Some(slot) = file.get_mut(at..at + TAG_LEN) {
        slot.copy_from_slice(tag);
    }
}
