//! Why an app's keyring entries could not be read or written, worded for the person who has
//! to fix it: each message names the store and the entry, and says what to do. None quotes a
//! value.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::keys::FileProblem;

/// The advice shared by every "no Secret Service here" message.
const USE_SESSION_OR_FILE: &str = "run the daemon in your desktop session (the user unit) or \
                                   configure [app_keys] source = \"file\"";

/// Why the app key store failed. Absent entries are not errors (`Ok(None)`): the caller
/// knows which entry it needed and names it.
#[derive(Debug, thiserror::Error)]
pub enum AppKeyStoreError {
    /// No D-Bus session bus to talk to: the daemon runs outside a desktop session.
    #[error(
        "no Secret Service reachable: DBUS_SESSION_BUS_ADDRESS is not set; {USE_SESSION_OR_FILE}"
    )]
    NoSessionBus,
    /// `DBUS_SESSION_BUS_ADDRESS` is set, but nothing answers there.
    #[error(
        "no Secret Service reachable at DBUS_SESSION_BUS_ADDRESS={address} ({reason}); \
         {USE_SESSION_OR_FILE}"
    )]
    BusUnreachable {
        /// The bus address tried.
        address: String,
        /// The connection error.
        reason: String,
    },
    /// The session bus works, but no program offers the Secret Service on it.
    #[error(
        "no Secret Service on the D-Bus session bus ({reason}); start one (gnome-keyring, \
         KWallet, KeePassXC's Secret Service integration) or configure [app_keys] source = \
         \"file\""
    )]
    NoSecretService {
        /// The D-Bus error.
        reason: String,
    },
    /// The entry's collection is locked: the daemon never prompts, so someone must unlock it.
    #[error(
        "keyring entry service {service}, user {user} is in a locked collection; unlock it \
         (log in to the desktop, or run `secret-tool lookup service {service} username {user}` \
         in your session, which asks for the keyring password) and try again"
    )]
    Locked {
        /// The keyring service.
        service: String,
        /// The keyring user name.
        user: String,
    },
    /// There is no `default` collection, which is where Python `keyring` reads and writes.
    #[error(
        "the Secret Service has no default collection, where Python keyring keeps entries \
         (service {service}); create the login keyring (e.g. with Seahorse) or configure \
         [app_keys] source = \"file\""
    )]
    NoDefaultCollection {
        /// The keyring service being written.
        service: String,
    },
    /// A batch of keyring calls took longer than `app_keys.timeout`.
    #[error(
        "the app key store did not answer within {} while {action} service {service}, {users} \
         (a locked collection may be waiting for an unlock prompt: run `secret-tool lookup \
         service {service} username {first}` in your session, or raise app_keys.timeout){}",
        humantime::format_duration(*.timeout),
        if *.action == "writing" { "; some entries may have been written: run it again" } else { "" }
    )]
    Timeout {
        /// The configured timeout.
        timeout: Duration,
        /// `reading`, `writing` or `deleting`.
        action: &'static str,
        /// The keyring service.
        service: String,
        /// The users of the batch, e.g. `user muse__salt and 3 more`.
        users: String,
        /// The first user of the batch, for the unlock hint.
        first: String,
    },
    /// The Secret Service answered with an error not sorted above.
    #[error("the Secret Service could not {action} service {service}, user {user}: {reason}")]
    SecretService {
        /// What was being done, e.g. `read`.
        action: &'static str,
        /// The keyring service.
        service: String,
        /// The keyring user name.
        user: String,
        /// The D-Bus error (never a value).
        reason: String,
    },
    /// The entry holds bytes that are not UTF-8, which Python `keyring` cannot have written.
    #[error(
        "keyring entry service {service}, user {user} is not UTF-8 text, so Python keyring \
         did not write it; replace it with the app, or delete it"
    )]
    NotText {
        /// The keyring service.
        service: String,
        /// The keyring user name.
        user: String,
    },
    /// After a write, reading the entry the way Python does gives another value.
    #[error(
        "after writing keyring entry service {service}, user {user}, reading it back the way \
         Python keyring does gives {found}; list the items with `secret-tool search --all \
         service {service} username {user}` and remove the stale ones"
    )]
    WriteNotVisible {
        /// The keyring service.
        service: String,
        /// The keyring user name.
        user: String,
        /// `nothing` or `another value` (never the value).
        found: &'static str,
    },
    /// The app key file's type, owner or mode makes it unsafe to trust.
    #[error("{}", .problem.explain_as(.path, "app key file", "app_keys.file"))]
    UnsafeFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: FileProblem,
    },
    /// `source = "file"` and the file is not there.
    #[error(
        "app key file {} does not exist; create it (mode 0600, JSON {{\"service\": \"...\", \
         \"entries\": {{\"user\": \"value\"}}}}) or point app_keys.file at it",
        .path.display()
    )]
    FileMissing {
        /// The configured file.
        path: PathBuf,
    },
    /// The file is there but is not the expected JSON.
    #[error(
        "{} is not a valid app key file ({reason}); it must be JSON {{\"service\": \"...\", \
         \"entries\": {{\"user\": \"value\", ...}}}}",
        .path.display()
    )]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// Where and what kind of error (never the content).
        reason: String,
    },
    /// The file holds the entries of another keyring service.
    #[error(
        "app key file {} holds entries of service {found:?}, not {wanted:?}; one file holds \
         one service",
        .path.display()
    )]
    ServiceMismatch {
        /// The file.
        path: PathBuf,
        /// The service in the file.
        found: String,
        /// The service asked for.
        wanted: String,
    },
    /// The entries come from a systemd credential, which cannot be written.
    #[error(
        "cannot {action} app keys: they come from the systemd credential {}, which is \
         read-only; update the file the unit's LoadCredential=app-keys.json:... points at, or \
         remove that line to use [app_keys] source",
        .path.display()
    )]
    ReadOnly {
        /// `write` or `delete`.
        action: &'static str,
        /// The credential file.
        path: PathBuf,
    },
    /// A prefetched batch was asked for an entry it did not fetch: a caller bug.
    #[error(
        "keyring entry service {service}, user {user} was not part of the batch read; ask \
         read_entries for it, or use with_lookup"
    )]
    NotFetched {
        /// The keyring service.
        service: String,
        /// The keyring user name.
        user: String,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. `read app key file`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The worker thread for the blocking calls could not run.
    #[error("the app key store could not run its worker thread: {reason}")]
    Worker {
        /// Why (spawn failure, panic).
        reason: String,
    },
}

impl AppKeyStoreError {
    /// An I/O error with the action and path it concerns.
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        AppKeyStoreError::Io { action, path: path.to_path_buf(), source }
    }

    /// Whether the store itself is out of reach (no bus, no Secret Service), as opposed to
    /// one entry or one file being wrong: lets a caller say "no keyring here" once.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            AppKeyStoreError::NoSessionBus
                | AppKeyStoreError::BusUnreachable { .. }
                | AppKeyStoreError::NoSecretService { .. }
        )
    }
}

/// `user U` or `user U and N more`, for messages about a batch.
pub(crate) fn describe_users<S: AsRef<str>>(users: &[S]) -> String {
    match users {
        [] => "no user".to_owned(),
        [one] => format!("user {}", one.as_ref()),
        [first, rest @ ..] => format!("user {} and {} more", first.as_ref(), rest.len()),
    }
}
