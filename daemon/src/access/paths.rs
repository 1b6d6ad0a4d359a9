//! The one path resolver: every filesystem path a caller names (an app's file, its external
//! backup folder, a dump, an import, a cache directory) is opened here and nowhere else.
//!
//! - No symlink is followed in any component (`openat2` with `RESOLVE_NO_SYMLINKS`), and a
//!   path must be absolute and plain (no `.` or `..`), so what is checked is what is named.
//! - A restricted principal (anyone but root and the daemon's own user) may only name
//!   directories and files it owns: the owner is read with `fstat` from the descriptor that
//!   was opened, never from the path again.
//! - The caller gets the open descriptor back, and every later read, create, rename and sync
//!   goes through it (`openat`, `renameat`, ...), so nothing can be swapped in between.
//! - Directories are created one level at a time under a directory the principal owns, and
//!   handed to the principal; never elsewhere on a user's behalf.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, CWD};

use super::caller::Caller;

/// On whose behalf a path is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The user the path must belong to (when restricted).
    pub uid: u32,
    /// Root or the daemon's own user: may name any path (still without symlinks).
    pub unrestricted: bool,
}

impl Principal {
    /// For re-opening a path whose owner was checked when the operation began (a migration
    /// rolled back): no owner check, and still no symlink anywhere.
    pub const CHECKED: Principal = Principal { uid: 0, unrestricted: true };

    /// The principal of a uid: unrestricted for root and the daemon's own user only (members
    /// of `admin_group` are admins for the cache, but the daemon touches files for them only
    /// where they could themselves).
    pub fn of_uid(uid: u32) -> Principal {
        let unrestricted = uid == 0 || uid == rustix::process::geteuid().as_raw();
        Principal { uid, unrestricted }
    }

    /// The principal of a connected caller.
    pub fn of_caller(caller: &Caller) -> Principal {
        Principal::of_uid(caller.peer.uid)
    }
}

/// Why a path was refused or could not be opened; each names the path.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// Relative, with `.`/`..` components, naming no file, too long or holding a NUL byte.
    #[error(
        "{0:?} must be absolute, without `.` or `..` components or NUL bytes, and at most 4095 \
         bytes long"
    )]
    NotPlain(PathBuf),
    /// A symlink in some component.
    #[error(
        "{path}: {link} is a symbolic link; the daemon never follows symlinks in paths given \
         to it, name the real path"
    )]
    Symlink {
        /// The path named.
        path: PathBuf,
        /// The component that is a link.
        link: PathBuf,
    },
    /// Owned by someone else.
    #[error("{path} belongs to uid {owner}, not to uid {uid}: only your own files and directories may be named")]
    NotOwned {
        /// The path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The principal.
        uid: u32,
    },
    /// Nothing there.
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    /// Not a directory where one is needed.
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    /// What the OS said.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

impl PathError {
    /// The wire's class: someone else's file is `permission_denied`, anything else about
    /// the path `invalid_argument`, a failure of the OS `storage`.
    pub fn kind(&self) -> cachemgr_proto::ErrorKind {
        use cachemgr_proto::ErrorKind;
        match self {
            PathError::NotOwned { .. } => ErrorKind::PermissionDenied,
            PathError::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                ErrorKind::PermissionDenied
            }
            PathError::Io { .. } => ErrorKind::Storage,
            _ => ErrorKind::InvalidArgument,
        }
    }

    /// Whether the path (or one of its directories) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, PathError::NotFound(_))
    }

    fn from_errno(path: &Path, err: rustix::io::Errno) -> PathError {
        match err {
            rustix::io::Errno::NOENT => PathError::NotFound(path.to_path_buf()),
            rustix::io::Errno::NOTDIR => PathError::NotADirectory(path.to_path_buf()),
            rustix::io::Errno::INVAL | rustix::io::Errno::NAMETOOLONG => {
                PathError::NotPlain(path.to_path_buf())
            }
            rustix::io::Errno::LOOP => PathError::Symlink {
                path: path.to_path_buf(),
                link: first_symlink(path).unwrap_or_else(|| path.to_path_buf()),
            },
            err => PathError::Io { path: path.to_path_buf(), source: err.into() },
        }
    }
}

