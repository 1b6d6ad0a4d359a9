//! Atomic file replacement: every file the daemon writes goes through here, so a reader (or a
//! restart after a crash or power cut) sees either the old content or the new, never a torn mix.
//!
//! The recipe: create a temp file in the target's directory (mode 0600, `O_EXCL`, named
//! `.<name>.tmp-<pid>-<random>`), write, `fsync` it, `rename` it over the target, `fsync` the
//! directory so the rename itself is durable. Any failure before the rename removes the temp file
//! and leaves the target as it was. The file is always created 0600 (the daemon's files are
//! private; the target's previous mode is not carried over), and a symlink at the target is
//! replaced by a regular file rather than followed.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Mode of every file the daemon writes: readable and writable by its owner only.
const FILE_MODE: u32 = 0o600;
/// Write buffer size: large enough that a dump's 64 KiB chunks go out in one syscall each.
const BUFFER_BYTES: usize = 128 * 1024;
/// How many random names to try before giving up on creating the temp file.
const NAME_ATTEMPTS: u32 = 16;

/// A file being written in place of `target`; becomes visible only on [`AtomicFile::commit`].
///
/// Dropping it without committing deletes the temp file, so an early `?` or a panic in the
/// middle of a write never leaves a half-written file behind nor touches the old target.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    dir: PathBuf,
    temp: PathBuf,
    /// `None` once committed (or while committing), so `Drop` knows there is nothing to clean.
    file: Option<BufWriter<File>>,
    #[cfg(test)]
    fail_before: Option<Step>,
}

/// A step of [`AtomicFile::commit`] where a failure can happen (tests inject one there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Sync,
    Rename,
}

