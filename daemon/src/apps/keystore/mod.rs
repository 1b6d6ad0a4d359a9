//! Where the Python apps keep their keys: the OS keyring in the Python `keyring` layout.
//!
//! The apps store each key part as a keyring entry (service `MyPersonalApplicationsService`,
//! user names like `muse__salt`; see `ENCRYPTED_CACHE_FORMAT.md`). This module only moves
//! those strings in and out of a store; `apps::encfile` gives them meaning. Stores:
//!
//! - the D-Bus **Secret Service** (default, `[app_keys] source = "secret-service"`), read and
//!   written exactly as Python `keyring` does, so the apps and the daemon share the entries;
//! - a private **JSON file** (`source = "file"`, `file = PATH`) for tests and headless hosts;
//! - a **systemd credential** `$CREDENTIALS_DIRECTORY/app-keys.json` of the same shape, which
//!   when present wins over both and is read-only.
//!
//! Every operation is one batch on a worker thread of its own under `app_keys.timeout`, with
//! one D-Bus connection per batch. Values are zeroised on drop and never logged.

use crate::config::app_keys as config;
mod entries;
mod error;
mod file;
mod secret_service;
mod worker;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

pub use config::{AppKeySourceChoice, AppKeysConfig, DEFAULT_TIMEOUT};
pub use entries::{AppKeyEntries, EntryValue};
pub use error::AppKeyStoreError;
pub use secret_service::{python_label, PYTHON_KEYRING_APPLICATION};

use entries::EntryReader;
use error::describe_users;
use file::FileKind;
use secret_service::SsSession;

/// File name of the credential inside `$CREDENTIALS_DIRECTORY`
/// (`LoadCredential=app-keys.json:/path/to/file`).
pub const CREDENTIAL_NAME: &str = "app-keys.json";

/// The lookup handed to [`AppKeyStore::with_lookup`] jobs: one entry by user name.
pub type Lookup<'a> = dyn FnMut(&str) -> Result<EntryValue, AppKeyStoreError> + 'a;

/// Where the apps' entries are read and written, chosen once from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    SecretService,
    File(PathBuf),
    Credential(PathBuf),
}

/// The store of the apps' keyring entries, as configured for this daemon. Cheap to clone;
/// each call opens what it needs and closes it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKeyStore {
    backend: Backend,
    timeout: Duration,
}