impl From<PathError> for io::Error {
    fn from(err: PathError) -> io::Error {
        let kind = match &err {
            PathError::NotFound(_) => io::ErrorKind::NotFound,
            PathError::NotOwned { .. } => io::ErrorKind::PermissionDenied,
            PathError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, err)
    }
}

/// A directory opened by the resolver (and checked for its principal).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
    principal: Principal,
}

impl Dir {
    /// The path it was opened by (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The principal it was opened for.
    pub fn principal(&self) -> Principal {
        self.principal
    }

    /// Its descriptor, for `*at` calls.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// A second descriptor of the same directory.
    pub fn try_clone_fd(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// The entry `name` of this directory (a plain name, no `/`).
    pub fn entry(self, name: &OsStr) -> Result<Place, PathError> {
        let path = self.path.join(name);
        if !is_plain_name(name) {
            return Err(PathError::NotPlain(path));
        }
        Ok(Place { dir: self, name: name.to_owned(), path })
    }

    /// Opens the sub-directory `name`, creating it (mode 0700, owned by the principal) when
    /// it is missing.
    pub fn child_dir(&self, name: &OsStr) -> Result<Dir, PathError> {
        let path = self.path.join(name);
        if !is_plain_name(name) {
            return Err(PathError::NotPlain(path));
        }
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => {
                // Hand it over through a descriptor of the directory just made (checked to
                // be a directory the daemon owns), never by name: a name swapped for a hard
                // link meanwhile must not get its file chowned.
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let made = rustix::fs::openat(&self.fd, name, flags, Mode::empty())
                    .map_err(|err| PathError::from_errno(&path, err))?;
                give_to(&made, &path, self.principal)?;
            }
            Err(rustix::io::Errno::EXIST) => {}
            Err(err) => return Err(PathError::from_errno(&path, err)),
        }
        open_dir_at(&self.fd, name, path, self.principal)
    }
}

/// A named entry of a resolved directory: the file itself may or may not exist.
#[derive(Debug)]
pub struct Place {
    dir: Dir,
    name: OsString,
    path: PathBuf,
}

impl Place {
    /// The full path (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory it lives in.
    pub fn dir(&self) -> &Dir {
        &self.dir
    }

    /// Its name in that directory.
    pub fn name(&self) -> &OsStr {
        &self.name
    }

    /// Opens the file for reading, without following a symlink at its name and without
    /// blocking on a FIFO, and checks its owner against the principal.
    pub fn open_read(&self) -> Result<File, PathError> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd =
            rustix::fs::openat(self.dir.fd(), &self.name, flags | OFlags::NOCTTY, Mode::empty())
                .map_err(|err| PathError::from_errno(&self.path, err))?;
        check_owner(&fd, &self.path, self.dir.principal)?;
        Ok(File::from(fd))
    }

    /// The entry's status without following a symlink (`None` when it does not exist).
    pub fn stat(&self) -> Result<Option<rustix::fs::Stat>, PathError> {
        match rustix::fs::statat(self.dir.fd(), &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(stat)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(err) => Err(PathError::from_errno(&self.path, err)),
        }
    }
}

/// Resolves `path` to its directory and name: the directory opened with no symlink in any
/// component and, for a restricted principal, owned by it.
pub fn place(principal: Principal, path: &Path) -> Result<Place, PathError> {
    let (parent, name) = split_plain(path)?;
    open_dir(principal, parent)?.entry(name)
}

/// Opens the directory `path` with no symlink in any component; for a restricted principal
/// it must be its own.
pub fn open_dir(principal: Principal, path: &Path) -> Result<Dir, PathError> {
    check_plain(path)?;
    open_dir_at(CWD, path, path.to_path_buf(), principal)
}

