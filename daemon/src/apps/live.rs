//! Reading an app's live file. The apps rewrite it in place with no temp file, so a read can
//! catch it half-written: a copy is only accepted once it verifies, and a torn one is read
//! again after a short pause, a few times, before giving up.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::codec::{AppCodec, CodecError};
use crate::access::paths::{PathError, Place};

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct ReadPolicy {
    /// Reads in all, the first included.
    pub attempts: u32,
    /// Pause between two reads.
    pub pause: Duration,
    /// Largest file accepted.
    pub max_bytes: u64,
}

/// A copy of the live file that verified.
#[derive(Debug)]
pub struct VerifiedCopy {
    /// The file's bytes (still encrypted).
    pub bytes: Vec<u8>,
    /// Their SHA-256, hex.
    pub sha256: String,
    /// Reads that were torn or did not verify before this one.
    pub bad_reads: u32,
}

/// Why no good copy could be taken.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The file is not there.
    #[error("{} does not exist", .0.display())]
    Missing(PathBuf),
    /// It is not a regular file.
    #[error("{} is not a regular file (a directory or a device?)", .0.display())]
    NotAFile(PathBuf),
    /// Too big to be an app cache.
    #[error("{} is {size} bytes, over the {max}-byte limit for an app cache", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Empty.
    #[error("{} is empty (0 bytes)", .0.display())]
    Empty(PathBuf),
    /// The OS refused the read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The path resolver refused the file (a symlink on the way, someone else's file, ...).
    #[error("{0}")]
    Refused(PathError),
    /// Every read was torn or undecryptable.
    #[error("{} did not verify after {attempts} reads (torn by a writer, or damaged): {last}", path.display())]
    Unverifiable {
        /// The file.
        path: PathBuf,
        /// Reads made.
        attempts: u32,
        /// Why the last one failed.
        last: CodecError,
    },
}

impl LiveError {
    /// Whether the file simply is not there (the app deleted it or has not created it).
    pub fn is_missing(&self) -> bool {
        matches!(self, LiveError::Missing(_))
    }
}

/// What one read of the live file gave.
#[derive(Debug)]
pub enum Attempt<T> {
    /// A copy that verified.
    Verified(T),
    /// Nothing: a writer truncates before it writes, so this is torn like any other read.
    Empty,
    /// A copy that did not verify.
    Failed(CodecError),
}

/// Runs `attempt` until it gives a verified copy, pausing between tries, and returns the
/// copy with the number of bad reads before it. When the policy's attempts run out the
/// error says the file is empty or did not verify, and why the last read failed. Blocking.
pub fn retry_until_verified<T, E: From<LiveError>>(
    path: &Path,
    policy: ReadPolicy,
    mut attempt: impl FnMut() -> Result<Attempt<T>, E>,
) -> Result<(T, u32), E> {
    let attempts = policy.attempts.max(1);
    let mut bad_reads = 0;
    loop {
        match attempt()? {
            Attempt::Verified(copy) => return Ok((copy, bad_reads)),
            Attempt::Empty => {
                if bad_reads + 1 >= attempts {
                    return Err(LiveError::Empty(path.to_path_buf()).into());
                }
                bad_reads += 1;
            }
            Attempt::Failed(last) => {
                bad_reads += 1;
                if bad_reads >= attempts {
                    let path = path.to_path_buf();
                    return Err(LiveError::Unverifiable { path, attempts, last }.into());
                }
                tracing::debug!(file = %path.display(), "read did not verify ({last}); reading again");
            }
        }
        std::thread::sleep(policy.pause);
    }
}

/// Reads the live file at `place` until a copy verifies under `codec`, or the attempts run
/// out. Blocking.
pub fn read_verified(
    place: &Place,
    codec: &AppCodec,
    policy: ReadPolicy,
) -> Result<VerifiedCopy, LiveError> {
    let (bytes, bad_reads) = retry_until_verified(place.path(), policy, || {
        let bytes = match read_live(place, policy.max_bytes) {
            Err(LiveError::Empty(_)) => return Ok(Attempt::Empty),
            other => other?,
        };
        Ok::<_, LiveError>(match codec.verify(&bytes) {
            Ok(()) => Attempt::Verified(bytes),
            Err(err) => Attempt::Failed(err),
        })
    })?;
    let sha256 = sha256_hex(&bytes);
    Ok(VerifiedCopy { bytes, sha256, bad_reads })
}

/// Opens an app's live file for reading through the path resolver (no symlink anywhere, the
/// owner checked on the open descriptor, no blocking on a FIFO) with its size, refusing what
/// cannot be an app cache before anything is read.
pub fn open_live(place: &Place, max_bytes: u64) -> Result<(File, u64), LiveError> {
    let file = place.open_read().map_err(|err| match err {
        PathError::NotFound(path) => LiveError::Missing(path),
        err => LiveError::Refused(err),
    })?;
    sized(file, place.path(), max_bytes)
}

/// Opens one of the daemon's own files (a stored backup) like [`open_live`].
fn open_own(path: &Path, max_bytes: u64) -> Result<(File, u64), LiveError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|source| live_io_error(path, source))?;
    sized(file, path, max_bytes)
}

/// The size of an opened file, refusing what is not a regular file or is over `max_bytes`.
fn sized(file: File, path: &Path, max_bytes: u64) -> Result<(File, u64), LiveError> {
    let meta = file.metadata().map_err(|source| live_io_error(path, source))?;
    if !meta.is_file() {
        return Err(LiveError::NotAFile(path.to_path_buf()));
    }
    if meta.len() > max_bytes {
        return Err(LiveError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            max: max_bytes,
        });
    }
    Ok((file, meta.len()))
}

/// The whole of one of the daemon's own files (a stored backup), refusing what cannot be an
/// app cache before reading it.
pub fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, LiveError> {
    read_all(open_own(path, max_bytes)?, path, max_bytes)
}

/// The whole live file of an app, opened through the path resolver (see [`open_live`]).
pub fn read_live(place: &Place, max_bytes: u64) -> Result<Vec<u8>, LiveError> {
    read_all(open_live(place, max_bytes)?, place.path(), max_bytes)
}

fn read_all(
    (mut file, len): (File, u64),
    path: &Path,
    max_bytes: u64,
) -> Result<Vec<u8>, LiveError> {
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // Bounded even if the file grows while it is read.
    file.by_ref()
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| live_io_error(path, source))?;
    if bytes.len() as u64 > max_bytes {
        return Err(LiveError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max: max_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(LiveError::Empty(path.to_path_buf()));
    }
    Ok(bytes)
}

/// A failed open or read of `path`: missing, or what the OS said.
fn live_io_error(path: &Path, source: io::Error) -> LiveError {
    if source.kind() == io::ErrorKind::NotFound {
        LiveError::Missing(path.to_path_buf())
    } else {
        LiveError::Io { path: path.to_path_buf(), source }
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `digest` as lowercase hex, the form the catalog keeps hashes in.
pub use crate::keys::hex;
