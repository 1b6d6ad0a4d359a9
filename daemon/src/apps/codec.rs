//! One app's way of opening and sealing its file: the `.enc` format with its unlocked key
//! pair, or plain JSON for `strategy = none`. Everything that must "verify by decryption"
//! goes through here, so a backup, a restore and a migration check files the same way.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::encfile::{self, AppKeyPair, EncError, TagStream};

/// How to open an app's file.
#[derive(Clone)]
pub enum AppCodec {
    /// Plain UTF-8 JSON.
    Plain,
    /// The `.enc` format, with the app's key pair (unlocked once, shared).
    Encrypted(Arc<AppKeyPair>),
}

impl std::fmt::Debug for AppCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppCodec::Plain => f.write_str("AppCodec::Plain"),
            AppCodec::Encrypted(_) => f.write_str("AppCodec::Encrypted(<keys>)"),
        }
    }
}

/// Why a file did not open.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The `.enc` container or its GCM tag.
    #[error(transparent)]
    Enc(#[from] EncError),
    /// The plaintext is not JSON.
    #[error("the content is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The file got shorter while it was copied (a writer was at work).
    #[error("the file changed while it was copied: {copied} of {expected} bytes")]
    Changed {
        /// Its size when the copy started.
        expected: u64,
        /// Bytes there were to copy.
        copied: u64,
    },
}

impl AppCodec {
    /// Checks that `bytes` open: for `.enc` files the GCM tag over the whole ciphertext
    /// (which authenticates every byte the app encrypted) and the compression flag; for
    /// plain ones a JSON parse. No plaintext is kept.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), CodecError> {
        match self {
            AppCodec::Plain => {
                serde_json::from_slice::<serde::de::IgnoredAny>(bytes)?;
                Ok(())
            }
            AppCodec::Encrypted(keys) => Ok(encfile::verify_tag(bytes, keys.private())?),
        }
    }

    /// A check fed the file as it is copied, started from its first bytes (see
    /// [`TagStream::start`]): `Some` for `.enc` files, whose GCM tag is computed piece by
    /// piece; `None` for plain JSON, which [`AppCodec::verify`] checks whole.
    pub fn start_stream(&self, head: &[u8]) -> Option<Result<TagStream, CodecError>> {
        match self {
            AppCodec::Plain => None,
            AppCodec::Encrypted(keys) => {
                Some(TagStream::start(head, keys.private()).map_err(CodecError::from))
            }
        }
    }

    /// The plaintext JSON bytes (zeroised when dropped: app caches hold secrets).
    pub fn open(&self, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, CodecError> {
        match self {
            AppCodec::Plain => {
                serde_json::from_slice::<serde::de::IgnoredAny>(bytes)?;
                Ok(Zeroizing::new(bytes.to_vec()))
            }
            AppCodec::Encrypted(keys) => Ok(encfile::decrypt(bytes, keys.private())?),
        }
    }

    /// The file bytes for `plaintext`, sealed for the app's public key so the app opens it.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, CodecError> {
        match self {
            AppCodec::Plain => Ok(plaintext.to_vec()),
            AppCodec::Encrypted(keys) => Ok(encfile::encrypt(plaintext, keys.public())?),
        }
    }
}
