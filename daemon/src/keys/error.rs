//! Why no master key could be had, worded for the operator who has to fix it.
//!
//! Every message names the place that was looked at and what to do; none quotes key material.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a key file was refused before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// It is a symbolic link: whoever controls the link controls the key.
    Symlink,
    /// It is a directory, socket, device, FIFO ...
    NotRegular,
    /// Owned by another uid than the daemon's effective uid.
    Owner {
        /// The file's owner.
        owner: u32,
        /// The daemon's effective uid.
        euid: u32,
    },
    /// Group or other permission bits are set (the permission bits, e.g. `0o644`).
    Mode(u32),
}

impl FileProblem {
    /// The full sentence for `path`, with the command that fixes it.
    pub fn explain(&self, path: &Path) -> String {
        self.explain_as(path, "key file", "keys.file")
    }

    /// The same sentence for another kind of private file: `what` names it (e.g. `app key
    /// file`) and `setting` is the config key that points at it.
    pub fn explain_as(&self, path: &Path, what: &str, setting: &str) -> String {
        let p = path.display();
        match self {
            FileProblem::Symlink => format!(
                "{what} {p} is a symbolic link; it must be a regular file, since whoever \
                 controls the link controls the key (replace the link with the file itself)"
            ),
            FileProblem::NotRegular => {
                format!("{what} {p} is not a regular file; point {setting} at a regular file")
            }
            FileProblem::Owner { owner, euid } => format!(
                "{what} {p} is owned by uid {owner}, but cachemgrd runs as uid {euid}; only \
                 the daemon's own user may own it (chown {euid} {p})"
            ),
            FileProblem::Mode(mode) => {
                let what_mode = if mode & 0o044 != 0 {
                    "readable by group or others"
                } else {
                    "writable or executable by group or others"
                };
                format!(
                    "{what} {p} has mode {mode:04o}; it must not be {what_mode} (chmod 600 {p})"
                )
            }
        }
    }
}

/// Why the master key could not be loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is set but does not hold a key.
    #[error(
        "{var} is set but invalid: {reason}; set it to the base64 of exactly 32 random bytes \
         (e.g. `head -c 32 /dev/urandom | base64`) or unset it"
    )]
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// What is wrong (never the value).
        reason: String,
    },
    /// A source holds something, but not a valid key.
    #[error("{origin} does not hold a valid master key: {reason}; {fix}")]
    InvalidKey {
        /// Where it was read, e.g. `key file /x`.
        origin: String,
        /// What is wrong (never the value).
        reason: String,
        /// How to repair it.
        fix: String,
    },
    /// The key file's type, owner or mode makes it unsafe to trust.
    #[error("{}", .problem.explain(.path))]
    UnsafeKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        problem: FileProblem,
    },
    /// A file or directory could not be read or written.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. `read key file`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// `keys.source` names one source and it holds no key.
    #[error("keys.source = \"{choice}\" but {looked}; {fix}")]
    NotFound {
        /// The configured source.
        choice: &'static str,
        /// Where it looked and what it found.
        looked: String,
        /// How to provide a key there, or pick another source.
        fix: String,
    },
    /// The keyring call did not return in time (a locked collection may wait for a prompt).
    #[error(
        "keyring did not answer within {} (locked? run `secret-tool lookup service {service} \
         username {user}` in your session to unlock it, raise keys.keyring_timeout, or set \
         keys.source to skip the keyring)",
        humantime::format_duration(*.timeout)
    )]
    KeyringTimeout {
        /// The configured timeout.
        timeout: Duration,
        /// The keyring service searched.
        service: String,
        /// The keyring user searched.
        user: String,
    },
    /// The keyring is there but refused to hand out or store the entry.
    #[error("keyring ({backend}) refused access for service {service}, user {user}: {reason}")]
    KeyringRefused {
        /// `secret-service` or `keyutils`.
        backend: &'static str,
        /// The keyring service.
        service: String,
        /// The keyring user.
        user: String,
        /// Why, with the fix.
        reason: String,
    },
    /// `key-init --to keyring` found neither keyring backend usable.
    #[error(
        "no keyring is reachable ({reasons}); start a Secret Service (e.g. gnome-keyring) in \
         this session, or use `cachemgrd key-init --to file`"
    )]
    KeyringUnavailable {
        /// Why each backend could not be used.
        reasons: String,
    },
    /// `key-init` would overwrite an existing key.
    #[error(
        "{location} already holds a master key; pass --force to replace it (anything sealed \
         under the old key becomes unreadable)"
    )]
    AlreadyExists {
        /// Where the existing key is.
        location: String,
    },
    /// The OS random generator failed.
    #[error("the operating system gave no random bytes: {reason}")]
    Random {
        /// The OS error.
        reason: String,
    },
}

impl KeyError {
    /// An I/O error with the action and path it concerns.
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> KeyError {
        KeyError::Io { action, path: path.to_path_buf(), source }
    }
}
