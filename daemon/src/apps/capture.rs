//! Taking a backup straight from the live file into the backup's own temp file, and
//! verifying it there.
//!
//! The kernel copies the bytes (`copy_file_range`: a reflink where the filesystem shares
//! extents, an in-kernel copy elsewhere), so the daemon never holds a copy of a 50 MB cache
//! in its memory. The temp file is created `O_EXCL`, 0600, in the daemon's backup directory,
//! and nothing else writes it: what is checked there is exactly what will be kept. The
//! check (the GCM tag over every byte the app encrypted, computed piece by piece) and the
//! SHA-256 for the catalog follow the copy on two threads, 2 MiB behind it; each chunk's
//! writeback starts as soon as it is copied, so the fsync at the end of the copy finds
//! little left to write. Only a copy that verified is renamed into place;
//! a torn one is deleted and read again after a pause, so no existing backup is ever
//! touched by a failed attempt. `docs/benchmarks.md` ("App cache backups") has the figures.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::codec::{AppCodec, CodecError};
use super::encfile::MAX_HEADER_LEN;
use super::live::{hex, open_live, retry_until_verified, Attempt, LiveError, ReadPolicy};
use crate::access::paths::Place;
use crate::atomic_file::AtomicFile;

/// Bytes copied between two progress reports, and how far the check and the hash trail
/// the copy.
const COPY_CHUNK: u64 = 2 << 20;
/// Below this size the copy, the check and the hash run one after the other: two threads
/// cost more than they save on a small file.
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
    live: &Place,
    target: &Path,
    codec: &AppCodec,
    policy: ReadPolicy,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<StagedCopy, CaptureError> {
    let (staged, bad_reads) = retry_until_verified(live.path(), policy, || {
        stage_once(live, target, codec, policy.max_bytes, progress)
    })?;
    let (file, size, sha256) = staged;
    Ok(StagedCopy { file, size, sha256, bad_reads })
}

/// One copy and its check.
fn stage_once(
    live: &Place,
    target: &Path,
    codec: &AppCodec,
    max_bytes: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Attempt<(AtomicFile, u64, String)>, CaptureError> {
    let (source, len) = match open_live(live, max_bytes) {
        Err(LiveError::Empty(_)) => return Ok(Attempt::Empty),
        other => other?,
    };
    if len == 0 {
        return Ok(Attempt::Empty);
    }
    let copy_err = |source: io::Error| CaptureError::Copy {
        from: live.path().to_path_buf(),
        to: target.to_path_buf(),
        source,
    };
    let mut staged = AtomicFile::create(target).map_err(copy_err)?;
    let checked = copy_and_check(&source, staged.file().map_err(copy_err)?, len, codec, progress);
    let (verdict, sha256) = checked.map_err(copy_err)?;
    Ok(match verdict {
        Ok(()) => Attempt::Verified((staged, len, sha256)),
        Err(err) => Attempt::Failed(err),
    })
}

/// Copies the `len` bytes of `source` into `out` and checks them: the tag check and the
/// SHA-256 follow the copy on two threads, reading the copied part through a read-only map
/// of `out`, and the fsync runs once the copy is done. A small file is done in sequence.
fn copy_and_check(
    source: &File,
    out: &File,
    len: u64,
    codec: &AppCodec,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<(Result<(), CodecError>, String)> {
    let size =
        usize::try_from(len).map_err(|_| io::Error::other("the file is too large to map"))?;
    out.set_len(len)?;
    // SAFETY: the mapping is read-only and the file is the daemon's own temp file: created
    // with O_EXCL and mode 0600 in the daemon's backup directory, written only by the copy
    // below (the map is read only where the copy has already written), and renamed or
    // deleted by the caller after this returns. Nothing else changes or truncates it while
    // it is mapped (only a root process tampering with the daemon's private files could).
    let map = unsafe { memmap2::MmapOptions::new().len(size).map(out)? };
    let bytes: &[u8] = &map;
    let copied = CopyProgress::default();
    if size < PARALLEL_FROM {
        copy_all(source, out, len, &copied, progress)?;
        let verdict = check_following(&copied, bytes, codec);
        let sha256 = hash_following(&copied, bytes);
        out.sync_all()?;
        return Ok((verdict, sha256));
    }
    std::thread::scope(|scope| {
        let check = scope.spawn(|| check_following(&copied, bytes, codec));
        let hash = scope.spawn(|| hash_following(&copied, bytes));
        let copy = copy_all(source, out, len, &copied, progress).and_then(|()| out.sync_all());
        let verdict = check.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let sha256 = hash.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        copy.map(|()| (verdict, sha256))
    })
}

/// How far the copy has got, for the threads that follow it.
#[derive(Debug, Default)]
struct CopyProgress {
    /// Bytes copied, and whether the copy has ended (done, short or failed).
    state: Mutex<(usize, bool)>,
    moved: Condvar,
}

impl CopyProgress {
    fn set(&self, copied: usize, ended: bool) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = (copied, ended);
        self.moved.notify_all();
    }

    /// Waits until more than `seen` bytes are copied or the copy ended.
    fn wait_past(&self, seen: usize) -> (usize, bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.0 <= seen && !state.1 {
            state = self.moved.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        *state
    }

    /// Calls `next` with the bytes copied so far, each time there are more, until the end;
    /// returns the final count.
    fn follow(&self, mut next: impl FnMut(usize)) -> usize {
        let mut seen = 0;
        loop {
            let (copied, ended) = self.wait_past(seen);
            if copied > seen {
                next(copied);
                seen = copied;
            }
            if ended {
                return seen;
            }
        }
    }
}

/// Marks the copy ended however it ends (an error or a panic included), so no follower
/// waits forever.
struct EndOnDrop<'a>(&'a CopyProgress);

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        let copied = self.0.state.lock().unwrap_or_else(PoisonError::into_inner).0;
        self.0.set(copied, true);
    }
}

