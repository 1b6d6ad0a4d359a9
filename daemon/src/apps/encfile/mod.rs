//! The `.enc` application cache format (see `ENCRYPTED_CACHE_FORMAT.md` in the shared compat
//! docs), byte-compatible with the Python module the desktop apps share: files written here
//! open in the apps and the other way round, and the apps' keys are read from (and written
//! to) the keyring in the same layout.
//!
//! - [`parse`] splits a file into its fields, reporting a torn file by the field it ends in.
//! - [`decrypt`], [`verify`] and [`encrypt`] do the whole file with an app key.
//! - [`StoredAppKeys`] is the keyring layout: read, unlock, seal, write.
//!
//! Nothing here logs; no error message carries key material, passphrases or plaintext.

mod cipher;
mod error;
mod format;
#[doc(hidden)]
pub mod fuzzing;
mod gcm;
mod kem;
mod keys;
mod kyber;
mod stored;
mod stream;

#[cfg(test)]
mod tests;

pub use cipher::{
    decrypt, decrypt_with_limit, encrypt, verify, verify_tag, Verified, MAX_INFLATED_LEN,
};
pub use error::{EncError, Field};
pub use format::{
    parse, Compression, EncFile, MAX_KEY_LEN, MIN_KEY_LEN, NONCE_LEN, QUANTUM_KEY_LEN,
    STANDARD_KEY_LEN, TAG_LEN,
};
pub use keys::{AppKeyPair, AppPrivateKey, AppPublicKey, EncryptorType};
pub use stored::{
    entry_name, generate_passphrase, passphrase_env_var, StoredAppKeys, CHUNK_HEX_CHARS,
    PBKDF2_ITERATIONS,
};
pub use stream::{TagStream, MAX_HEADER_LEN};

/// The keyring service every app of the family uses.
pub const SERVICE: &str = "MyPersonalApplicationsService";
