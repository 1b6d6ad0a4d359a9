//! Writing a dump: records are MessagePack-encoded into a record stream, cut into 64 KiB chunks,
//! each sealed as it fills, and streamed into an [`AtomicFile`] so the dump at `path` is replaced
//! only when the whole new dump is written and synced.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aes_gcm::{AeadInPlace, Aes256Gcm};
use sha2::{Digest, Sha256};

use super::format::{
    chunk_nonce, FileKeys, Header, Trailer, CHUNK_PLAINTEXT_MAX, FRAME_HEAD_LEN, HEADER_LEN,
    KIND_DATA, KIND_FINAL, MAX_CHUNKS, MAX_RECORD_LEN, NONCE_PREFIX_LEN, SALT_LEN,
};
use super::{DumpError, DumpRecord, DumpSummary};
use crate::atomic_file::AtomicFile;

/// Streams records into a new dump at a path; the old file there (if any) stays until
/// [`DumpWriter::finish`] succeeds. Dropping an unfinished writer deletes its temp file.
pub struct DumpWriter {
    path: PathBuf,
    file: AtomicFile,
    cipher: Aes256Gcm,
    header: [u8; HEADER_LEN],
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// SHA-256 of every byte written so far (the final chunk's checksum).
    hasher: Sha256,
    /// Plaintext of the chunk being filled; sealed in place.
    chunk: Vec<u8>,
    /// Plaintext bytes per data chunk.
    chunk_plaintext: usize,
    /// Reused buffer for one encoded record.
    scratch: Vec<u8>,
    next_chunk: u64,
    entries: u64,
    bytes: u64,
    namespaces: BTreeSet<String>,
    /// Set by any failed write: the file may be inconsistent, so it must never be committed.
    failed: bool,
}

/// The random and time inputs of a header, and the chunk size; tests fix them to produce a
/// reproducible file, or small chunks to get many chunks out of little data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderInputs {
    pub created_unix_ms: u64,
    pub salt: [u8; SALT_LEN],
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// Plaintext bytes per data chunk, 1..=[`CHUNK_PLAINTEXT_MAX`] (readers accept any).
    pub chunk_plaintext: usize,
}

impl HeaderInputs {
    /// Fresh random salt and nonce prefix, and the current time.
    fn fresh(path: &Path) -> Result<HeaderInputs, DumpError> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        let random = |buf: &mut [u8]| {
            getrandom::getrandom(buf).map_err(|err| DumpError::io(path, err.into()))
        };
        random(&mut salt)?;
        random(&mut nonce_prefix)?;
        let created_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Ok(HeaderInputs {
            created_unix_ms,
            salt,
            nonce_prefix,
            chunk_plaintext: CHUNK_PLAINTEXT_MAX,
        })
    }
}