/// Copies `len` bytes of `source` to the same offsets of `out`, chunk by chunk: in the
/// kernel (`copy_file_range`) where the filesystems allow it, else through a buffer.
fn copy_all(
    source: &File,
    out: &File,
    len: u64,
    copied: &CopyProgress,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<()> {
    let _end = EndOnDrop(copied);
    let mut done = 0u64;
    let mut in_kernel = true;
    let mut buffer = Vec::new();
    while done < len {
        let want = COPY_CHUNK.min(len - done);
        let moved = if in_kernel {
            let (mut from, mut to) = (done, done);
            let want = usize::try_from(want).unwrap_or(usize::MAX);
            match rustix::fs::copy_file_range(source, Some(&mut from), out, Some(&mut to), want) {
                Ok(moved) => moved as u64,
                Err(err) if KERNEL_COPY_UNSUPPORTED.contains(&err) => {
                    in_kernel = false;
                    continue;
                }
                Err(err) if err == rustix::io::Errno::INTR => continue,
                Err(err) => return Err(err.into()),
            }
        } else {
            buffer.resize(usize::try_from(want).unwrap_or(usize::MAX), 0);
            let read = source.read_at(&mut buffer, done)?;
            out.write_all_at(&buffer[..read], done)?;
            read as u64
        };
        if moved == 0 {
            // The file got shorter since it was opened: a writer is at work.
            break;
        }
        start_writeback(out, done, moved);
        done += moved;
        copied.set(usize::try_from(done).unwrap_or(usize::MAX), false);
        progress(done, len);
    }
    Ok(())
}

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to disk now, so the
/// fsync at the end waits only for the last chunk. A hint: an error changes nothing.
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else { return };
    // SAFETY: a plain syscall on a file descriptor this function borrows for its duration;
    // it reads no memory of ours.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// `copy_file_range` errors that mean "not between these files": copy through a buffer.
const KERNEL_COPY_UNSUPPORTED: [rustix::io::Errno; 4] = [
    rustix::io::Errno::XDEV,
    rustix::io::Errno::NOSYS,
    rustix::io::Errno::OPNOTSUPP,
    rustix::io::Errno::INVAL,
];

/// The codec's check of the copy, fed as the copy grows where the codec can take pieces.
fn check_following(
    copied: &CopyProgress,
    bytes: &[u8],
    codec: &AppCodec,
) -> Result<(), CodecError> {
    let head = bytes.len().min(MAX_HEADER_LEN);
    let mut stream = None;
    let mut whole_only = false;
    let mut failed = None;
    let mut fed = 0;
    let total = copied.follow(|available| {
        if stream.is_none() && !whole_only && failed.is_none() && available >= head {
            match codec.start_stream(&bytes[..available]) {
                None => whole_only = true,
                Some(Ok(started)) => {
                    fed = started.header_len().min(available);
                    stream = Some(started);
                }
                Some(Err(err)) => failed = Some(err),
            }
        }
        if let Some(stream) = stream.as_mut() {
            stream.update(&bytes[fed..available]);
            fed = available;
        }
    });
    if total < bytes.len() {
        return Err(CodecError::Changed { expected: bytes.len() as u64, copied: total as u64 });
    }
    match (failed, stream) {
        (Some(err), _) => Err(err),
        (None, Some(stream)) => stream.finish(bytes).map_err(CodecError::from),
        (None, None) => codec.verify(bytes),
    }
}

/// SHA-256 (hex) of the copy, fed as it grows.
fn hash_following(copied: &CopyProgress, bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let mut hashed = 0;
    copied.follow(|available| {
        hasher.update(&bytes[hashed..available]);
        hashed = available;
    });
    hex(&hasher.finalize())
}

#[cfg(test)]
#[path = "capture_tests.rs"]
mod tests;
