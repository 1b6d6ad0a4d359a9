//! Where the master key comes from, and the keys derived from it.
//!
//! Everything the daemon seals on disk is encrypted under keys derived (HKDF-SHA256) from one
//! 32-byte master key. With `keys.source = "auto"` the sources are tried in this order:
//!
//! 1. systemd credentials: `$CREDENTIALS_DIRECTORY/cachemgr.key`;
//! 2. the `CACHEMGR_KEY` environment variable (base64);
//! 3. the OS keyring: Secret Service, then kernel keyutils (`keys.keyring_service`/`_user`);
//! 4. the key file (`keys.file`, default `<state_dir>/master.key`), which must be a regular
//!    file of ours with mode 0600 or stricter;
//! 5. an ephemeral random key, with a warning: persistent tiers cannot survive a restart.
//!
//! A source that is absent moves on; one that holds something wrong (a bad `CACHEMGR_KEY`, an
//! unsafe key file, a keyring entry that is not a key) stops start-up with a message that
//! says how to fix it. Naming one source in `keys.source` tries only that one. Key material
//! is never logged, only the source and a [fingerprint](MasterKey::fingerprint).

use crate::config::keys as config;
mod digest;
mod error;
mod init;
mod key_file;
mod keyring_store;
mod master;
mod sources;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use config::{KeysConfig, SourceChoice};
pub use digest::{hex, keyed_hash};
pub use error::{FileProblem, KeyError};
pub use init::{run_key_init, InitTarget, KeyInit};
/// The trust checks of the key file, for other private files that hold key material.
pub(crate) use key_file::{open_private, PrivateFileError};
pub use keyring_store::{KEYUTILS, SECRET_SERVICE};
pub use master::{DerivedKey, MasterKey, KEY_LEN};
pub use sources::{CREDENTIAL_NAME, ENV_VAR};

use sources::{KeyEnv, Lookup};

/// Where the master key in use came from: logged at start-up and reported to operators, and
/// it tells the disk layer whether what it seals can be read after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `$CREDENTIALS_DIRECTORY/cachemgr.key` (the file read).
    Credentials(PathBuf),
    /// The `CACHEMGR_KEY` environment variable.
    Env,
    /// The OS keyring.
    Keyring {
        /// [`SECRET_SERVICE`] or [`KEYUTILS`].
        backend: &'static str,
        /// The keyring service name the entry is stored under.
        service: String,
    },
    /// A key file (the file read).
    File(PathBuf),
    /// Random at this start, gone at the next.
    Ephemeral,
}

impl KeySource {
    /// Whether the same key will be found at the next start, so data sealed under it stays
    /// readable. Keys in the kernel keyutils store count as persistent, though they are lost
    /// at reboot (the start-up log warns about that).
    pub fn is_persistent(&self) -> bool {
        !matches!(self, KeySource::Ephemeral)
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Credentials(path) => write!(f, "systemd credentials ({})", path.display()),
            KeySource::Env => write!(f, "environment ({ENV_VAR})"),
            KeySource::Keyring { backend, service } => {
                write!(f, "keyring ({backend}, service {service})")
            }
            KeySource::File(path) => write!(f, "key file ({})", path.display()),
            KeySource::Ephemeral => f.write_str("ephemeral"),
        }
    }
}

/// The master key and where it came from, as the daemon keeps it for its whole run.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key itself (redacted in `Debug`).
    pub key: MasterKey,
    /// Its source.
    pub source: KeySource,
}

/// Finds the master key as `config` says (see the module docs for the order), reading the
/// process environment and the real keyring. `state_dir` locates the default key file.
pub async fn load_master_key(config: &KeysConfig, state_dir: &Path) -> Result<LoadedKey, KeyError> {
    load_with(config, state_dir, &KeyEnv::from_process(), &SystemKeyring).await
}

