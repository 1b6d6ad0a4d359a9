//! The registry of disposable directories, persisted as `<state_dir>/dirs.json` and replaced
//! atomically on every change (temp file, fsync, rename), so a crash leaves the old list or
//! the new one, never half of one.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use cachemgr_proto::DirSettings;
use serde::{Deserialize, Serialize};

use super::error::DirsError;
use crate::atomic_file::write_atomic;

/// Format version of the registry file.
const VERSION: u32 = 1;

/// One registered directory as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirRecord {
    /// The directory: absolute, symlinks resolved when it was added, UTF-8.
    pub path: String,
    /// Its limits.
    pub settings: DirSettings,
    /// Who registered it.
    pub owner_uid: u32,
    /// When it was registered (Unix ms).
    pub added_unix_ms: u64,
    /// When it was last trimmed or cleared (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_trim_unix_ms: Option<u64>,
    /// How that went (`ok: ...` or `failed: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_trim_result: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RegistryFile {
    version: u32,
    dirs: Vec<DirRecord>,
}

/// The directory list and the file it lives in.
#[derive(Debug)]
pub struct DirRegistry {
    path: PathBuf,
    dirs: BTreeMap<String, DirRecord>,
}

impl DirRegistry {
    /// Where the registry of a state directory lives.
    pub fn file_in(state_dir: &Path) -> PathBuf {
        state_dir.join("dirs.json")
    }

    /// Loads the registry (empty when the file does not exist yet).
    pub fn load(path: PathBuf) -> Result<DirRegistry, DirsError> {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(DirRegistry { path, dirs: BTreeMap::new() })
            }
            Err(source) => return Err(DirsError::Registry { action: "read", path, source }),
        };
        let file: RegistryFile = serde_json::from_slice(&bytes).map_err(|err| {
            DirsError::RegistryInvalid { path: path.clone(), reason: err.to_string() }
        })?;
        if file.version != VERSION {
            let reason = format!("version {} (this daemon reads {VERSION})", file.version);
            return Err(DirsError::RegistryInvalid { path, reason });
        }
        let dirs = file.dirs.into_iter().map(|d| (d.path.clone(), d)).collect();
        Ok(DirRegistry { path, dirs })
    }

    /// One directory by its registered path.
    pub fn get(&self, path: &str) -> Option<&DirRecord> {
        self.dirs.get(path)
    }

    /// Every directory, sorted by path.
    pub fn all(&self) -> Vec<DirRecord> {
        self.dirs.values().cloned().collect()
    }

    /// Adds or replaces `dir`; the list in memory changes only once the file is written.
    pub fn put(&mut self, dir: DirRecord) -> Result<(), DirsError> {
        let mut next = self.dirs.clone();
        next.insert(dir.path.clone(), dir);
        self.save(next)
    }

    /// Removes a directory, saved the same way; whether it was registered.
    pub fn remove(&mut self, path: &str) -> Result<bool, DirsError> {
        let mut next = self.dirs.clone();
        if next.remove(path).is_none() {
            return Ok(false);
        }
        self.save(next)?;
        Ok(true)
    }

    fn save(&mut self, next: BTreeMap<String, DirRecord>) -> Result<(), DirsError> {
        let file = RegistryFile { version: VERSION, dirs: next.values().cloned().collect() };
        let fail =
            |source| DirsError::Registry { action: "write", path: self.path.clone(), source };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| fail(io::Error::other(e)))?;
        write_atomic(&self.path, &bytes).map_err(fail)?;
        self.dirs = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str) -> DirRecord {
        DirRecord {
            path: path.to_owned(),
            settings: DirSettings { max_size_bytes: Some(10), ..DirSettings::default() },
            owner_uid: 1000,
            added_unix_ms: 1,
            last_trim_unix_ms: None,
            last_trim_result: None,
        }
    }

    #[test]
    fn survives_a_reload_and_a_damaged_file_names_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = DirRegistry::file_in(dir.path());
        let mut registry = DirRegistry::load(path.clone()).expect("empty");
        registry.put(record("/b")).expect("put");
        registry.put(record("/a")).expect("put");
        let mut again = DirRegistry::load(path.clone()).expect("load");
        let paths: Vec<_> = again.all().into_iter().map(|d| d.path).collect();
        assert_eq!(paths, ["/a", "/b"]);
        assert!(again.remove("/a").expect("remove"));
        assert!(!again.remove("/a").expect("remove twice"));
        assert!(DirRegistry::load(path.clone()).expect("load").get("/a").is_none());
        std::fs::write(&path, b"{nope").expect("write");
        let err = DirRegistry::load(path).expect_err("damaged");
        assert!(err.to_string().contains("dirs.json"), "{err}");
    }
}
