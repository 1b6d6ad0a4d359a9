//! Atomic file replacement: every file the daemon writes goes through here, so a reader (or a
//! restart after a crash or power cut) sees either the old content or the new, never a torn mix.
//!
//! The recipe: create a temp file in the target's directory (mode 0600, `O_EXCL`, named
//! `.<name>.tmp-<pid>-<random>`), write, `fsync` it, `rename` it over the target, `fsync` the
//! directory so the rename itself is durable. Every step after the directory is opened goes
//! through that one directory descriptor (`openat`, `renameat`, `unlinkat`, `fsync`), so a
//! directory swapped for a symlink meanwhile changes nothing; [`AtomicFile::create_in`] takes
//! a directory the path resolver ([`crate::access::paths`]) opened for a caller. Any failure before the rename removes the temp file
//! and leaves the target as it was. The file is always created 0600 (the daemon's files are
//! private; the target's previous mode is not carried over), and a symlink at the target is
//! replaced by a regular file rather than followed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, CWD};

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
    /// The directory everything happens in, opened once.
    dir: OwnedFd,
    name: OsString,
    temp_name: OsString,
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
        let dir_path = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::openat(CWD, dir_path, flags, Mode::empty())?;
        Self::create_at(dir, name.to_owned(), target)
    }

    /// Starts writing a replacement for the entry `name` of a directory the path resolver
    /// opened (for a caller): every step goes through that directory's descriptor.
    pub fn create_in(dir: &crate::access::paths::Dir, name: &OsStr) -> io::Result<AtomicFile> {
        let target = dir.path().join(name);
        let bytes = name.as_encoded_bytes();
        if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", target.display()),
            ));
        }
        Self::create_at(dir.try_clone_fd()?, name.to_owned(), target)
    }

    fn create_at(dir: OwnedFd, name: OsString, target: PathBuf) -> io::Result<AtomicFile> {
        let mut last_err = None;
        for _ in 0..NAME_ATTEMPTS {
            let temp_name = temp_name(&name)?;
            // Readable too, so a writer may map what it wrote to check it before committing.
            let flags = OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
            match rustix::fs::openat(
                &dir,
                &temp_name,
                flags | OFlags::CLOEXEC,
                Mode::from_raw_mode(FILE_MODE),
            ) {
                Ok(fd) => {
                    let temp = target.with_file_name(&temp_name);
                    return Ok(AtomicFile {
                        target,
                        dir,
                        name,
                        temp_name,
                        temp,
                        file: Some(BufWriter::with_capacity(BUFFER_BYTES, File::from(fd))),
                        #[cfg(test)]
                        fail_before: None,
                    });
                }
                Err(rustix::io::Errno::EXIST) => {
                    last_err = Some(io::Error::from(rustix::io::Errno::EXIST))
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("could not pick a temp file name")))
    }

    /// Gives the new file `mode` and, when the daemon is root, `owner` (uid, gid), through its
    /// descriptor, before it replaces the target: an app's live file stays the app's.
    pub fn set_mode_and_owner(&mut self, mode: u32, owner: Option<(u32, u32)>) -> io::Result<()> {
        let file = self.file()?;
        rustix::fs::fchmod(&*file, Mode::from_raw_mode(mode & 0o7777))?;
        if let Some((uid, gid)) = owner.filter(|_| rustix::process::geteuid().is_root()) {
            let uid = rustix::process::Uid::from_raw(uid);
            let gid = rustix::process::Gid::from_raw(gid);
            rustix::fs::fchown(&*file, Some(uid), Some(gid))?;
        }
        Ok(())
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
            let _ = rustix::fs::unlinkat(&self.dir, &self.temp_name, AtFlags::empty());
            return Err(err);
        }
        rustix::fs::fsync(&self.dir).map_err(io::Error::from).map_err(|err| {
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
        rustix::fs::renameat(&self.dir, &self.temp_name, &self.dir, &self.name)?;
        Ok(())
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
            let _ = rustix::fs::unlinkat(&self.dir, &self.temp_name, AtFlags::empty());
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