/// Reads the keyring; a seam so the lookup order can be tested without a real keyring.
pub(crate) trait KeyringReader {
    /// Looks up the entry (service, user), giving up after `timeout`.
    fn read(
        &self,
        service: &str,
        user: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<Lookup, KeyError>> + Send;
}

/// The OS keyring: Secret Service, then keyutils.
struct SystemKeyring;

impl KeyringReader for SystemKeyring {
    fn read(
        &self,
        service: &str,
        user: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<Lookup, KeyError>> + Send {
        keyring_store::read(service, user, timeout)
    }
}

/// [`load_master_key`] with the environment and keyring supplied.
pub(crate) async fn load_with(
    config: &KeysConfig,
    state_dir: &Path,
    env: &KeyEnv,
    keyring: &impl KeyringReader,
) -> Result<LoadedKey, KeyError> {
    use SourceChoice::{Auto, Credentials, Env, Ephemeral, File, Keyring};
    let loaded = if config.source == Auto {
        let mut found = None;
        for choice in [Credentials, Env, Keyring, File] {
            match ask(choice, config, state_dir, env, keyring).await? {
                Lookup::Found(loaded) => {
                    found = Some(loaded);
                    break;
                }
                Lookup::Absent(why) => {
                    tracing::debug!(source = choice.as_str(), %why, "no master key there");
                }
            }
        }
        match found {
            Some(loaded) => loaded,
            None => {
                tracing::warn!(
                    "no master key found ($CREDENTIALS_DIRECTORY/{CREDENTIAL_NAME}, {ENV_VAR}, \
                     keyring service {}, key file {}): using an ephemeral key, so persistent \
                     tiers cannot survive a restart (create a key with `cachemgrd key-init \
                     --to keyring` or `--to file`)",
                    config.keyring_service,
                    config.key_file(state_dir).display()
                );
                ephemeral()?
            }
        }
    } else {
        match ask(config.source, config, state_dir, env, keyring).await? {
            Lookup::Found(loaded) => loaded,
            Lookup::Absent(looked) => {
                return Err(KeyError::NotFound {
                    choice: config.source.as_str(),
                    looked,
                    fix: fix_for(config.source, config),
                })
            }
        }
    };
    if config.source == Ephemeral {
        tracing::warn!(
            "keys.source = \"ephemeral\": a new random master key for this run, so persistent \
             tiers cannot survive a restart"
        );
    }
    if matches!(loaded.source, KeySource::Keyring { backend: KEYUTILS, .. }) {
        tracing::warn!(
            "the master key came from the kernel keyutils store, which loses it at reboot; \
             keep it in the Secret Service or a key file too"
        );
    }
    Ok(loaded)
}

/// Asks one source. `Auto` never reaches here except as the last resort: ephemeral.
async fn ask(
    choice: SourceChoice,
    config: &KeysConfig,
    state_dir: &Path,
    env: &KeyEnv,
    keyring: &impl KeyringReader,
) -> Result<Lookup, KeyError> {
    match choice {
        SourceChoice::Credentials => sources::from_credentials(env),
        SourceChoice::Env => sources::from_env(env),
        SourceChoice::Keyring => {
            keyring
                .read(&config.keyring_service, &config.keyring_user, config.keyring_timeout)
                .await
        }
        SourceChoice::File => {
            let path = config.key_file(state_dir);
            Ok(match key_file::read_key_file(&path)? {
                Some(key) => Lookup::Found(LoadedKey { key, source: KeySource::File(path) }),
                None => Lookup::Absent(format!("there is no key file {}", path.display())),
            })
        }
        SourceChoice::Ephemeral | SourceChoice::Auto => Ok(Lookup::Found(ephemeral()?)),
    }
}

fn ephemeral() -> Result<LoadedKey, KeyError> {
    Ok(LoadedKey { key: MasterKey::try_generate()?, source: KeySource::Ephemeral })
}

/// How to provide a key in the one source `keys.source` names.
fn fix_for(choice: SourceChoice, config: &KeysConfig) -> String {
    let (service, user) = (&config.keyring_service, &config.keyring_user);
    let provide = match choice {
        SourceChoice::Credentials => format!(
            "give the unit `LoadCredential={CREDENTIAL_NAME}:/etc/cachemgr/master.key` (or \
             SetCredentialEncrypted=)"
        ),
        SourceChoice::Env => format!("set {ENV_VAR} to the base64 of 32 random bytes"),
        SourceChoice::Keyring => format!(
            "store one with `cachemgrd key-init --to keyring` (or type the base64 key into \
             `secret-tool store --label cachemgr service {service} username {user}`)"
        ),
        SourceChoice::File => "create it with `cachemgrd key-init --to file`".to_owned(),
        SourceChoice::Auto | SourceChoice::Ephemeral => String::new(),
    };
    format!("{provide}, or pick another keys.source")
}
