//! Taking a backup straight from the live file into the backup's own temp file, and
//! verifying it there.
//!
//! The kernel copies the bytes (`std::io::copy` between files is `copy_file_range`: a
//! reflink where the filesystem shares extents, an in-kernel copy elsewhere), so the daemon
//! never holds a copy of a 50 MB cache in its memory. The temp file is created `O_EXCL`,
//! 0600, in the daemon's backup directory, and nothing else writes it: what is checked
//! there is exactly what will be kept. The check is a decryption (the GCM tag over every
//! byte the app encrypted), and it runs on one core while the SHA-256 for the catalog runs
//! on the other and the fsync runs under both. Only a copy that verified is renamed into
//! place; a torn one is deleted and read again after a pause, so no existing backup is ever
//! touched by a failed attempt. `docs/benchmarks.md` ("App cache backups") has the figures.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::codec::{AppCodec, CodecError};
use super::live::{open_live, retry_until_verified, sha256_hex, Attempt, LiveError, ReadPolicy};
use crate::atomic_file::AtomicFile;

/// Bytes copied between two progress reports.
const COPY_CHUNK: u64 = 8 << 20;
/// Below this size the check and the hash run one after the other: two threads cost more
/// than they save on a small file.
const PARALLEL_FROM: usize = 4 << 20;

/// A copy of the live file in a backup's temp file, verified; renamed into place by
/// committing `file`, deleted by dropping it.
#[derive(Debug)]
pub struct StagedCopy {
    /// The temp file, already synced.
    pub file: AtomicFile,
    /// Bytes copied.
    pub size: u64,
    /// Their SHA-256, hex.
    pub sha256: String,
    /// Copies that were torn or did not verify before this one.
    pub bad_reads: u32,
}

/// Why no verified copy could be staged.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The live file: missing, not a file, torn on every read, ...
    #[error(transparent)]
    Live(#[from] LiveError),
    /// Copying into, syncing or reading back the temp file (a full disk, a read-only
    /// backup directory).
    #[error("cannot copy {} into {}: {source}", from.display(), to.display())]
    Copy {
        /// The live file.
        from: PathBuf,
        /// The backup being written.
        to: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

/// Copies `live` into a temp file for `target` until a copy verifies under `codec`, or the
/// policy's attempts run out. Reports bytes copied as (done, expected). Blocking.
pub fn stage_verified(
    live: &Path,
    target: &Path,
    codec: &AppCodec,
    policy: ReadPolicy,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<StagedCopy, CaptureError> {
    let (staged, bad_reads) = retry_until_verified(live, policy, || {
        stage_once(live, target, codec, policy.max_bytes, progress)
    })?;
    let (file, size, sha256) = staged;
    Ok(StagedCopy { file, size, sha256, bad_reads })
}

/// One copy and its check.
fn stage_once(
    live: &Path,
    target: &Path,
    codec: &AppCodec,
    max_bytes: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Attempt<(AtomicFile, u64, String)>, CaptureError> {
    let (source, expected) = match open_live(live, max_bytes) {
        Err(LiveError::Empty(_)) => return Ok(Attempt::Empty),
        other => other?,
    };
    let copy_err = |source: io::Error| CaptureError::Copy {
        from: live.to_path_buf(),
        to: target.to_path_buf(),
        source,
    };
    let mut staged = AtomicFile::create(target).map_err(copy_err)?;
    let size =
        copy_bounded(&source, staged.file().map_err(copy_err)?, max_bytes, expected, progress)
            .map_err(copy_err)?;
    if size > max_bytes {
        return Err(LiveError::TooLarge { path: live.to_path_buf(), size, max: max_bytes }.into());
    }
    if size == 0 {
        return Ok(Attempt::Empty);
    }
    let (verdict, sha256) =
        check_in_place(staged.file().map_err(copy_err)?, size, codec).map_err(copy_err)?;
    Ok(match verdict {
        Ok(()) => Attempt::Verified((staged, size, sha256)),
        Err(err) => Attempt::Failed(err),
    })
}

/// Copies up to `max_bytes + 1` bytes (one more tells a file that grew past the limit).
fn copy_bounded(
    source: &File,
    out: &mut File,
    max_bytes: u64,
    expected: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<u64> {
    let limit = max_bytes.saturating_add(1);
    let mut done = 0u64;
    while done < limit {
        let copied = io::copy(&mut source.take(COPY_CHUNK.min(limit - done)), out)?;
        if copied == 0 {
            break;
        }
        done += copied;
        progress(done, expected.max(done));
    }
    Ok(done)
}

/// Verifies and hashes the first `len` bytes of `file` where they lie, syncing it meanwhile.
fn check_in_place(
    file: &File,
    len: u64,
    codec: &AppCodec,
) -> io::Result<(Result<(), CodecError>, String)> {
    let len = usize::try_from(len).map_err(|_| io::Error::other("the copy is too large to map"))?;
    // SAFETY: the mapping is read-only and the file is the daemon's own temp file: created
    // with O_EXCL and mode 0600 in the daemon's backup directory, written only above, and
    // renamed or deleted by the caller after this returns. Nothing else changes it while it
    // is mapped (only a root process tampering with the daemon's private files could).
    let map = unsafe { memmap2::MmapOptions::new().len(len).populate().map(file)? };
    let bytes: &[u8] = &map;
    if bytes.len() < PARALLEL_FROM {
        let verdict = codec.verify(bytes);
        let sha256 = sha256_hex(bytes);
        file.sync_all()?;
        return Ok((verdict, sha256));
    }
    std::thread::scope(|scope| {
        let sync = scope.spawn(|| file.sync_all());
        let hash = scope.spawn(|| sha256_hex(bytes));
        let verdict = codec.verify(bytes);
        let sha256 = hash.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        sync.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((verdict, sha256))
    })
}
