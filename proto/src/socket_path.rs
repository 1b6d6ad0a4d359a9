//! Where the daemon's socket is when nobody names it: part of the transport contract, so the
//! daemon and every client resolve it with this one function (see docs/protocol.md).
//!
//! Pure (no environment reads), so the order is testable; callers pass what they read.

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variable naming the socket explicitly (read by the daemon and the clients).
pub const SOCKET_ENV: &str = "CACHEMGR_SOCKET";

/// Socket file name inside the runtime directory.
pub const SOCKET_FILE: &str = "cachemgrd.sock";

/// The inputs of the default path, as read from the process environment.
#[derive(Debug, Clone, Default)]
pub struct SocketEnv {
    /// `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<OsString>,
    /// `$RUNTIME_DIRECTORY` (set by systemd's `RuntimeDirectory=` inside the service).
    pub runtime_directory: Option<OsString>,
    /// Effective uid of the process.
    pub euid: u32,
}

/// `$XDG_RUNTIME_DIR/cachemgr/`, else `$RUNTIME_DIRECTORY/`, else `/run/cachemgr/` for root,
/// else `/tmp/cachemgr-<uid>/`, each with [`SOCKET_FILE`]. Empty variables count as unset.
pub fn default_socket_path(env: &SocketEnv) -> PathBuf {
    let set = |value: &Option<OsString>| value.clone().filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = set(&env.xdg_runtime_dir)
        .map(|dir| dir.join("cachemgr"))
        .or_else(|| set(&env.runtime_directory))
        .unwrap_or_else(|| match env.euid {
            0 => PathBuf::from("/run/cachemgr"),
            uid => PathBuf::from(format!("/tmp/cachemgr-{uid}")),
        });
    dir.join(SOCKET_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(xdg: Option<&str>, runtime: Option<&str>, euid: u32) -> PathBuf {
        default_socket_path(&SocketEnv {
            xdg_runtime_dir: xdg.map(Into::into),
            runtime_directory: runtime.map(Into::into),
            euid,
        })
    }

    #[test]
    fn resolution_order() {
        let xdg = path(Some("/run/user/1000"), Some("/run/cachemgr"), 1000);
        assert_eq!(xdg, PathBuf::from("/run/user/1000/cachemgr/cachemgrd.sock"));
        let systemd = path(None, Some("/run/cachemgr"), 0);
        assert_eq!(systemd, PathBuf::from("/run/cachemgr/cachemgrd.sock"));
        assert_eq!(path(None, None, 0), PathBuf::from("/run/cachemgr/cachemgrd.sock"));
        let fallback = path(Some(""), Some(""), 1000);
        assert_eq!(fallback, PathBuf::from("/tmp/cachemgr-1000/cachemgrd.sock"));
    }
}
