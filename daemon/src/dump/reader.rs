//! Reading a dump: header checks, chunk authentication in order, record decoding, and the final
//! chunk's count and checksum. Memory stays bounded by one chunk plus the record being decoded,
//! and no allocation is sized from a length before that length is checked against its cap.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use aes_gcm::{AeadInPlace, Aes256Gcm, Tag};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::format::{
    chunk_nonce, FileKeys, Header, Trailer, CHUNK_CIPHERTEXT_MAX, FORMAT_VERSION, FRAME_HEAD_LEN,
    HEADER_LEN, KIND_DATA, KIND_FINAL, MAGIC, MAX_CHUNKS, MAX_RECORD_LEN, RECORD_PREFIX_LEN,
    TAG_LEN, TRAILER_LEN,
};
use super::{DumpError, DumpRecord, DumpSummary};

/// Reads and authenticates the whole dump at `path` without changing anything, and says what it
/// holds.
pub fn verify(path: &Path, root_key: &[u8; 32]) -> Result<DumpSummary, DumpError> {
    read_to_end(DumpReader::open(path, root_key)?)
}

/// Opens `path` once, authenticates the whole file through that open file, and returns a
/// reader of the very same open file from its first byte, for restore's second pass.
///
/// Opening the path twice (verify, then load) would let a file swapped in between be loaded
/// unverified: a damaged one would then fail after the cache had changed. Through one open
/// file a rename over `path` changes nothing here; a write into the file itself while it was
/// being verified is caught by its size or modification time having moved, and refused like
/// damage.
pub fn open_verified(
    path: &Path,
    root_key: &[u8; 32],
) -> Result<(DumpSummary, DumpReader), DumpError> {
    let file = File::open(path).map_err(|err| DumpError::io(path, err))?;
    verified_from(file, path, root_key)
}

/// [`open_verified`] for a file already opened (by the path resolver, for a caller).
pub fn verified_from(
    mut file: File,
    path: &Path,
    root_key: &[u8; 32],
) -> Result<(DumpSummary, DumpReader), DumpError> {
    let before = stamp(&file).map_err(|err| DumpError::io(path, err))?;
    let pass = file.try_clone().map_err(|err| DumpError::io(path, err))?;
    let summary = read_to_end(DumpReader::from_input(path, Box::new(pass), root_key)?)?;
    if stamp(&file).map_err(|err| DumpError::io(path, err))? != before {
        return Err(DumpError::Corrupt {
            offset: 0,
            detail: "the file was written to while it was being verified".into(),
        });
    }
    // The clone shares this file's offset: back to the start for the second pass.
    file.seek(SeekFrom::Start(0)).map_err(|err| DumpError::io(path, err))?;
    let reader = DumpReader::from_input(path, Box::new(file), root_key)?;
    Ok((summary, reader))
}

/// What changes when a file is written to in place: its size and modification time (not its
/// change time, which a new link or a rename of the path moves too).
fn stamp(file: &File) -> std::io::Result<(u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok((meta.len(), meta.mtime(), meta.mtime_nsec()))
}

/// Reads every record of `reader`; what the dump holds once its end is proven.
fn read_to_end(mut reader: DumpReader) -> Result<DumpSummary, DumpError> {
    for record in &mut reader {
        record?;
    }
    reader.summary().ok_or_else(|| DumpError::Internal {
        detail: "reader stopped before the final chunk without an error".into(),
    })
}

/// Where the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed,
}

/// An open dump whose records are read one at a time, as an iterator of
/// `Result<DumpRecord, DumpError>`. It stops after the first error. Records come from
/// authenticated chunks, but only a reader that reached the end (see [`DumpReader::summary`])
/// has proven the dump complete: use [`verify`] before applying anything.
pub struct DumpReader {
    path: PathBuf,
    /// The file (or, for the fuzz targets, bytes in memory; see `fuzzing`).
    input: BufReader<Box<dyn Read + Send>>,
    /// Bytes consumed from the file so far.
    offset: u64,
    cipher: Aes256Gcm,
    header: Header,
    header_bytes: [u8; HEADER_LEN],
    /// SHA-256 of every byte read before the final chunk.
    hasher: Sha256,
    next_chunk: u64,
    /// File offset of the chunk read last (where record errors are reported).
    chunk_offset: u64,
    /// Record-stream bytes not yet decoded, starting at `pos`.
    pending: Vec<u8>,
    pos: usize,
    /// Reused buffer for one chunk's ciphertext.
    chunk: Vec<u8>,
    entries: u64,
    namespaces: BTreeSet<String>,
    state: State,
}

impl std::fmt::Debug for DumpReader {
    // By hand: the cipher holds key material and must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpReader")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl DumpReader {
    /// Opens `path`, checks magic, version and the key check; reads no records yet.
    pub fn open(path: &Path, root_key: &[u8; 32]) -> Result<DumpReader, DumpError> {
        let file = File::open(path).map_err(|err| DumpError::io(path, err))?;
        Self::from_input(path, Box::new(file), root_key)
    }