/// Opens the directory `path`, creating what is missing of it one level at a time under the
/// deepest existing directory, which (like every level created) must be the principal's own
/// when it is restricted. Created levels are mode 0700 and owned by the principal.
pub fn ensure_dir(principal: Principal, path: &Path) -> Result<Dir, PathError> {
    check_plain(path)?;
    let mut missing = Vec::new();
    let mut existing = path;
    let mut dir = loop {
        match open_dir(principal, existing) {
            Ok(dir) => break dir,
            Err(PathError::NotFound(_)) => {
                let (parent, name) = split_plain(existing)?;
                missing.push(name);
                existing = parent;
            }
            Err(err) => return Err(err),
        }
    };
    for name in missing.into_iter().rev() {
        dir = dir.child_dir(name)?;
    }
    Ok(dir)
}

fn open_dir_at<Fd: AsFd>(
    at: Fd,
    relative: impl rustix::path::Arg,
    path: PathBuf,
    principal: Principal,
) -> Result<Dir, PathError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let fd = rustix::fs::openat2(at, relative, flags, Mode::empty(), resolve)
        .map_err(|err| PathError::from_errno(&path, err))?;
    check_owner(&fd, &path, principal)?;
    Ok(Dir { fd, path, principal })
}

fn check_owner(fd: &OwnedFd, path: &Path, principal: Principal) -> Result<(), PathError> {
    if principal.unrestricted {
        return Ok(());
    }
    let stat = rustix::fs::fstat(fd).map_err(|err| PathError::from_errno(path, err))?;
    if stat.st_uid != principal.uid {
        return Err(PathError::NotOwned {
            path: path.to_path_buf(),
            owner: stat.st_uid,
            uid: principal.uid,
        });
    }
    Ok(())
}

/// Hands a directory the daemon created (open as `made`) to the principal when the daemon
/// runs as root on someone else's behalf, so it is theirs like any directory they made.
fn give_to(made: &OwnedFd, path: &Path, principal: Principal) -> Result<(), PathError> {
    let euid = rustix::process::geteuid();
    let stat = rustix::fs::fstat(made).map_err(|err| PathError::from_errno(path, err))?;
    if stat.st_uid != euid.as_raw() {
        return Err(io_error(path, io::Error::other("the new directory was replaced meanwhile")));
    }
    if !euid.is_root() || principal.uid == 0 {
        return Ok(());
    }
    let uid = rustix::process::Uid::from_raw(principal.uid);
    rustix::fs::fchown(made, Some(uid), None).map_err(|err| PathError::from_errno(path, err))
}

fn io_error(path: &Path, source: io::Error) -> PathError {
    PathError::Io { path: path.to_path_buf(), source }
}

/// The longest path the resolver takes (Linux's `PATH_MAX`, NUL included).
const MAX_PATH_BYTES: usize = 4095;

/// Whether a path a request names is one the resolver can take at all: absolute, without
/// `.`/`..` components or NUL bytes, at most `PATH_MAX`. The request table's paths are
/// admitted with this before any handler runs; opening them is the use case's, through
/// [`place`], [`open_dir`] or [`ensure_dir`].
pub fn admit(path: &Path) -> Result<(), PathError> {
    check_plain(path)
}

/// Refuses relative paths, `.`/`..` components, NUL bytes and over-long paths.
fn check_plain(path: &Path) -> Result<(), PathError> {
    let bytes = path.as_os_str().as_encoded_bytes();
    let plain = bytes.first() == Some(&b'/')
        && bytes.len() <= MAX_PATH_BYTES
        && !bytes.contains(&0)
        && bytes.split(|&b| b == b'/').all(|segment| segment != b"." && segment != b"..");
    if plain {
        Ok(())
    } else {
        Err(PathError::NotPlain(shown(path)))
    }
}

