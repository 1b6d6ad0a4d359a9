//! Where the daemon puts its socket, state and config, and the checks on those directories.
//!
//! The socket's directory must be private: a world-writable place would let another user
//! swap the socket under us, so a directory we create is 0700 and one owned by someone else
//! is refused.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use cachemgr_proto::socket_path::{default_socket_path, SocketEnv};

use crate::config::Config;

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The first entry of a systemd directory variable (`RuntimeDirectory=a b` sets `a:b`).
fn systemd_dir(name: &str) -> Option<PathBuf> {
    let value = std::env::var_os(name)?;
    let first = value.as_encoded_bytes().split(|b| *b == b':').next().unwrap_or_default();
    let first = std::str::from_utf8(first).ok()?;
    (!first.is_empty()).then(|| PathBuf::from(first))
}

fn home() -> Option<PathBuf> {
    env_path("HOME")
}

/// Socket path: `--socket`, then `CACHEMGR_SOCKET` / the `socket` key (empty = unset), then
/// `$RUNTIME_DIRECTORY/cachemgrd.sock` under systemd (the unit's `RuntimeDirectory=` is where
/// it promised the socket), then the protocol's default resolution (shared with the clients).
/// The flag says whether the directory is a default one, ours to create and check.
pub fn socket_path(flag: Option<PathBuf>, config: &Config) -> (PathBuf, bool) {
    let explicit = flag.or_else(|| config.socket.clone()).filter(|p| !p.as_os_str().is_empty());
    if let Some(path) = explicit {
        return (path, false);
    }
    if let Some(dir) = systemd_dir("RUNTIME_DIRECTORY") {
        return (dir.join(cachemgr_proto::socket_path::SOCKET_FILE), true);
    }
    let env = SocketEnv {
        xdg_runtime_dir: std::env::var_os("XDG_RUNTIME_DIR"),
        runtime_directory: std::env::var_os("RUNTIME_DIRECTORY"),
        euid: rustix::process::geteuid().as_raw(),
    };
    (default_socket_path(&env), true)
}

/// State directory: `--state-dir`, `state_dir` key, `$STATE_DIRECTORY` (systemd),
/// `$XDG_STATE_HOME/cachemgr`, `~/.local/state/cachemgr`.
pub fn state_dir(flag: Option<PathBuf>, config: &Config) -> Result<PathBuf> {
    if let Some(path) = flag.or_else(|| config.state_dir.clone()) {
        return Ok(path);
    }
    if let Some(dir) = systemd_dir("STATE_DIRECTORY") {
        return Ok(dir);
    }
    if let Some(dir) = env_path("XDG_STATE_HOME") {
        return Ok(dir.join("cachemgr"));
    }
    match home() {
        Some(home) => Ok(home.join(".local/state/cachemgr")),
        None => bail!("cannot pick a state directory: set --state-dir, STATE_DIRECTORY or HOME"),
    }
}

/// The disk layer's file when `[disk] path` is unset: `$CACHE_DIRECTORY/cache.redb` under
/// systemd's `CacheDirectory=` (disposable data belongs there), unless a `cache.redb` already
/// sits in the state directory (kept, so an upgrade does not drop a warm cache), else
/// `<state>/cache.redb`.
pub fn disk_path(configured: Option<PathBuf>, state_dir: &Path) -> PathBuf {
    if let Some(path) = configured {
        return path;
    }
    let in_state = state_dir.join("cache.redb");
    match systemd_dir("CACHE_DIRECTORY") {
        Some(dir) if !in_state.exists() => dir.join("cache.redb"),
        _ => in_state,
    }
}

/// Config file: `--config` / `CACHEMGR_CONFIG` (must exist), else the first existing of
/// `$XDG_CONFIG_HOME/cachemgr/cachemgr.toml` (or `~/.config/...`) and `/etc/cachemgr/cachemgr.toml`.
pub fn config_path(flag: Option<PathBuf>) -> Option<PathBuf> {
    if flag.is_some() {
        return flag;
    }
    let user = env_path("XDG_CONFIG_HOME")
        .or_else(|| home().map(|home| home.join(".config")))
        .map(|dir| dir.join("cachemgr/cachemgr.toml"));
    user.into_iter().chain([PathBuf::from("/etc/cachemgr/cachemgr.toml")]).find(|p| p.is_file())
}

/// Lets the socket group reach a socket directory the daemon owns (mode 0750, that group):
/// in system mode the socket itself is 0660, but its directory must be passable too.
pub fn share_dir_with_group(dir: &Path, gid: u32) -> Result<()> {
    rustix::fs::chown(dir, None, Some(rustix::process::Gid::from_raw(gid)))
        .with_context(|| format!("cannot give {} to the socket group", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o750))
        .with_context(|| format!("cannot set the mode of {}", dir.display()))
}

/// Creates `dir` (mode 0700) and its missing parents, and returns the directories it
/// created, outermost first. When `private`, refuses a directory owned by another user or
/// writable by group/others, since whoever can write there can replace our files.
pub fn prepare_dir(dir: &Path, private: bool) -> Result<Vec<PathBuf>> {
    let mut created = Vec::new();
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    for level in missing.into_iter().rev() {
        match DirBuilder::new().mode(0o700).create(level) {
            Ok(()) => created.push(level.to_path_buf()),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("cannot create directory {}", level.display()))
            }
        }
    }
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if private && meta.file_type().is_symlink() {
        bail!(
            "refusing to use {}: it is a symbolic link (whoever owns the link can redirect it)",
            dir.display()
        );
    }
    let meta = fs::metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    if private {
        let uid = rustix::process::geteuid().as_raw();
        if meta.uid() != uid {
            bail!(
                "refusing to use {}: it is owned by uid {}, not by us (uid {uid}); remove it or pick another --socket",
                dir.display(),
                meta.uid()
            );
        }
        if meta.permissions().mode() & 0o022 != 0 {
            bail!(
                "refusing to use {}: it is writable by group or others (mode {:o}); chmod 700 it",
                dir.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
    Ok(created)
}
