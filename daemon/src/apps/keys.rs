//! The apps' key pairs, read from their keyring entries and unlocked once each (PBKDF2 with
//! a million iterations is a noticeable fraction of a second), then kept in memory, zeroised
//! on drop and never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use cachemgr_proto::AppStrategy;
use zeroize::Zeroizing;

use super::codec::AppCodec;
use super::encfile::{
    passphrase_env_var, AppKeyPair, AppPublicKey, EncError, EncryptorType, StoredAppKeys,
};
use super::error::AppError;
use super::keystore::{AppKeyStore, AppKeysConfig};
use super::registry::AppRecord;

/// Keys the keyring replaced while the daemon had the old ones unlocked (see
/// [`AppKeys::refresh`]).
pub struct KeyChange {
    /// The pair files were sealed for until now; only in memory.
    pub old: Arc<AppKeyPair>,
    /// The pair now in the keyring, now in use.
    pub new: Arc<AppKeyPair>,
}

impl std::fmt::Debug for KeyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyChange(<keys>)")
    }
}

/// Unlocked key pairs by (service, app id).
pub struct AppKeys {
    store: AppKeyStore,
    unlocked: Mutex<HashMap<(String, String), Arc<AppKeyPair>>>,
    /// One unlock at a time, so two requests for a locked app do not both pay PBKDF2.
    unlocking: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for AppKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.unlocked.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("AppKeys").field("store", &self.store).field("unlocked", &count).finish()
    }
}

/// The strategy an encryptor type is registered as.
pub fn strategy_of(kind: EncryptorType) -> AppStrategy {
    match kind {
        EncryptorType::Standard => AppStrategy::Standard,
        EncryptorType::Quantum => AppStrategy::Quantum,
    }
}

/// The encryptor type of an encrypted strategy.
pub fn encryptor_of(strategy: AppStrategy) -> Option<EncryptorType> {
    match strategy {
        AppStrategy::Standard => Some(EncryptorType::Standard),
        AppStrategy::Quantum => Some(EncryptorType::Quantum),
        AppStrategy::None => None,
    }
}

impl AppKeys {
    /// Keys read from the store `config` names.
    pub fn new(config: &AppKeysConfig) -> AppKeys {
        AppKeys {
            store: AppKeyStore::from_config(config),
            unlocked: Mutex::new(HashMap::new()),
            unlocking: tokio::sync::Mutex::new(()),
        }
    }

    /// The entry store (migration writes new keys through it).
    pub fn store(&self) -> &AppKeyStore {
        &self.store
    }

    /// How to open `app`'s file.
    pub async fn codec(&self, app: &AppRecord) -> Result<AppCodec, AppError> {
        let Some(expected) = encryptor_of(app.strategy) else {
            return Ok(AppCodec::Plain);
        };
        let pair = self.pair(&app.service, &app.app_id).await?;
        if pair.encryptor_type() != expected {
            return Err(AppError::Keys(format!(
                "the keyring says app id {:?} uses {} encryption, but app {:?} is registered as {}; \
                 fix it with `cachectl app edit {} --strategy {}`",
                app.app_id,
                pair.encryptor_type().as_str(),
                app.name,
                app.strategy.as_str(),
                app.name,
                pair.encryptor_type().as_str()
            )));
        }
        Ok(AppCodec::Encrypted(pair))
    }

    /// The unlocked pair of (service, app id), loading it on first use.
    pub async fn pair(&self, service: &str, app_id: &str) -> Result<Arc<AppKeyPair>, AppError> {
        let key = (service.to_owned(), app_id.to_owned());
        if let Some(pair) = self.cached(&key) {
            return Ok(pair);
        }
        let _one = self.unlocking.lock().await;
        if let Some(pair) = self.cached(&key) {
            return Ok(pair);
        }
        let stored = self.read_stored(service, app_id).await?;
        let pair = tokio::task::spawn_blocking(move || stored.unlock())
            .await
            .map_err(|e| AppError::Keys(format!("the unlock task failed: {e}")))?
            .map_err(|err| {
                AppError::Keys(format!("cannot unlock the keys of app id {app_id:?}: {err}"))
            })?;
        let pair = Arc::new(pair);
        self.unlocked.lock().unwrap_or_else(PoisonError::into_inner).insert(key, pair.clone());
        tracing::info!(service, app_id, "app keys unlocked");
        Ok(pair)
    }