impl AtomicFile {
    /// Starts writing a replacement for `target` (which need not exist yet); its directory must.
    pub fn create(target: impl AsRef<Path>) -> io::Result<AtomicFile> {
        let target = target.as_ref().to_path_buf();
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", target.display()),
            )
        })?;
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut last_err = None;
        for _ in 0..NAME_ATTEMPTS {
            let temp = dir.join(temp_name(name)?);
            // Readable too, so a writer may map what it wrote to check it before committing.
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(&temp)
            {
                Ok(file) => {
                    return Ok(AtomicFile {
                        target,
                        dir,
                        temp,
                        file: Some(BufWriter::with_capacity(BUFFER_BYTES, file)),
                        #[cfg(test)]
                        fail_before: None,
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_err = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("could not pick a temp file name")))
    }

    /// The path that will be replaced on commit.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temp file's path, for error messages (and tests that sabotage it).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The temp file itself, with anything buffered written out: for kernel-side copies
    /// into it (`std::io::copy` between files uses `copy_file_range`), and for syncing and
    /// reading back what was written before deciding to commit.
    pub fn file(&mut self) -> io::Result<&mut File> {
        let writer = self.writer()?;
        writer.flush()?;
        Ok(writer.get_mut())
    }

    /// Flushes, syncs and renames the temp file over the target, then syncs the directory.
    ///
    /// On an error before the rename the temp file is removed and the target is untouched. If
    /// only the final directory sync fails, the new content is already in place (a rename cannot
    /// be undone safely) and the error says its durability is not guaranteed.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(writer) = self.file.take() else {
            return Err(io::Error::other("atomic file already committed"));
        };
        if let Err(err) = self.finish_temp(writer) {
            // `file` is None now, so remove the temp file here rather than in Drop.
            let _ = std::fs::remove_file(&self.temp);
            return Err(err);
        }
        sync_dir(&self.dir).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "{} was replaced, but syncing its directory failed (the new content may not \
                     survive a power cut): {err}",
                    self.target.display()
                ),
            )
        })
    }

    /// Flush, sync and rename: everything that must happen before the target changes.
    fn finish_temp(&self, writer: BufWriter<File>) -> io::Result<()> {
        let file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
        self.inject(Step::Sync)?;
        file.sync_all()?;
        drop(file);
        self.inject(Step::Rename)?;
        std::fs::rename(&self.temp, &self.target)
    }

    #[cfg(test)]
    fn inject(&self, step: Step) -> io::Result<()> {
        if self.fail_before == Some(step) {
            return Err(io::Error::other(format!("injected failure before {step:?}")));
        }
        Ok(())
    }

    #[cfg(not(test))]
    #[inline(always)]
    fn inject(&self, _step: Step) -> io::Result<()> {
        Ok(())
    }

    /// Makes the next `commit` fail just before `step`.
    #[cfg(test)]
    pub(crate) fn fail_before(&mut self, step: Step) {
        self.fail_before = Some(step);
    }

    fn writer(&mut self) -> io::Result<&mut BufWriter<File>> {
        self.file.as_mut().ok_or_else(|| io::Error::other("atomic file already committed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(writer) = self.file.take() {
            // Close before unlinking; nothing useful can be done with an error here.
            drop(writer.into_parts());
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Replaces `path` with `bytes` atomically (see the module docs).
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// `.<name>.tmp-<pid>-<16 hex digits>`: hidden, unique per process and attempt.
fn temp_name(name: &std::ffi::OsStr) -> io::Result<OsString> {
    let mut random = [0u8; 8];
    getrandom::getrandom(&mut random).map_err(io::Error::from)?;
    let mut out = OsString::from(".");
    out.push(name);
    out.push(format!(".tmp-{}-{:016x}", std::process::id(), u64::from_le_bytes(random)));
    Ok(out)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Names of the entries of `dir`, sorted.
    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_creates_and_replaces_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two, longer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two, longer");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(entries(dir.path()), ["state.json"]);
    }

    #[test]
    fn streaming_write_is_invisible_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump");
        std::fs::write(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        let temp_name = file.temp_path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(temp_name.starts_with(".dump.tmp-"), "{temp_name}");
        for _ in 0..1000 {
            file.write_all(&[7u8; 1000]).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        file.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 1_000_000]);
        assert_eq!(entries(dir.path()), ["dump"]);
    }

    #[test]
    fn drop_without_commit_keeps_previous_content_and_removes_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump");
        std::fs::write(&path, b"previous").unwrap();
        {
            let mut file = AtomicFile::create(&path).unwrap();
            file.write_all(b"half of the new").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"previous");
        assert_eq!(entries(dir.path()), ["dump"]);
    }

    #[test]
    fn injected_commit_failures_keep_previous_content_and_remove_temp() {
        for step in [Step::Sync, Step::Rename] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("dump");
            std::fs::write(&path, b"previous").unwrap();
            let mut file = AtomicFile::create(&path).unwrap();
            file.write_all(b"new content").unwrap();
            file.fail_before(step);
            assert!(file.commit().is_err(), "{step:?}");
            assert_eq!(std::fs::read(&path).unwrap(), b"previous", "{step:?}");
            assert_eq!(entries(dir.path()), ["dump"], "{step:?}");
        }
    }

    #[test]
    fn rename_failure_keeps_previous_content() {
        // The temp file vanishes before commit: the rename fails for real.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump");
        std::fs::write(&path, b"previous").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"new").unwrap();
        std::fs::remove_file(file.temp_path()).unwrap();
        assert!(file.commit().is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"previous");
        assert_eq!(entries(dir.path()), ["dump"]);
    }

    #[test]
    fn target_that_is_a_directory_is_refused_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"x").unwrap();
        assert!(write_atomic(&target, b"new").is_err());
        assert!(target.join("keep").exists());
        assert_eq!(entries(dir.path()), ["sub"]);
    }

    #[test]
    fn missing_directory_and_nameless_target_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(dir.path().join("no/such/dir/file"), b"x").is_err());
        assert_eq!(AtomicFile::create("/").unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn temp_names_are_hidden_siblings_unique_per_call() {
        let a = temp_name(std::ffi::OsStr::new("dump")).unwrap();
        let b = temp_name(std::ffi::OsStr::new("dump")).unwrap();
        assert_ne!(a, b);
        let a = a.to_string_lossy().into_owned();
        let prefix = format!(".dump.tmp-{}-", std::process::id());
        assert!(a.starts_with(&prefix), "{a}");
        assert_eq!(a.len(), prefix.len() + 16);
    }
}
