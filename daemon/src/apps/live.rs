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

/// Reads `path` until a copy verifies under `codec`, or the attempts run out. Blocking.
pub fn read_verified(
    path: &Path,
    codec: &AppCodec,
    policy: ReadPolicy,
) -> Result<VerifiedCopy, LiveError> {
    let (bytes, bad_reads) = retry_until_verified(path, policy, || {
        let bytes = match read_file(path, policy.max_bytes) {
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

/// Opens the live file for reading with its size, refusing what cannot be an app cache
/// (not a regular file, over `max_bytes`) before anything is read.
pub fn open_live(path: &Path, max_bytes: u64) -> Result<(File, u64), LiveError> {
    let io_err = |source: io::Error| live_io_error(path, source);
    // Non-blocking open: a FIFO put in the file's place must not hang the reader.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
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

/// The whole file, refusing what cannot be an app cache before reading it.
pub fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, LiveError> {
    let (mut file, len) = open_live(path, max_bytes)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // Bounded even if the file grows while it is read.
    file.by_ref()
        .take(max_bytes + 1)
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
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
