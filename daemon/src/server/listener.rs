//! Binding the socket: single-instance lock, stale-socket takeover, mode 0600 before listen.
//!
//! `interprocess`'s `try_overwrite` would steal the socket of a live daemon, so ownership is
//! decided by an exclusive `flock` on `<socket>.lock` instead: whoever holds it owns the path.
//! The lock file is never deleted (deleting it would race with a starting daemon).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::unix::local_socket::ListenerOptionsExt;

/// Permission bits of the socket: owner only.
pub const SOCKET_MODE: u32 = 0o600;
/// Permission bits of the socket in system mode (`socket_group`): owner and that group.
pub const GROUP_SOCKET_MODE: u32 = 0o660;

/// Why the socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another daemon holds the lock (or answers on the socket).
    #[error("another cachemgrd is already serving {socket} (lock {lock} is held); stop it first or choose another --socket")]
    AlreadyRunning {
        /// Socket path.
        socket: PathBuf,
        /// Lock file path.
        lock: PathBuf,
    },
    /// Something that is not a socket sits at the path.
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    /// Any other failure, with what was being done.
    #[error("{what} {path}: {source}")]
    Io {
        /// The step that failed.
        what: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// A listening socket together with the lock that makes it ours.
#[derive(Debug)]
pub struct BoundSocket {
    /// The listener.
    pub listener: Listener,
    /// The lock and path, kept until the daemon has drained.
    pub guard: SocketGuard,
}

/// Holds the single-instance lock; removes the socket file when asked, if it is ours.
#[derive(Debug)]
pub struct SocketGuard {
    path: PathBuf,
    _lock: Option<File>,
    /// False for a socket systemd created (socket activation): it stays, so clients that
    /// connect while the daemon restarts wait in its backlog.
    owned: bool,
}

impl SocketGuard {
    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unlinks the socket so new clients see "not running" instead of hanging (not a socket
    /// systemd owns: there, new clients wait for the next start).
    pub fn remove_socket(&self) {
        if !self.owned {
            return;
        }
        if let Err(err) = fs::remove_file(&self.path) {
            if err.kind() != io::ErrorKind::NotFound {
                tracing::warn!(socket = %self.path.display(), "cannot remove socket: {err}");
            }
        }
    }
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BindError {
    let path = path.to_path_buf();
    move |source| BindError::Io { what, path, source }
}

/// The lock file guarding `socket`.
pub fn lock_path(socket: &Path) -> PathBuf {
    let mut name = socket.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock, clears a stale socket, binds with mode 0600 and, with `group`, hands the
/// socket to that group with mode 0660, all before the first accept. Must run inside a tokio
/// runtime.
pub fn bind(socket: &Path, group: Option<u32>) -> Result<BoundSocket, BindError> {
    let lock_file = lock_path(socket);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(&lock_file)
        .map_err(io_err("cannot open lock file", &lock_file))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(BindError::AlreadyRunning { socket: socket.into(), lock: lock_file })
        }
        Err(fs::TryLockError::Error(err)) => {
            return Err(io_err("cannot lock", &lock_file)(err));
        }
    }
    remove_stale(socket, &lock_file)?;
    let name =
        socket.to_fs_name::<GenericFilePath>().map_err(io_err("invalid socket path", socket))?;
    let listener = ListenerOptions::new()
        .name(name)
        .mode(SOCKET_MODE as _)
        .reclaim_name(true)
        .create_tokio()
        .map_err(io_err("cannot listen on", socket))?;
    let wanted = match group {
        Some(gid) => {
            let gid = rustix::process::Gid::from_raw(gid);
            rustix::fs::chown(socket, None, Some(gid))
                .map_err(|err| io_err("cannot give the socket its group", socket)(err.into()))?;
            fs::set_permissions(socket, fs::Permissions::from_mode(GROUP_SOCKET_MODE))
                .map_err(io_err("cannot set the socket's mode", socket))?;
            GROUP_SOCKET_MODE
        }
        None => SOCKET_MODE,
    };
    let mode = fs::metadata(socket).map_err(io_err("cannot stat", socket))?.permissions().mode();
    if mode & 0o777 != wanted {
        return Err(BindError::Io {
            what: "socket was created with the wrong mode",
            path: socket.into(),
            source: io::Error::other(format!("mode {:o}", mode & 0o777)),
        });
    }
    let guard = SocketGuard { path: socket.into(), _lock: Some(lock), owned: true };
    Ok(BoundSocket { listener, guard })
}

/// Serves on a socket passed by systemd. Its mode and group are the unit's (`SocketMode=`,
/// `SocketGroup=`); a group other than `socket_group` is reported. The single-instance lock
/// is taken when its directory allows; when another daemon holds it, this one refuses to
/// start (two daemons must never share a state directory).
pub fn adopt(
    activated: super::activation::Activated,
    group: Option<u32>,
) -> Result<BoundSocket, BindError> {
    let super::activation::Activated { listener, path, gid } = activated;
    if group.is_some_and(|wanted| wanted != gid) {
        tracing::warn!(socket = %path.display(), gid, "the activated socket's group is not socket_group: set SocketGroup= in cachemgrd.socket to match");
    }
    let lock_file = lock_path(&path);
    let opened =
        OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&lock_file);
    let lock = match opened {
        Ok(file) => match file.try_lock() {
            Ok(()) => Some(file),
            Err(fs::TryLockError::WouldBlock) => {
                return Err(BindError::AlreadyRunning { socket: path, lock: lock_file });
            }
            Err(fs::TryLockError::Error(err)) => {
                return Err(io_err("cannot lock", &lock_file)(err))
            }
        },
        Err(err) => {
            tracing::debug!(lock = %lock_file.display(), "no single-instance lock beside the activated socket: {err}");
            None
        }
    };
    tracing::info!(socket = %path.display(), "serving the socket passed by systemd (socket activation)");
    Ok(BoundSocket { listener, guard: SocketGuard { path, _lock: lock, owned: false } })
}

/// With the lock held, a socket file at the path belongs to a dead daemon, unless a daemon
/// that predates the lock file still answers on it.
fn remove_stale(socket: &Path, lock_file: &Path) -> Result<(), BindError> {
    let meta = match fs::symlink_metadata(socket) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(io_err("cannot stat", socket)(err)),
    };
    if !meta.file_type().is_socket() {
        return Err(BindError::NotASocket(socket.into()));
    }
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(BindError::AlreadyRunning { socket: socket.into(), lock: lock_file.into() });
    }
    tracing::info!(socket = %socket.display(), "replacing stale socket left by a previous daemon");
    fs::remove_file(socket).map_err(io_err("cannot remove stale socket", socket))
}
