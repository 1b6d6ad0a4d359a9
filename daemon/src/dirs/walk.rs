//! Walking a registered directory without ever following a symlink: from `/` down to the
//! directory and then through its tree, each directory is opened relative to its parent's
//! descriptor with `O_NOFOLLOW`, and each entry is examined with `fstatat(AT_SYMLINK_NOFOLLOW)`.
//! A symlink is listed as a file (the link itself); its target is never looked at.

use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat, StatxFlags, CWD};

/// Deeper subdirectories are not walked (their files are left alone).
pub const MAX_DEPTH: usize = 128;

/// One deletable entry: a regular file or a symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Its path relative to the registered directory.
    pub rel: PathBuf,
    /// Its size (for a symlink, the link's own size).
    pub size: u64,
    /// Its modification time, Unix ms.
    pub mtime_ms: u64,
    /// Device and inode, to recognise it again just before unlinking.
    pub id: (u64, u64),
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The regular files and symlinks, in no particular order.
    pub files: Vec<FileEntry>,
    /// Subdirectories not walked: unreadable, on another file system, or too deep.
    pub skipped_dirs: u64,
}

impl Scan {
    /// Bytes of every file found.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Modification time of the oldest file.
    pub fn oldest_ms(&self) -> Option<u64> {
        self.files.iter().map(|f| f.mtime_ms).min()
    }
}

/// Device and inode of a stat result.
#[allow(clippy::unnecessary_cast)] // the field types differ between architectures
pub fn id_of(stat: &Stat) -> (u64, u64) {
    (stat.st_dev as u64, stat.st_ino as u64)
}

/// Modification time of a stat result, Unix ms (0 before 1970).
#[allow(clippy::unnecessary_cast)]
pub fn mtime_ms_of(stat: &Stat) -> u64 {
    let secs = u64::try_from(stat.st_mtime as i64).unwrap_or(0);
    secs.saturating_mul(1000).saturating_add(stat.st_mtime_nsec as u64 / 1_000_000)
}

/// Size of a stat result in bytes.
#[allow(clippy::unnecessary_cast)]
fn size_of(stat: &Stat) -> u64 {
    u64::try_from(stat.st_size as i64).unwrap_or(0)
}

/// Opens the directory `path` (absolute, already canonical) for reading, refusing any
/// symlink on the way: each component is opened relative to its parent with `O_NOFOLLOW`,
/// so a component replaced by a symlink since registration fails instead of leading elsewhere.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    let mut fd = rustix::fs::openat(CWD, "/", OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    let mut components = path.components().peekable();
    while let Some(component) = components.next() {
        match component {
            Component::RootDir => continue,
            Component::Normal(name) => {
                let flags = if components.peek().is_some() { OFlags::PATH } else { OFlags::RDONLY };
                fd = open_dir_at(&fd, name, flags)?;
            }
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a canonical path")),
        }
    }
    if path.components().all(|c| c == Component::RootDir) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the root directory"));
    }
    Ok(fd)
}

/// Opens the subdirectory `name` of `parent` without following a symlink (`flags` adds
/// `O_PATH` for a directory only passed through, or `O_RDONLY` for one to be read).
pub fn open_dir_at(parent: &OwnedFd, name: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(parent, name, flags, Mode::empty())?)
}

/// Opens the directory at `rel` (relative, inside the registered directory `root`) by the
/// same no-symlink rule; `rel` empty gives a new descriptor of `root` itself.
pub fn open_rel(root: &OwnedFd, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    let mut fd = open_dir_at(root, OsStr::new("."), OFlags::PATH)?;
    let mut components = rel.components().peekable();
    while let Some(component) = components.next() {
        let Component::Normal(name) = component else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a plain relative path"));
        };
        let last = components.peek().is_none();
        fd = open_dir_at(&fd, name, if last { flags } else { OFlags::PATH })?;
    }
    if rel.as_os_str().is_empty() && flags != OFlags::PATH {
        fd = open_dir_at(root, OsStr::new("."), flags)?;
    }
    Ok(fd)
}

/// The mount a directory belongs to: a walk stays on the registered directory's one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mount {
    dev: u64,
    /// The mount id (Linux 5.8+), which also tells a bind mount of the same file system.
    id: Option<u64>,
}

fn mount_of(fd: &OwnedFd, stat: &Stat) -> Mount {
    let id = rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)
        .ok()
        .filter(|x| x.stx_mask & StatxFlags::MNT_ID.bits() != 0)
        .map(|x| x.stx_mnt_id);
    Mount { dev: id_of(stat).0, id }
}

/// Lists every regular file and symlink under the open directory `root`; gives up with
/// `Interrupted` once `stop` is set (the daemon is shutting down).
pub fn scan(root: &OwnedFd, stop: &AtomicBool) -> io::Result<Scan> {
    let root_stat = rustix::fs::fstat(root)?;
    let mut scan = Scan::default();
    let fd = open_dir_at(root, OsStr::new("."), OFlags::RDONLY)?;
    let walk = Walk { mount: mount_of(&fd, &root_stat), stop };
    walk.dir(&fd, Path::new(""), 0, &mut scan)?;
    Ok(scan)
}

struct Walk<'a> {
    mount: Mount,
    stop: &'a AtomicBool,
}

impl Walk<'_> {
    fn dir(&self, dir: &OwnedFd, rel: &Path, depth: usize, scan: &mut Scan) -> io::Result<()> {
        for entry in Dir::read_from(dir)? {
            if self.stop.load(Ordering::Relaxed) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "the daemon is stopping"));
            }
            let entry = entry?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let Ok(stat) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue; // gone meanwhile
            };
            let path = rel.join(name);
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile | FileType::Symlink => scan.files.push(FileEntry {
                    rel: path,
                    size: size_of(&stat),
                    mtime_ms: mtime_ms_of(&stat),
                    id: id_of(&stat),
                }),
                FileType::Directory => {
                    if id_of(&stat).0 != self.mount.dev || depth + 1 >= MAX_DEPTH {
                        scan.skipped_dirs += 1;
                        continue;
                    }
                    let Ok(sub) = open_dir_at(dir, name, OFlags::RDONLY) else {
                        scan.skipped_dirs += 1;
                        continue;
                    };
                    // The directory opened must be the one examined, not one swapped in since.
                    if rustix::fs::fstat(&sub).map(|s| id_of(&s)).ok() != Some(id_of(&stat)) {
                        scan.skipped_dirs += 1;
                        continue;
                    }
                    // Another mount of the same file system (a bind mount) is outside too.
                    if mount_of(&sub, &stat) != self.mount {
                        scan.skipped_dirs += 1;
                        continue;
                    }
                    match self.dir(&sub, &path, depth + 1, scan) {
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => return Err(err),
                        Err(_) => scan.skipped_dirs += 1,
                        Ok(()) => {}
                    }
                }
                // Sockets, fifos and devices are never deleted.
                _ => {}
            }
        }
        Ok(())
    }
}