    /// [`open`](Self::open) on any byte source; `path` only names it in errors.
    pub(crate) fn from_input(
        path: &Path,
        input: Box<dyn Read + Send>,
        root_key: &[u8; 32],
    ) -> Result<DumpReader, DumpError> {
        let mut input = BufReader::with_capacity(FRAME_HEAD_LEN + CHUNK_CIPHERTEXT_MAX, input);
        let mut header_bytes = [0u8; HEADER_LEN];
        let got =
            read_full(&mut input, &mut header_bytes).map_err(|err| DumpError::io(path, err))?;
        let magic_seen = got.min(MAGIC.len());
        if header_bytes[..magic_seen] != MAGIC[..magic_seen] {
            return Err(DumpError::NotADump { path: path.to_path_buf() });
        }
        let version_end = MAGIC.len() + 2;
        if got >= version_end {
            let found = u16::from_le_bytes([header_bytes[8], header_bytes[9]]);
            if found != FORMAT_VERSION {
                return Err(DumpError::UnsupportedVersion { found, supported: FORMAT_VERSION });
            }
        }
        if got < HEADER_LEN {
            let detail = if got == 0 {
                "the file is empty".to_string()
            } else {
                format!("the header needs {HEADER_LEN} bytes, the file has {got}")
            };
            return Err(DumpError::Truncated { offset: got as u64, detail });
        }
        let header = Header::decode(&header_bytes);
        let keys = FileKeys::derive(root_key, &header.salt)?;
        if !keys.key_check_matches(&header.key_check) {
            return Err(DumpError::WrongKeyOrCorrupt);
        }
        let mut hasher = Sha256::new();
        hasher.update(header_bytes);
        Ok(DumpReader {
            path: path.to_path_buf(),
            input,
            offset: HEADER_LEN as u64,
            cipher: keys.cipher(),
            header,
            header_bytes,
            hasher,
            next_chunk: 0,
            chunk_offset: HEADER_LEN as u64,
            pending: Vec::new(),
            pos: 0,
            chunk: Vec::new(),
            entries: 0,
            namespaces: BTreeSet::new(),
            state: State::Reading,
        })
    }

    /// When the dump was written (unix ms, from the header; authenticated once a chunk opened).
    pub fn created_unix_ms(&self) -> u64 {
        self.header.created_unix_ms
    }

    /// What the dump holds, once every record was read and the final chunk checked; `None`
    /// before that or after an error.
    pub fn summary(&self) -> Option<DumpSummary> {
        (self.state == State::Done).then(|| DumpSummary {
            entries: self.entries,
            bytes: self.offset,
            namespaces: self.namespaces.iter().cloned().collect(),
        })
    }

    /// The next record, `None` at a verified end.
    fn next_record(&mut self) -> Result<Option<DumpRecord>, DumpError> {
        loop {
            if let Some(record) = self.decode_pending()? {
                return Ok(Some(record));
            }
            if let Some(trailer) = self.read_chunk()? {
                self.finish(trailer)?;
                return Ok(None);
            }
        }
    }

    /// Decodes one record from the pending stream bytes if it is complete.
    fn decode_pending(&mut self) -> Result<Option<DumpRecord>, DumpError> {
        let avail = &self.pending[self.pos..];
        let Some(prefix) = avail.get(..RECORD_PREFIX_LEN) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len > MAX_RECORD_LEN {
            return Err(DumpError::TooLarge {
                what: "record",
                offset: self.chunk_offset,
                len: len as u64,
                max: MAX_RECORD_LEN as u64,
            });
        }
        let Some(mut body) = avail.get(RECORD_PREFIX_LEN..RECORD_PREFIX_LEN + len) else {
            return Ok(None);
        };
        let mut de = rmp_serde::Deserializer::new(&mut body);
        let record = DumpRecord::deserialize(&mut de).map_err(|err| self.corrupt_record(err))?;
        if !body.is_empty() {
            return Err(self.corrupt_record("bytes left after the record's map"));
        }
        self.pos += RECORD_PREFIX_LEN + len;
        self.entries += 1;
        if !self.namespaces.contains(&record.ns) {
            self.namespaces.insert(record.ns.clone());
        }
        Ok(Some(record))
    }

    fn corrupt_record(&self, why: impl std::fmt::Display) -> DumpError {
        DumpError::Corrupt {
            offset: self.chunk_offset,
            detail: format!("record {} does not decode: {why}", self.entries),
        }
    }