impl AppKeyStore {
    /// The store `config` names, unless this process was given the systemd credential
    /// `app-keys.json`, which then wins (read-only). Call [`AppKeysConfig::validate`] first.
    pub fn from_config(config: &AppKeysConfig) -> AppKeyStore {
        let credentials = std::env::var_os("CREDENTIALS_DIRECTORY")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from);
        AppKeyStore::from_config_with(config, credentials.as_deref())
    }

    /// [`AppKeyStore::from_config`] with the credentials directory supplied (for tests).
    pub fn from_config_with(config: &AppKeysConfig, credentials_dir: Option<&Path>) -> AppKeyStore {
        let credential = credentials_dir.map(|dir| dir.join(CREDENTIAL_NAME));
        let backend = match (credential, config.source, &config.file) {
            (Some(path), _, _) if path.exists() => Backend::Credential(path),
            (_, AppKeySourceChoice::File, Some(path)) => Backend::File(path.clone()),
            // validate() refuses `file` without a path; the Secret Service is the default.
            _ => Backend::SecretService,
        };
        AppKeyStore { backend, timeout: config.timeout }
    }

    /// The Secret Service of this session.
    pub fn secret_service(timeout: Duration) -> AppKeyStore {
        AppKeyStore { backend: Backend::SecretService, timeout }
    }

    /// A private JSON file (mode 0600, ours), read and written.
    pub fn file(path: impl Into<PathBuf>, timeout: Duration) -> AppKeyStore {
        AppKeyStore { backend: Backend::File(path.into()), timeout }
    }

    /// A JSON file handed over by systemd: read only.
    pub fn credential(path: impl Into<PathBuf>, timeout: Duration) -> AppKeyStore {
        AppKeyStore { backend: Backend::Credential(path.into()), timeout }
    }

    /// Whether writes are refused (a systemd credential), so migration can say so up front.
    pub fn is_read_only(&self) -> bool {
        matches!(self.backend, Backend::Credential(_))
    }

    /// One entry: `Ok(None)` when the store has no such entry (the caller names it).
    pub async fn read(&self, service: &str, user: &str) -> Result<EntryValue, AppKeyStoreError> {
        self.read_entries(service, &[user.to_owned()]).await?.get(user)
    }

    /// The entries `users` of `service`, read in one batch (one D-Bus connection).
    pub async fn read_entries(
        &self,
        service: &str,
        users: &[String],
    ) -> Result<AppKeyEntries, AppKeyStoreError> {
        let (owned_service, owned_users) = (service.to_owned(), users.to_vec());
        self.with_reader(service, users, "reading", move |reader| {
            AppKeyEntries::read_all(&owned_service, &owned_users, reader)
        })
        .await?
    }

    /// Runs `job` on the worker thread with a lookup over one open store, for readers that
    /// learn which entries they need as they go (chunk counts). The whole job runs under
    /// the timeout: keep it to gathering strings, and derive keys after it returns.
    pub async fn with_lookup<T: Send + 'static>(
        &self,
        service: &str,
        job: impl FnOnce(&mut Lookup<'_>) -> T + Send + 'static,
    ) -> Result<T, AppKeyStoreError> {
        self.with_reader(service, &[], "reading", move |reader| {
            let mut lookup = |user: &str| reader.read(user);
            job(&mut lookup)
        })
        .await
    }

    /// Writes `entries` of `service` (user, value), replacing existing ones. In the Secret
    /// Service each is an item in the Python layout, and afterwards it is the only item
    /// matching (service, user), so the Python app reads the new value.
    pub async fn write_entries(
        &self,
        service: &str,
        entries: &[(String, Zeroizing<String>)],
    ) -> Result<(), AppKeyStoreError> {
        let users: Vec<String> = entries.iter().map(|(user, _)| user.clone()).collect();
        let (owned_service, owned) = (service.to_owned(), entries.to_vec());
        match &self.backend {
            Backend::Credential(path) => {
                Err(AppKeyStoreError::ReadOnly { action: "write", path: path.clone() })
            }
            Backend::File(path) => {
                let path = path.clone();
                self.run(service, &users, "writing", move || {
                    file::write_entries(&path, &owned_service, &owned)
                })
                .await?
            }
            Backend::SecretService => {
                self.run(service, &users, "writing", move || {
                    SsSession::connect(&owned_service)?.write(&owned)
                })
                .await?
            }
        }
    }

    /// Deletes `user` of `service` (every matching item): how many went, 0 when none was
    /// there. Migration uses it for chunks beyond a shrunk count.
    pub async fn delete(&self, service: &str, user: &str) -> Result<usize, AppKeyStoreError> {
        let (owned_service, owned_user) = (service.to_owned(), user.to_owned());
        let users = [user.to_owned()];
        match &self.backend {
            Backend::Credential(path) => {
                Err(AppKeyStoreError::ReadOnly { action: "delete", path: path.clone() })
            }
            Backend::File(path) => {
                let path = path.clone();
                self.run(service, &users, "deleting", move || {
                    file::delete(&path, &owned_service, &owned_user)
                })
                .await?
            }
            Backend::SecretService => {
                self.run(service, &users, "deleting", move || {
                    SsSession::connect(&owned_service)?.delete(&owned_user)
                })
                .await?
            }
        }
    }

    /// Opens the store for reading `service` on the worker thread and runs `job` on it.
    async fn with_reader<T: Send + 'static>(
        &self,
        service: &str,
        users: &[String],
        action: &'static str,
        job: impl FnOnce(&mut dyn EntryReader) -> T + Send + 'static,
    ) -> Result<T, AppKeyStoreError> {
        let backend = self.backend.clone();
        let owned_service = service.to_owned();
        self.run(service, users, action, move || {
            Ok(match &backend {
                Backend::SecretService => job(&mut SsSession::connect(&owned_service)?),
                Backend::File(path) => {
                    job(&mut file::open_reader(path, FileKind::Private, &owned_service)?)
                }
                Backend::Credential(path) => {
                    job(&mut file::open_reader(path, FileKind::Credential, &owned_service)?)
                }
            })
        })
        .await?
    }

    /// Runs `job` off the runtime under the timeout; a timeout names the batch.
    async fn run<T: Send + 'static>(
        &self,
        service: &str,
        users: &[String],
        action: &'static str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppKeyStoreError> {
        worker::off_runtime(self.timeout, job).await?.ok_or_else(|| AppKeyStoreError::Timeout {
            timeout: self.timeout,
            action,
            service: service.to_owned(),
            users: if users.is_empty() { "its entries".to_owned() } else { describe_users(users) },
            first: users.first().cloned().unwrap_or_else(|| "USER".to_owned()),
        })
    }
}

impl fmt::Display for AppKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::SecretService => f.write_str("Secret Service"),
            Backend::File(path) => write!(f, "app key file {}", path.display()),
            Backend::Credential(path) => {
                write!(f, "systemd credential {} (read-only)", path.display())
            }
        }
    }
}

#[cfg(test)]
mod tests;
