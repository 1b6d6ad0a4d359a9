//! Why an `.enc` file or its keys could not be read, checked or written.
//!
//! The messages are for the person restoring a backup: a torn copy, a wrong key and a missing
//! keyring entry are told apart, and each names the field, offset or keyring user name
//! involved. None quotes key material, passphrases or plaintext.

use super::EncryptorType;

/// A field of the `.enc` layout, named in truncation errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The 4-byte big-endian length of the encapsulated key.
    LengthPrefix,
    /// The ephemeral public key (standard) or KEM ciphertext (quantum).
    EncapsulatedKey,
    /// The 12-byte AES-GCM nonce.
    Nonce,
    /// The 16-byte GCM tag, stored before the ciphertext.
    Tag,
    /// The one-byte compression flag.
    CompressionFlag,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::LengthPrefix => "length prefix",
            Field::EncapsulatedKey => "encapsulated key",
            Field::Nonce => "nonce",
            Field::Tag => "GCM tag",
            Field::CompressionFlag => "compression flag",
        })
    }
}

/// Everything that can go wrong with an `.enc` file, an app key or the keyring layout.
#[derive(Debug, thiserror::Error)]
pub enum EncError {
    /// The file ends inside a header field: a torn or truncated copy.
    #[error(
        "truncated in the {field}: need {need} bytes at offset {offset}, file has {have} \
         ({total} bytes in all)"
    )]
    Truncated {
        /// The field that is cut short.
        field: Field,
        /// The field's size.
        need: usize,
        /// Where the field starts.
        offset: usize,
        /// How many bytes the file has from `offset` on.
        have: usize,
        /// The file's whole size.
        total: usize,
    },
    /// The length prefix is not a plausible key length (not an `.enc` file, or damaged).
    #[error(
        "implausible encapsulated key length {len} in the length prefix (expected {min} to \
         {max} bytes; a standard file has 120, a quantum one 1088): not an .enc file, or its \
         first 4 bytes are damaged"
    )]
    ImplausibleKeyLength {
        /// The length found.
        len: u32,
        /// The smallest accepted.
        min: usize,
        /// The largest accepted.
        max: usize,
    },
    /// The compression flag is neither 0x00 nor 0x01.
    #[error("unknown compression flag 0x{flag:02x} at offset {offset} (expected 0x00 or 0x01)")]
    UnknownCompressionFlag {
        /// The byte found.
        flag: u8,
        /// Where it is.
        offset: usize,
    },
    /// The encapsulated key does not fit the private key's type.
    #[error("the file's encapsulated key does not fit a {kind} key: {reason}")]
    EncapsulatedKey {
        /// The type of the key the file was opened with.
        kind: EncryptorType,
        /// What does not fit.
        reason: String,
    },
    /// The GCM tag did not verify: the key is not the one the file was written for, or some
    /// byte of the file (nonce, tag, key or ciphertext) was changed.
    #[error("the GCM tag did not verify: wrong key or damaged file")]
    TagMismatch,
    /// The flag says uncompressed but the payload is a complete zlib stream: the flag byte,
    /// which the tag does not cover, was damaged.
    #[error(
        "the compression flag says 0x00 (uncompressed) but the payload is a zlib stream: the \
         flag byte, which the GCM tag does not cover, was probably damaged (it should be 0x01)"
    )]
    DamagedFlag,
    /// The decrypted payload is flagged zlib but does not inflate.
    #[error("the decrypted payload is flagged as zlib but is not a valid zlib stream: {reason}")]
    Inflate {
        /// What the decoder said.
        reason: String,
    },
    /// The payload inflates past the size limit (a zip bomb, or a limit set too low).
    #[error("the compressed payload inflates to more than {limit} bytes; refused")]
    InflatedTooLarge {
        /// The limit that was hit.
        limit: usize,
    },
    /// Compressing the plaintext failed.
    #[error("zlib compression failed: {reason}")]
    Compress {
        /// What the encoder said.
        reason: String,
    },
    /// The plaintext is too large to encrypt under one GCM nonce.
    #[error("the plaintext is too large to encrypt ({len} bytes)")]
    TooLarge {
        /// The payload's size.
        len: usize,
    },
    /// Bytes that should be a key of the given type are not.
    #[error("invalid {kind} {what}: {reason}")]
    InvalidKey {
        /// The key type.
        kind: EncryptorType,
        /// "public key" or "private key".
        what: &'static str,
        /// What is wrong (never the bytes).
        reason: String,
    },
    /// The public and private keys of a pair are of different types.
    #[error("key types differ: the public key is {public}, the private key is {private}")]
    KeyTypeMismatch {
        /// The public key's type.
        public: EncryptorType,
        /// The private key's type.
        private: EncryptorType,
    },
    /// The stored public key does not belong to the stored private key.
    #[error("the stored public key does not belong to the stored private key")]
    KeyPairMismatch,
    /// An `encryptor_type` that is neither `standard` nor `quantum`.
    #[error("unknown encryptor type {found:?} (expected \"standard\" or \"quantum\")")]
    UnknownEncryptorType {
        /// What was found (at most 32 characters of it).
        found: String,
    },
    /// A keyring entry the layout requires does not exist.
    #[error("keyring entry {user:?} is missing")]
    MissingEntry {
        /// The keyring user name.
        user: String,
    },
    /// A keyring entry exists but does not hold what the layout says.
    #[error("keyring entry {user:?} is invalid: {reason}")]
    BadEntry {
        /// The keyring user name.
        user: String,
        /// What is wrong (never the value).
        reason: String,
    },
    /// Reading a keyring entry failed.
    #[error("cannot read keyring entry {user:?}: {source}")]
    Lookup {
        /// The keyring user name.
        user: String,
        /// The key store's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The stored private key did not decrypt under the passphrase.
    #[error(
        "the stored private key did not decrypt: wrong passphrase (check the _PASSPHRASE \
         environment override) or damaged salt, nonce, tag or encrypted_priv entries"
    )]
    WrongPassphrase,
    /// The operating system's random source failed.
    #[error("the system random source failed: {reason}")]
    Random {
        /// What getrandom said.
        reason: String,
    },
}

impl EncError {
    /// Whether the file is cut short (as opposed to damaged, foreign or opened with the wrong
    /// key): the case of a copy taken while an app was writing.
    pub fn is_truncation(&self) -> bool {
        matches!(self, EncError::Truncated { .. })
    }
}

/// Fills `buf` from the OS random source.
pub(super) fn fill_random(buf: &mut [u8]) -> Result<(), EncError> {
    getrandom::getrandom(buf).map_err(|err| EncError::Random { reason: err.to_string() })
}
