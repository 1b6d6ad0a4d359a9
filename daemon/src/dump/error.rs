//! What can go wrong with a dump, named precisely enough that an operator knows what to do:
//! a truncated file (copy it again), a corrupt one (use another dump), the wrong key (use the
//! right master key), or a file that is not a dump at all.

use std::path::PathBuf;

/// An error writing, verifying or reading a dump. Offsets are byte offsets into the file where
/// the reader noticed the problem.
#[derive(thiserror::Error, Debug)]
pub enum DumpError {
    /// Reading, writing, syncing or renaming the file failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The dump file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the dump magic bytes.
    #[error("{} is not a cachemgr dump (its first bytes are not the dump magic)", path.display())]
    NotADump {
        /// The file that was opened.
        path: PathBuf,
    },
    /// The file is a dump of a format version this daemon cannot read.
    #[error(
        "dump format version {found} is not supported (this daemon reads version {supported})"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// The version this build reads and writes.
        supported: u16,
    },
    /// The file ends before the dump does: an interrupted copy or a full disk.
    #[error("dump is truncated at byte {offset}: {detail}")]
    Truncated {
        /// File size or offset where more bytes were expected.
        offset: u64,
        /// What was being read.
        detail: String,
    },
    /// The bytes are there but wrong: authentication, checksum or structure failed.
    #[error("dump is corrupt at byte {offset}: {detail}")]
    Corrupt {
        /// Offset of the chunk (or field) that failed.
        offset: u64,
        /// What failed.
        detail: String,
    },
    /// The key check in the header does not match the key: the dump was written under another
    /// master key, or the header's salt or key check was damaged.
    #[error("cannot open the dump: wrong master key, or the header is damaged")]
    WrongKeyOrCorrupt,
    /// A length exceeds what the format allows; nothing is allocated from such a length.
    #[error("{what} at byte {offset} is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// What was too large: "chunk", "record" or "chunk count".
        what: &'static str,
        /// Where it was declared (or, when writing, where it would have gone).
        offset: u64,
        /// The declared or attempted length.
        len: u64,
        /// The format's limit.
        max: u64,
    },
    /// A step that cannot fail for valid inputs failed (encoding a record, sealing a chunk,
    /// deriving a key), or the writer is unusable after an earlier error.
    #[error("dump writer failed: {detail}")]
    Internal {
        /// What failed.
        detail: String,
    },
}

impl DumpError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> DumpError {
        DumpError::Io { path: path.to_path_buf(), source }
    }
}
