//! Where the daemon's socket is and how to open it, kept in one place so the library, the CLI,
//! the benchmark and the end-to-end tests agree with the daemon on the same path.

use std::env;
use std::path::{Path, PathBuf};

use cachemgr_proto::socket_path::SocketEnv;
pub use cachemgr_proto::socket_path::SOCKET_ENV;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::GenericFilePath;

use crate::error::ClientError;

/// The socket path used when none is given: `$CACHEMGR_SOCKET` (empty = unset), else the
/// protocol's default resolution, the same function the daemon uses.
pub fn default_socket_path() -> PathBuf {
    match env::var_os(SOCKET_ENV).filter(|value| !value.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => cachemgr_proto::socket_path::default_socket_path(&SocketEnv {
            xdg_runtime_dir: env::var_os("XDG_RUNTIME_DIR"),
            runtime_directory: None,
            euid: rustix::process::geteuid().as_raw(),
        }),
    }
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
