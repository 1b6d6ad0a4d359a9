//! Checking an `.enc` file's GCM tag while the file is still being copied: the backup path
//! hashes each piece as soon as the kernel has copied it, so the check ends just after the
//! copy instead of starting there. The result is exactly [`super::verify_tag`]'s.

use super::cipher::check_flag;
use super::error::EncError;
use super::format::{parse, MAX_KEY_LEN, NONCE_LEN, TAG_LEN};
use super::gcm::TagHasher;
use super::kem::{self, AesKey};
use super::keys::AppPrivateKey;

/// The longest header an `.enc` file can have (length prefix, key, nonce, tag, flag): a
/// [`TagStream`] can start once this many bytes (or the whole file) are there.
pub const MAX_HEADER_LEN: usize = 4 + MAX_KEY_LEN + NONCE_LEN + TAG_LEN + 1;

/// A tag check fed the ciphertext piece by piece.
pub struct TagStream {
    aes_key: AesKey,
    nonce: [u8; NONCE_LEN],
    tag: [u8; TAG_LEN],
    header_len: usize,
    /// The header's bytes, to refuse finishing on another file.
    header: Vec<u8>,
    hasher: TagHasher,
}

impl std::fmt::Debug for TagStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TagStream").field("header_len", &self.header_len).finish_non_exhaustive()
    }
}

impl TagStream {
    /// Starts from the file's first bytes, which must hold its whole header (at least
    /// [`MAX_HEADER_LEN`] bytes, or the whole file when it is shorter): parses it and
    /// derives the file's AES key with the app's private key.
    pub fn start(head: &[u8], key: &AppPrivateKey) -> Result<TagStream, EncError> {
        let file = parse(head)?;
        let aes_key = kem::decapsulate(key, file.encapsulated_key)?;
        let hasher = TagHasher::new(&aes_key);
        Ok(TagStream {
            aes_key,
            nonce: *file.nonce,
            tag: *file.tag,
            header_len: file.header_len(),
            header: head[..file.header_len()].to_vec(),
            hasher,
        })
    }

    /// Where the ciphertext starts in the file: feed [`TagStream::update`] from here on.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Adds the next piece of ciphertext, in file order.
    pub fn update(&mut self, ciphertext: &[u8]) {
        self.hasher.update(ciphertext);
    }

    /// The verdict, given the whole file whose ciphertext was fed: the tag, then the flag.
    pub fn finish(self, whole: &[u8]) -> Result<(), EncError> {
        let file = parse(whole)?;
        // The header it started from, and as much ciphertext as was fed.
        let same_file = whole.get(..self.header_len) == Some(self.header.as_slice())
            && self.hasher.fed() == file.ciphertext.len() as u64;
        if !same_file || !self.hasher.matches(&self.nonce, &self.tag) {
            return Err(EncError::TagMismatch);
        }
        check_flag(&file, &self.aes_key)
    }
}
