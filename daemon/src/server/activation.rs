//! Socket activation: systemd (`cachemgrd.socket`) or any launcher speaking its protocol
//! (`LISTEN_PID`, `LISTEN_FDS`, the sockets from fd 3) hands the daemon a listening socket
//! it created itself. Clients that connect while the daemon is not running wait in the
//! socket's backlog instead of failing, and are served once it starts.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use interprocess::local_socket::tokio::Listener;

/// The first descriptor a launcher passes (`SD_LISTEN_FDS_START`).
const FIRST_PASSED_FD: i32 = 3;

/// Why a passed socket was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` is not a number, or not exactly one socket was passed.
    #[error("socket activation: expected exactly one socket in LISTEN_FDS, got {0:?} (the .socket unit must have one ListenStream=)")]
    Count(String),
    /// The descriptor is not a listening Unix stream socket bound to a path.
    #[error("socket activation: the passed descriptor is not a listening Unix stream socket with a path ({0}); use ListenStream=/path/to/socket")]
    NotAUnixListener(String),
    /// Every user could connect (others may write it): the unit forgot `SocketMode=`.
    #[error("socket activation: {} has mode {mode:o}, open to every user; set SocketMode=0600 (or 0660 with SocketGroup=) in cachemgrd.socket", path.display())]
    OpenToEveryone {
        /// The socket.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// A socket handed over by the launcher.
#[derive(Debug)]
pub struct Activated {
    /// Ready to accept.
    pub listener: Listener,
    /// Where it is bound (what clients connect to).
    pub path: PathBuf,
    /// Its group, to compare with `socket_group`.
    pub gid: u32,
}

/// The socket passed to this process, if any: `None` without `LISTEN_PID` or when it names
/// another process (a variable inherited from a parent). Must run inside a tokio runtime.
pub fn take_listener() -> Result<Option<Activated>, ActivationError> {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .is_some_and(|pid| pid == std::process::id());
    if !for_us {
        return Ok(None);
    }
    let count = std::env::var("LISTEN_FDS").unwrap_or_default();
    if count.trim() != "1" {
        return Err(ActivationError::Count(count));
    }
    // SAFETY: the launcher passed fd 3 to this very process (LISTEN_PID is ours) and kept it
    // open across exec, so no descriptor the process opened since can have that number; the
    // daemon takes passed sockets only here, once, so this is its only owner.
    let fd = unsafe { OwnedFd::from_raw_fd(FIRST_PASSED_FD) };
    let not_unix = |err: io::Error| ActivationError::NotAUnixListener(err.to_string());
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)
        .map_err(|err| not_unix(err.into()))?;
    let stream = rustix::net::sockopt::socket_type(&fd).map_err(|err| not_unix(err.into()))?;
    let listening =
        rustix::net::sockopt::socket_acceptconn(&fd).map_err(|err| not_unix(err.into()))?;
    if stream != rustix::net::SocketType::STREAM || !listening {
        return Err(ActivationError::NotAUnixListener("not a listening stream socket".into()));
    }
    let std_listener = std::os::unix::net::UnixListener::from(fd);
    let address = std_listener.local_addr().map_err(not_unix)?;
    let path = address
        .as_pathname()
        .map(PathBuf::from)
        .ok_or_else(|| ActivationError::NotAUnixListener("an unnamed or abstract socket".into()))?;
    let meta = std::fs::metadata(&path).map_err(not_unix)?;
    let mode = meta.permissions().mode() & 0o777;
    // Connecting takes write permission: others' `w` bit is what opens it to everyone.
    if mode & 0o002 != 0 {
        return Err(ActivationError::OpenToEveryone { path, mode });
    }
    let fd = OwnedFd::from(std_listener);
    let uds = interprocess::os::unix::uds_local_socket::tokio::Listener::try_from(fd)
        .map_err(not_unix)?;
    Ok(Some(Activated { listener: Listener::from(uds), path, gid: meta.gid() }))
}