/// How a refused path is named in answers and logs: whole up to 256 bytes, else its start
/// and its length (a client must not make the daemon echo megabytes).
fn shown(path: &Path) -> PathBuf {
    const SHOWN: usize = 256;
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.len() <= SHOWN {
        return path.to_path_buf();
    }
    let start = String::from_utf8_lossy(&bytes[..SHOWN]);
    PathBuf::from(format!("{start}... ({} bytes)", bytes.len()))
}

/// A plain absolute path's parent and file name.
fn split_plain(path: &Path) -> Result<(&Path, &OsStr), PathError> {
    check_plain(path)?;
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(PathError::NotPlain(path.to_path_buf())),
    }
}

fn is_plain_name(name: &OsStr) -> bool {
    let bytes = name.as_encoded_bytes();
    !bytes.is_empty() && bytes != b"." && bytes != b".." && !bytes.contains(&b'/')
}

/// The first component of `path` that is a symlink, for the message only.
fn first_symlink(path: &Path) -> Option<PathBuf> {
    let mut sofar = PathBuf::new();
    for component in path.components() {
        sofar.push(component);
        if std::fs::symlink_metadata(&sofar).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(sofar);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn me() -> Principal {
        Principal::of_uid(rustix::process::geteuid().as_raw())
    }

    #[test]
    fn no_symlink_in_any_component_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("file"), b"x").unwrap();
        symlink(&real, tmp.path().join("link")).unwrap();
        symlink(real.join("file"), real.join("file-link")).unwrap();
        let err = place(me(), &tmp.path().join("link/file")).unwrap_err();
        assert!(
            matches!(&err, PathError::Symlink { link, .. } if link.ends_with("link")),
            "{err:?}"
        );
        let at = place(me(), &real.join("file-link")).unwrap();
        assert!(at.open_read().is_err(), "a symlink at the name is not followed");
        assert!(place(me(), &real.join("file")).unwrap().open_read().is_ok());
        for bad in ["relative/file", "/a/../b", "/a/./b"] {
            assert!(matches!(place(me(), Path::new(bad)), Err(PathError::NotPlain(_))), "{bad}");
        }
    }

    #[test]
    fn a_restricted_principal_may_only_name_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f"), b"x").unwrap();
        let stranger = Principal { uid: 4_000_123, unrestricted: false };
        let err = open_dir(stranger, tmp.path()).unwrap_err();
        assert!(
            matches!(err, PathError::NotOwned { owner, uid: 4_000_123, .. } if owner == me().uid)
        );
        let own = Principal { uid: me().uid, unrestricted: false };
        let file = place(own, &tmp.path().join("f")).unwrap().open_read();
        assert!(file.is_ok(), "{file:?}");
    }

    #[test]
    fn ensure_dir_creates_levels_under_an_owned_directory_only() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("a/b/c");
        let dir = ensure_dir(me(), &target).unwrap();
        assert_eq!(dir.path(), target);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let stranger = Principal { uid: 4_000_123, unrestricted: false };
        let err = ensure_dir(stranger, &tmp.path().join("x/y")).unwrap_err();
        assert!(matches!(err, PathError::NotOwned { .. }), "{err:?}");
        assert!(!tmp.path().join("x").exists(), "nothing created for a stranger");
        symlink(tmp.path().join("a"), tmp.path().join("l")).unwrap();
        assert!(matches!(
            ensure_dir(me(), &tmp.path().join("l/new")),
            Err(PathError::Symlink { .. })
        ));
        assert!(!tmp.path().join("a/new").exists());
    }
}

#[test]
fn a_refused_path_is_named_but_never_echoed_whole() {
    let long = format!("relative/{}", "x".repeat(1 << 20));
    let message = admit(Path::new(&long)).expect_err("relative").to_string();
    assert!(message.len() < 1024, "{} bytes", message.len());
    assert!(message.contains("relative/xxx") && message.contains(&format!("{} bytes", long.len())));
    let short = admit(Path::new("a/b")).expect_err("relative").to_string();
    assert!(short.contains("\"a/b\""), "{short}");
}
