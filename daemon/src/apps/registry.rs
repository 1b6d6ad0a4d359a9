//! The registry of app caches: which files the daemon looks after and how. Persisted as
//! `<state_dir>/apps/registry.json`, replaced atomically on every change, so a crash leaves
//! either the old or the new list, never half of one.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use cachemgr_proto::AppStrategy;
use serde::{Deserialize, Serialize};

use super::naming::safe_name;
use super::retention::RetentionPolicy;
use crate::atomic_file::write_atomic;

/// The keyring service every Python app uses unless told otherwise.
pub const DEFAULT_SERVICE: &str = "MyPersonalApplicationsService";
/// An app whose last good backup is older than this is stale.
pub const DEFAULT_STALE_AFTER_MS: u64 = 30 * 24 * 3_600_000;
/// Format version of the registry file.
const REGISTRY_VERSION: u32 = 1;

/// One registered app as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    /// Unique name.
    pub name: String,
    /// The live cache file.
    pub path: PathBuf,
    /// Keyring service.
    pub service: String,
    /// Keyring app identifier.
    pub app_id: String,
    /// How the file is encrypted.
    pub strategy: AppStrategy,
    /// Milliseconds between scheduled backups; `None` = no schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_every_ms: Option<u64>,
    /// Which backups to keep.
    #[serde(default)]
    pub keep: RetentionPolicy,
    /// Stale once the last good backup is older than this.
    pub stale_after_ms: u64,
    /// A second directory each backup is copied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_dir: Option<PathBuf>,
    /// Who registered it.
    #[serde(default)]
    pub owner_uid: u32,
    /// The daemon's own state, registered automatically.
    #[serde(default)]
    pub builtin: bool,
    /// When it was registered (Unix ms); staleness of an app never backed up counts from here.
    pub added_unix_ms: u64,
    /// When `app migrate` last gave it new keys (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_rotated_at_unix_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct RegistryFile {
    version: u32,
    apps: Vec<AppRecord>,
}

/// Why the registry could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Reading or writing the file failed.
    #[error("cannot {action} the app registry {}: {source}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The file is not a registry this daemon understands.
    #[error("the app registry {} is damaged or from a newer version: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another app's backups already live in the folder this name maps to.
    #[error("app {name:?} would share the backup folder {folder:?} with app {other:?}; pick a name that differs by more than case or spaces")]
    SharedFolder {
        /// The name asked for.
        name: String,
        /// The app already there.
        other: String,
        /// The folder both names map to.
        folder: String,
    },
}

/// The app list and the file it lives in.
#[derive(Debug)]
pub struct Registry {
    path: PathBuf,
    apps: BTreeMap<String, AppRecord>,
}

impl Registry {
    /// Where the registry of a state directory lives.
    pub fn file_in(state_dir: &Path) -> PathBuf {
        state_dir.join("apps").join("registry.json")
    }

    /// Loads the registry (empty when the file does not exist yet).
    pub fn load(path: PathBuf) -> Result<Registry, RegistryError> {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(Registry { path, apps: BTreeMap::new() })
            }
            Err(source) => return Err(RegistryError::Io { action: "read", path, source }),
        };
        let file: RegistryFile = serde_json::from_slice(&bytes).map_err(|err| {
            RegistryError::Invalid { path: path.clone(), reason: err.to_string() }
        })?;
        if file.version != REGISTRY_VERSION {
            let reason = format!("version {} (this daemon reads {REGISTRY_VERSION})", file.version);
            return Err(RegistryError::Invalid { path, reason });
        }
        let apps = file.apps.into_iter().map(|app| (app.name.clone(), app)).collect();
        Ok(Registry { path, apps })
    }

    /// The file it is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One app by name.
    pub fn get(&self, name: &str) -> Option<&AppRecord> {
        self.apps.get(name)
    }

    /// Another app whose backups would share a folder with an app named `name`: backup
    /// folders take the Cache Manager's form of the name, so `Muse` and `muse` (or
    /// `SD Runner` and `sd_runner`) would list, prune and restore each other's backups.
    pub fn sharing_folder(&self, name: &str) -> Option<&AppRecord> {
        let folder = safe_name(name);
        self.apps.values().find(|app| app.name != name && safe_name(&app.name) == folder)
    }

    /// Every app, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &AppRecord> {
        self.apps.values()
    }

    /// The registry as it would be with `app` added or replaced, saved; the in-memory list
    /// changes only once the file is safely written.
    pub fn put(&mut self, app: AppRecord) -> Result<(), RegistryError> {
        // Only a new name is checked: a registry written before this rule may hold such a
        // pair, and refusing their edits would not separate them.
        let sharing = (!self.apps.contains_key(&app.name)).then(|| self.sharing_folder(&app.name));
        if let Some(other) = sharing.flatten() {
            return Err(RegistryError::SharedFolder {
                name: app.name.clone(),
                other: other.name.clone(),
                folder: safe_name(&app.name),
            });
        }
        let mut next = self.apps.clone();
        next.insert(app.name.clone(), app);
        self.save(next)
    }

    /// Removes an app, saved the same way; returns it.
    pub fn remove(&mut self, name: &str) -> Result<Option<AppRecord>, RegistryError> {
        let mut next = self.apps.clone();
        let removed = next.remove(name);
        if removed.is_some() {
            self.save(next)?;
        }
        Ok(removed)
    }

    fn save(&mut self, next: BTreeMap<String, AppRecord>) -> Result<(), RegistryError> {
        let file =
            RegistryFile { version: REGISTRY_VERSION, apps: next.values().cloned().collect() };
        let io_error =
            |source| RegistryError::Io { action: "write", path: self.path.clone(), source };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| io_error(io::Error::other(e)))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error)?;
        }
        write_atomic(&self.path, &bytes).map_err(io_error)?;
        self.apps = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> AppRecord {
        AppRecord {
            name: name.to_owned(),
            path: PathBuf::from("/home/alice/app_info_cache.enc"),
            service: DEFAULT_SERVICE.to_owned(),
            app_id: "sd_runner".to_owned(),
            strategy: AppStrategy::Standard,
            backup_every_ms: Some(6 * 3_600_000),
            keep: RetentionPolicy::default(),
            stale_after_ms: DEFAULT_STALE_AFTER_MS,
            external_dir: None,
            owner_uid: 1000,
            builtin: false,
            added_unix_ms: 1,
            key_rotated_at_unix_ms: None,
        }
    }

    #[test]
    fn survives_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = Registry::file_in(dir.path());
        let mut registry = Registry::load(path.clone()).expect("empty");
        registry.put(record("sd-runner")).expect("put");
        registry.put(record("muse")).expect("put");
        let again = Registry::load(path.clone()).expect("load");
        let names: Vec<_> = again.all().map(|a| a.name.clone()).collect();
        assert_eq!(names, ["muse", "sd-runner"]);
        assert_eq!(again.get("muse"), Some(&record("muse")));
        let mut again = again;
        assert!(again.remove("muse").expect("remove").is_some());
        assert!(Registry::load(path).expect("load").get("muse").is_none());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        std::fs::write(&path, b"{not json").expect("write");
        let err = Registry::load(path).expect_err("damaged");
        assert!(err.to_string().contains("registry.json"), "{err}");
    }
}