    /// Reads and opens the next chunk: a data chunk's plaintext is appended to the pending
    /// stream (`Ok(None)`); the final chunk's trailer is returned.
    fn read_chunk(&mut self) -> Result<Option<Trailer>, DumpError> {
        let start = self.offset;
        let index = self.next_chunk;
        let mut head = [0u8; FRAME_HEAD_LEN];
        let got = self.read_bytes(&mut head)?;
        if got < FRAME_HEAD_LEN {
            let detail = match (got, index) {
                (0, 0) => "the file ends after the header; the final chunk is missing".into(),
                (0, _) => {
                    format!("the file ends after chunk {}; the final chunk is missing", index - 1)
                }
                _ => format!("the frame head of chunk {index} is cut short"),
            };
            return Err(DumpError::Truncated { offset: self.offset, detail });
        }
        let kind = head[0];
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let corrupt = |detail: String| DumpError::Corrupt { offset: start, detail };
        if kind != KIND_DATA && kind != KIND_FINAL {
            return Err(corrupt(format!("chunk {index} has unknown kind {kind:#04x}")));
        }
        if len > CHUNK_CIPHERTEXT_MAX {
            let (len, max) = (len as u64, CHUNK_CIPHERTEXT_MAX as u64);
            return Err(DumpError::TooLarge { what: "chunk", offset: start, len, max });
        }
        if len < TAG_LEN || (kind == KIND_FINAL && len != TRAILER_LEN + TAG_LEN) {
            return Err(corrupt(format!("chunk {index} has an impossible length {len}")));
        }
        if index >= MAX_CHUNKS {
            let (len, max) = (index + 1, MAX_CHUNKS);
            return Err(DumpError::TooLarge { what: "chunk count", offset: start, len, max });
        }
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.resize(len, 0);
        let got = self.read_bytes(&mut chunk);
        let result = got.and_then(|got| self.open_chunk(start, index, kind, &mut chunk, got));
        self.chunk = chunk;
        result
    }

    /// Authenticates and decrypts a chunk whose ciphertext (`got` bytes of it) is in `chunk`.
    fn open_chunk(
        &mut self,
        start: u64,
        index: u64,
        kind: u8,
        chunk: &mut [u8],
        got: usize,
    ) -> Result<Option<Trailer>, DumpError> {
        if got < chunk.len() {
            let detail =
                format!("chunk {index} declares {} bytes, the file has {got}", chunk.len());
            return Err(DumpError::Truncated { offset: self.offset, detail });
        }
        // The checksum covers everything before the final chunk's frame.
        let checksum: Option<[u8; 32]> =
            (kind == KIND_FINAL).then(|| self.hasher.clone().finalize().into());
        if kind == KIND_DATA {
            let len = (chunk.len() as u32).to_le_bytes();
            self.hasher.update([kind, len[0], len[1], len[2], len[3]]);
            self.hasher.update(&*chunk);
        }
        // `index < MAX_CHUNKS` was checked, so it fits in u32.
        let nonce = chunk_nonce(&self.header.nonce_prefix, index as u32, kind);
        let (body, tag) = chunk.split_at_mut(chunk.len() - TAG_LEN);
        let opened = self.cipher.decrypt_in_place_detached(
            (&nonce).into(),
            &self.header_bytes,
            body,
            Tag::from_slice(tag),
        );
        if opened.is_err() {
            let detail = if index == 0 {
                "chunk 0 fails authentication: the chunk or the header is damaged".to_string()
            } else {
                format!("chunk {index} fails authentication (damaged, reordered or replaced)")
            };
            return Err(DumpError::Corrupt { offset: start, detail });
        }
        self.chunk_offset = start;
        self.next_chunk += 1;
        if kind == KIND_FINAL {
            let trailer = Trailer::decode(body).ok_or_else(|| DumpError::Corrupt {
                offset: start,
                detail: "the final chunk has the wrong size".into(),
            })?;
            if Some(trailer.checksum) != checksum {
                return Err(DumpError::Corrupt {
                    offset: start,
                    detail: "the checksum of the bytes before the final chunk does not match"
                        .into(),
                });
            }
            return Ok(Some(trailer));
        }
        self.pending.drain(..self.pos);
        self.pos = 0;
        // Give back the memory of a large record once it has been decoded.
        self.pending.shrink_to(self.pending.len().max(2 * CHUNK_CIPHERTEXT_MAX));
        self.pending.extend_from_slice(body);
        Ok(None)
    }

    /// Checks what the final chunk promises against what was read, and that nothing follows.
    fn finish(&mut self, trailer: Trailer) -> Result<(), DumpError> {
        let at = self.chunk_offset;
        if self.pos != self.pending.len() {
            return Err(DumpError::Corrupt {
                offset: at,
                detail: "the record stream ends inside a record".into(),
            });
        }
        if trailer.entries != self.entries {
            return Err(DumpError::Corrupt {
                offset: at,
                detail: format!(
                    "the final chunk counts {} records, the dump holds {}",
                    trailer.entries, self.entries
                ),
            });
        }
        let mut extra = [0u8; 1];
        if self.read_bytes(&mut extra)? != 0 {
            return Err(DumpError::Corrupt {
                offset: self.offset - 1,
                detail: "bytes follow the final chunk".into(),
            });
        }
        self.pending = Vec::new();
        self.chunk = Vec::new();
        self.state = State::Done;
        Ok(())
    }

    /// Fills `buf` as far as the file allows; returns how many bytes were read.
    fn read_bytes(&mut self, buf: &mut [u8]) -> Result<usize, DumpError> {
        let got = read_full(&mut self.input, buf).map_err(|err| DumpError::io(&self.path, err))?;
        self.offset += got as u64;
        Ok(got)
    }
}

impl Iterator for DumpReader {
    type Item = Result<DumpRecord, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state != State::Reading {
            return None;
        }
        match self.next_record() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => None,
            Err(err) => {
                self.state = State::Failed;
                Some(Err(err))
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}
