//! Where the daemon's socket is and how to open it, kept in one place so the library, the CLI,
//! the benchmark and the end-to-end tests agree with the daemon on the same path.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::GenericFilePath;

use crate::error::ClientError;

/// Environment variable that overrides the socket path (read by the daemon too).
pub const SOCKET_ENV: &str = "CACHEMGR_SOCKET";

/// Socket file name inside the runtime directory.
const SOCKET_FILE: &str = "cachemgrd.sock";

/// The socket path used when none is given, in the same order the daemon resolves it:
/// `$CACHEMGR_SOCKET`, else `$XDG_RUNTIME_DIR/cachemgr/cachemgrd.sock`, else
/// `/run/cachemgr/cachemgrd.sock` for root, else `/tmp/cachemgr-<uid>/cachemgrd.sock`.
/// Empty variables count as unset, as most tools treat them.
pub fn default_socket_path() -> PathBuf {
    resolve_socket_path(
        env::var_os(SOCKET_ENV),
        env::var_os("XDG_RUNTIME_DIR"),
        rustix::process::getuid().as_raw(),
    )
}

/// The pure part of [`default_socket_path`], separated so the order can be tested without
/// touching the process environment.
fn resolve_socket_path(
    socket_env: Option<OsString>,
    runtime_dir: Option<OsString>,
    uid: u32,
) -> PathBuf {
    if let Some(path) = socket_env.filter(|value| !value.is_empty()) {
        return PathBuf::from(path);
    }
    if let Some(dir) = runtime_dir.filter(|value| !value.is_empty()) {
        return PathBuf::from(dir).join("cachemgr").join(SOCKET_FILE);
    }
    if uid == 0 {
        return PathBuf::from("/run/cachemgr").join(SOCKET_FILE);
    }
    PathBuf::from(format!("/tmp/cachemgr-{uid}")).join(SOCKET_FILE)
}

/// Opens a raw stream to the daemon; any failure becomes [`ClientError::Unreachable`] naming
/// the path, because from the caller's side every connect failure means "no daemon there".
///
/// The daemon's identity is checked from the kernel (`SO_PEERCRED`): a socket served by
/// another user (other than root) is refused, so a socket planted in a shared directory
/// such as `/tmp` cannot collect this user's values.
pub async fn connect_stream(path: &Path) -> Result<Stream, ClientError> {
    let unreachable = |source| ClientError::Unreachable { path: path.to_path_buf(), source };
    let name = path.to_fs_name::<GenericFilePath>().map_err(unreachable)?;
    let stream = Stream::connect(name).await.map_err(unreachable)?;
    let me = rustix::process::geteuid().as_raw();
    let server = stream.peer_creds().map_err(unreachable)?.euid();
    match server {
        Some(uid) if uid == me || uid == 0 => Ok(stream),
        other => Err(unreachable(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the socket is served by uid {}, not by you (uid {me}) or root; refusing to use it",
                other.map_or_else(|| "unknown".to_owned(), |uid| uid.to_string())
            ),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_override_wins() {
        let path = resolve_socket_path(Some("/x/s.sock".into()), Some("/run/user/1".into()), 1);
        assert_eq!(path, PathBuf::from("/x/s.sock"));
    }

    #[test]
    fn runtime_dir_next() {
        let path = resolve_socket_path(Some("".into()), Some("/run/user/1000".into()), 1000);
        assert_eq!(path, PathBuf::from("/run/user/1000/cachemgr/cachemgrd.sock"));
    }

    #[test]
    fn root_without_runtime_dir() {
        let path = resolve_socket_path(None, None, 0);
        assert_eq!(path, PathBuf::from("/run/cachemgr/cachemgrd.sock"));
    }

    #[test]
    fn user_without_runtime_dir() {
        let path = resolve_socket_path(None, Some("".into()), 1000);
        assert_eq!(path, PathBuf::from("/tmp/cachemgr-1000/cachemgrd.sock"));
    }
}