    /// The stored (still sealed) keys of an app.
    pub async fn read_stored(
        &self,
        service: &str,
        app_id: &str,
    ) -> Result<StoredAppKeys, AppError> {
        let passphrase = passphrase_override(service);
        let id = app_id.to_owned();
        let read = self
            .store
            .with_lookup(service, move |lookup| {
                StoredAppKeys::from_entries(&id, passphrase, |user: &str| lookup(user))
            })
            .await
            .map_err(|err| AppError::Keys(err.to_string()))?;
        read.map_err(|err| keys_error(service, app_id, &err))
    }

    /// What the keyring's `{app}__encryptor_type` says.
    pub async fn detect_strategy(
        &self,
        service: &str,
        app_id: &str,
    ) -> Result<AppStrategy, String> {
        let user = format!("{app_id}__encryptor_type");
        let value = self.store.read(service, &user).await.map_err(|e| e.to_string())?;
        let value = value
            .ok_or_else(|| format!("the keyring has no entry {user:?} of service {service:?}"))?;
        let kind: EncryptorType = value.trim().parse().map_err(|e: EncError| e.to_string())?;
        Ok(strategy_of(kind))
    }

    /// Re-reads the keys of (service, app id) from the keyring and, when its public key is no
    /// longer the one of the pair in use, unlocks the new pair and puts it in use instead.
    /// `None` when no pair was in use yet (nothing to compare: the next use reads the keyring)
    /// or the keys are the same. The old pair comes back in the change, so the files sealed
    /// for it can be re-encrypted while it is still in memory.
    pub async fn refresh(
        &self,
        service: &str,
        app_id: &str,
    ) -> Result<Option<KeyChange>, AppError> {
        let key = (service.to_owned(), app_id.to_owned());
        let _one = self.unlocking.lock().await;
        let Some(old) = self.cached(&key) else { return Ok(None) };
        let stored = self.read_stored(service, app_id).await?;
        let same = stored.encryptor_type == old.encryptor_type()
            && AppPublicKey::from_bytes(stored.encryptor_type, &stored.public_key)
                .is_ok_and(|public| &public == old.public());
        if same {
            return Ok(None);
        }
        let new = tokio::task::spawn_blocking(move || stored.unlock())
            .await
            .map_err(|e| AppError::Keys(format!("the unlock task failed: {e}")))?
            .map_err(|err| {
                AppError::Keys(format!("cannot unlock the new keys of app id {app_id:?}: {err}"))
            })?;
        let new = Arc::new(new);
        self.unlocked.lock().unwrap_or_else(PoisonError::into_inner).insert(key, new.clone());
        tracing::warn!(
            service,
            app_id,
            "the app's keys changed in the keyring; using the new ones"
        );
        Ok(Some(KeyChange { old, new }))
    }

    /// The pair in use for (service, app id), if one is unlocked.
    pub fn current(&self, service: &str, app_id: &str) -> Option<Arc<AppKeyPair>> {
        self.cached(&(service.to_owned(), app_id.to_owned()))
    }

    /// Drops a cached pair (after a setting or key change).
    pub fn forget(&self, service: &str, app_id: &str) {
        let key = (service.to_owned(), app_id.to_owned());
        self.unlocked.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
    }

    /// Caches a pair just made (by a migration).
    pub fn install(&self, service: &str, app_id: &str, pair: Arc<AppKeyPair>) {
        let key = (service.to_owned(), app_id.to_owned());
        self.unlocked.lock().unwrap_or_else(PoisonError::into_inner).insert(key, pair);
    }

    fn cached(&self, key: &(String, String)) -> Option<Arc<AppKeyPair>> {
        self.unlocked.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }
}

/// `<SERVICE>_PASSPHRASE` when set: it replaces every app's stored passphrase, as in the apps.
pub fn passphrase_override(service: &str) -> Option<Zeroizing<String>> {
    std::env::var(passphrase_env_var(service)).ok().filter(|v| !v.is_empty()).map(Zeroizing::new)
}

fn keys_error(service: &str, app_id: &str, err: &EncError) -> AppError {
    match err {
        EncError::MissingEntry { user } => {
            // The apps take the passphrase from the environment when it is set there.
            let or_env = if user.ends_with("__passphrase") {
                format!(
                    "; or, if the app takes its passphrase from the environment, give the \
                     daemon the same {}",
                    passphrase_env_var(service)
                )
            } else {
                String::new()
            };
            AppError::Keys(format!(
                "{err} (service {service:?}); the app {app_id:?} has not stored its keys in \
                 this keyring, or the keyring is not the one the app uses{or_env}"
            ))
        }
        _ => AppError::Keys(format!("the keys of app id {app_id:?} (service {service:?}): {err}")),
    }
}