impl std::fmt::Debug for DumpWriter {
    // By hand: the cipher holds key material and must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpWriter")
            .field("path", &self.path)
            .field("entries", &self.entries)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl DumpWriter {
    /// Starts a new dump that will replace `path` on [`finish`](Self::finish); the file key is
    /// derived from `root_key` and a fresh random salt.
    pub fn create(path: &Path, root_key: &[u8; 32]) -> Result<DumpWriter, DumpError> {
        Self::create_with(path, root_key, HeaderInputs::fresh(path)?)
    }

    /// [`create`](Self::create) for a place the path resolver opened for a caller: the file
    /// is created and renamed through that directory's descriptor.
    pub fn create_in(
        place: &crate::access::paths::Place,
        root_key: &[u8; 32],
    ) -> Result<DumpWriter, DumpError> {
        let mut file = AtomicFile::create_in(place.dir(), place.name())
            .map_err(|err| DumpError::io(place.path(), err))?;
        // Written for someone who is not root: the file is theirs, like the folder it is in.
        let principal = place.dir().principal();
        if !principal.unrestricted {
            let gid = rustix::fs::fstat(place.dir().fd())
                .map_err(|err| DumpError::io(place.path(), err.into()))?
                .st_gid;
            file.set_mode_and_owner(0o600, Some((principal.uid, gid)))
                .map_err(|err| DumpError::io(place.path(), err))?;
        }
        Self::with_file(place.path(), file, root_key, HeaderInputs::fresh(place.path())?)
    }

    /// [`create`](Self::create) with given salt, nonce prefix and time.
    pub(crate) fn create_with(
        path: &Path,
        root_key: &[u8; 32],
        inputs: HeaderInputs,
    ) -> Result<DumpWriter, DumpError> {
        let file = AtomicFile::create(path).map_err(|err| DumpError::io(path, err))?;
        Self::with_file(path, file, root_key, inputs)
    }

    fn with_file(
        path: &Path,
        file: AtomicFile,
        root_key: &[u8; 32],
        inputs: HeaderInputs,
    ) -> Result<DumpWriter, DumpError> {
        let chunk_plaintext = inputs.chunk_plaintext.clamp(1, CHUNK_PLAINTEXT_MAX);
        let keys = FileKeys::derive(root_key, &inputs.salt)?;
        let header = Header {
            created_unix_ms: inputs.created_unix_ms,
            salt: inputs.salt,
            nonce_prefix: inputs.nonce_prefix,
            key_check: keys.key_check,
        }
        .encode();
        let mut writer = DumpWriter {
            path: path.to_path_buf(),
            file,
            cipher: keys.cipher(),
            header,
            nonce_prefix: inputs.nonce_prefix,
            hasher: Sha256::new(),
            chunk: Vec::with_capacity(chunk_plaintext + super::format::TAG_LEN),
            chunk_plaintext,
            scratch: Vec::new(),
            next_chunk: 0,
            entries: 0,
            bytes: 0,
            namespaces: BTreeSet::new(),
            failed: false,
        };
        writer.emit(&header)?;
        Ok(writer)
    }

    /// Appends one record. A record that cannot be encoded or is too large is refused and the
    /// writer stays usable; after a failed write to the file the writer is spent: `finish`
    /// refuses, and dropping it leaves the previous dump in place.
    pub fn write(&mut self, record: &DumpRecord) -> Result<(), DumpError> {
        self.usable()?;
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.encode(record, &mut scratch).and_then(|()| {
            // Fits in u32: `encode` checked it against MAX_RECORD_LEN < 2^32.
            let len = (scratch.len() as u32).to_le_bytes();
            let pushed = self.push(&len).and_then(|()| self.push(&scratch));
            // Part of the record may be sealed already: the stream is inconsistent.
            self.failed |= pushed.is_err();
            pushed
        });
        scratch.clear();
        if scratch.capacity() <= CHUNK_PLAINTEXT_MAX {
            // Keep the buffer, unless a huge value made it huge.
            self.scratch = scratch;
        }
        result?;
        self.entries += 1;
        if !self.namespaces.contains(&record.ns) {
            self.namespaces.insert(record.ns.clone());
        }
        Ok(())
    }

    /// Seals the last chunks, syncs and renames the file into place; returns what it holds.
    pub fn finish(mut self) -> Result<DumpSummary, DumpError> {
        self.usable()?;
        if !self.chunk.is_empty() {
            self.seal(KIND_DATA)?;
        }
        // The checksum covers every byte before the final chunk's frame.
        let checksum: [u8; 32] = self.hasher.clone().finalize().into();
        let trailer = Trailer { entries: self.entries, checksum };
        self.chunk.extend_from_slice(&trailer.encode());
        self.seal(KIND_FINAL)?;
        let DumpWriter { path, file, entries, bytes, namespaces, .. } = self;
        file.commit().map_err(|err| DumpError::io(&path, err))?;
        Ok(DumpSummary { entries, bytes, namespaces: namespaces.into_iter().collect() })
    }

    fn usable(&self) -> Result<(), DumpError> {
        if self.failed {
            return Err(DumpError::Internal {
                detail: "an earlier write to this dump failed; it cannot be finished".into(),
            });
        }
        Ok(())
    }

    /// MessagePack (named) encoding of `record` into `out`, within the record size limit.
    fn encode(&self, record: &DumpRecord, out: &mut Vec<u8>) -> Result<(), DumpError> {
        out.clear();
        rmp_serde::encode::write_named(out, record)
            .map_err(|err| DumpError::Internal { detail: format!("encoding a record: {err}") })?;
        if out.len() > MAX_RECORD_LEN {
            return Err(DumpError::TooLarge {
                what: "record",
                offset: self.bytes,
                len: out.len() as u64,
                max: MAX_RECORD_LEN as u64,
            });
        }
        Ok(())
    }

    /// Appends record-stream bytes, sealing each chunk as it reaches the maximum size.
    fn push(&mut self, mut bytes: &[u8]) -> Result<(), DumpError> {
        while !bytes.is_empty() {
            let room = self.chunk_plaintext - self.chunk.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.chunk.extend_from_slice(now);
            bytes = rest;
            if self.chunk.len() == self.chunk_plaintext {
                self.seal(KIND_DATA)?;
            }
        }
        Ok(())
    }

    /// Encrypts `self.chunk` as chunk number `next_chunk` of `kind` and writes its frame.
    fn seal(&mut self, kind: u8) -> Result<(), DumpError> {
        let index = u32::try_from(self.next_chunk).map_err(|_| DumpError::TooLarge {
            what: "chunk count",
            offset: self.bytes,
            len: self.next_chunk + 1,
            max: MAX_CHUNKS,
        })?;
        let nonce = chunk_nonce(&self.nonce_prefix, index, kind);
        let tag = self
            .cipher
            .encrypt_in_place_detached((&nonce).into(), &self.header, &mut self.chunk)
            .map_err(|_| DumpError::Internal { detail: "sealing a chunk failed".into() })?;
        self.chunk.extend_from_slice(&tag);
        // At most CHUNK_CIPHERTEXT_MAX (65552) bytes, so it fits in u32.
        let len = (self.chunk.len() as u32).to_le_bytes();
        let head: [u8; FRAME_HEAD_LEN] = [kind, len[0], len[1], len[2], len[3]];
        let chunk = std::mem::take(&mut self.chunk);
        let written = self.emit(&head).and_then(|()| self.emit(&chunk));
        self.chunk = chunk;
        self.chunk.clear();
        self.next_chunk += 1;
        written
    }

    /// Writes bytes to the file and the running checksum.
    fn emit(&mut self, bytes: &[u8]) -> Result<(), DumpError> {
        if let Err(err) = self.file.write_all(bytes) {
            self.failed = true;
            return Err(DumpError::io(&self.path, err));
        }
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }
}
