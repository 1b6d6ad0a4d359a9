//! `app import-cache-manager`: switching over from the Python Cache Manager without losing
//! history. Its app list lives in its own encrypted cache (app id `cache_manager`) as
//! `{"applications": [...], "external_backup_dir": ...}`; its backups are files named
//! `{name lowercased, spaces to _}_{YYYYmmdd_HHMMSS}.enc`, with `{name}_backups.json` beside
//! them. Each app is registered like `app add`, and each backup that decrypts is copied into
//! the daemon's backup directory with its original name, time and note.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cachemgr_proto::{AppSettings, AppStrategy, BackupSource};
use serde_json::Value;

use super::backup::ProgressFn;
use super::catalog::BackupRecord;
use super::codec::AppCodec;
use super::error::AppError;
use super::import_meta::{backup_metadata, find_backups, Found};
use super::live::{read_live, sha256_hex, LiveError};
use super::naming::safe_name;
use super::registry::{AppRecord, DEFAULT_SERVICE};
use super::service::AppService;
use super::store::write_with_progress;
use crate::access::paths::{self, Principal};
use crate::store::clock::unix_ms_now;

/// The Cache Manager's keyring app identifier.
pub const CACHE_MANAGER_APP_ID: &str = "cache_manager";

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Apps registered.
    pub apps: Vec<String>,
    /// Backups adopted.
    pub backups: u64,
    /// What was left out and why.
    pub skipped: Vec<String>,
}

impl AppService {
    /// Imports the Cache Manager's apps and backups.
    pub async fn import_cache_manager(
        self: &Arc<Self>,
        cache: Option<String>,
        backups: Option<String>,
        owner_uid: u32,
        progress: ProgressFn,
    ) -> Result<ImportReport, AppError> {
        let cache = match cache {
            Some(path) => PathBuf::from(path),
            None => default_cache_location()?,
        };
        let codec =
            AppCodec::Encrypted(self.keys.pair(DEFAULT_SERVICE, CACHE_MANAGER_APP_ID).await?);
        let place = paths::place(Principal::of_uid(owner_uid), &cache)?;
        let bytes = read_live(&place, self.config.max_file_bytes.as_u64())?;
        let plain = codec.open(&bytes).map_err(|e| AppError::corrupt(cache.display(), &e))?;
        let list: Value = serde_json::from_slice(&plain).map_err(|e| {
            AppError::Corrupt(format!("{} decrypts but is not JSON: {e}", cache.display()))
        })?;
        let applications =
            list.get("applications").and_then(Value::as_array).cloned().unwrap_or_default();
        let backup_root = backups
            .map(PathBuf::from)
            .or_else(|| list.get("external_backup_dir").and_then(Value::as_str).map(PathBuf::from))
            .or_else(|| cache.parent().map(|dir| dir.join("backups")));
        let mut report = ImportReport::default();
        let total = applications.len() as u64;
        for (i, entry) in applications.iter().enumerate() {
            progress("import", i as u64, total, "steps");
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                report.skipped.push(format!("entry {i}: no name"));
                continue;
            };
            match self.import_one(name, entry, backup_root.as_deref(), owner_uid).await {
                Ok((registered, adopted, skipped)) => {
                    if registered {
                        report.apps.push(name.to_owned());
                    }
                    report.backups += adopted;
                    report.skipped.extend(skipped);
                }
                Err(err) => report.skipped.push(format!("{name}: {err}")),
            }
        }
        progress("import", total, total, "steps");
        tracing::info!(
            apps = report.apps.len(),
            backups = report.backups,
            skipped = report.skipped.len(),
            "imported from the Cache Manager"
        );
        Ok(report)
    }

    /// Registers one app (unless it already is, with the same file) and adopts its backups.
    async fn import_one(
        self: &Arc<Self>,
        name: &str,
        entry: &Value,
        backup_root: Option<&Path>,
        owner_uid: u32,
    ) -> Result<(bool, u64, Vec<String>), AppError> {
        let text = |key: &str| {
            entry.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
        };
        let path = text("cache_location")
            .ok_or_else(|| AppError::Invalid("no cache_location".to_owned()))?;
        let registered = match self.record(name) {
            Ok(existing) if existing.path == Path::new(&path) => false,
            Ok(_) => {
                return Err(AppError::Invalid(format!(
                    "an app named {name:?} with another file is already registered"
                )))
            }
            Err(_) => {
                let strategy = match text("encryption_strategy").as_deref() {
                    Some("none") => Some(AppStrategy::None),
                    // `standard`, `oqs`, `unknown` are labels: the keyring says the real type.
                    _ => None,
                };
                let settings = AppSettings {
                    path: Some(path),
                    service: text("service_name"),
                    app_id: text("app_identifier"),
                    strategy,
                    ..AppSettings::default()
                };
                self.add(name, settings, owner_uid).await?;
                true
            }
        };
        let app = self.record(name)?;
        let mut skipped = Vec::new();
        let adopted = match backup_root {
            Some(root) => {
                let codec = self.codec(&app).await?;
                let _op = self.lock(name).await;
                let service = self.clone();
                let root = root.to_path_buf();
                let (adopted, why) =
                    tokio::task::spawn_blocking(move || service.adopt(&app, &codec, &root))
                        .await
                        .map_err(|e| AppError::Storage(format!("the import task failed: {e}")))??;
                skipped.extend(why);
                adopted
            }
            None => 0,
        };
        Ok((registered, adopted, skipped))
    }

    /// Copies the backups of `app` found under `root` that decrypt. Blocking; lock held.
    fn adopt(
        &self,
        app: &AppRecord,
        codec: &AppCodec,
        root: &Path,
    ) -> Result<(u64, Vec<String>), AppError> {
        let safe = safe_name(&app.name);
        let found: Vec<Found> = find_backups(root, &app.name, &safe);
        let metadata = backup_metadata(root, &app.name, &safe, Principal::of_uid(app.owner_uid));
        let dir = self.backup_dir(app);
        let mut catalog = self.catalog(app)?;
        let mut adopted = 0;
        let mut skipped = Vec::new();
        for file in found {
            let owner = Principal::of_uid(app.owner_uid);
            let read = paths::place(owner, &file.path)
                .map_err(LiveError::Refused)
                .and_then(|place| read_live(&place, self.config.max_file_bytes.as_u64()));
            let bytes = match read {
                Ok(bytes) => bytes,
                Err(err) => {
                    skipped.push(format!("{}: {err}", file.path.display()));
                    continue;
                }
            };
            if let Err(err) = codec.verify(&bytes) {
                skipped.push(format!(
                    "{}: does not decrypt ({err}); left where it is",
                    file.path.display()
                ));
                continue;
            }
            let sha256 = sha256_hex(&bytes);
            if catalog.backups.iter().any(|b| b.sha256 == sha256) {
                continue;
            }
            let meta = metadata.get(&file.name);
            let created = meta
                .and_then(|m| m.created_unix_ms)
                .or(file.created_unix_ms)
                .unwrap_or_else(unix_ms_now);
            let mut name = file.name.clone();
            let mut n = 2;
            while catalog.has(&name) || dir.join(&name).exists() {
                name = format!("{}_{n}.enc", file.name.trim_end_matches(".enc"));
                n += 1;
            }
            std::fs::create_dir_all(&dir).map_err(|e| AppError::storage(dir.display(), e))?;
            write_with_progress(&dir.join(&name), &bytes, &mut |_, _| {}).map_err(|e| {
                AppError::storage(format!("cannot copy {}", file.path.display()), e)
            })?;
            catalog.add(BackupRecord {
                name,
                created_unix_ms: created,
                size: bytes.len() as u64,
                sha256,
                verified: true,
                verified_unix_ms: Some(unix_ms_now()),
                verify_error: None,
                pinned: meta.is_some_and(|m| m.pinned),
                note: meta
                    .and_then(|m| m.note.clone())
                    .or_else(|| Some(format!("imported from {}", file.path.display()))),
                source: BackupSource::Imported,
                external_path: None,
                quarantined: None,
            });
            adopted += 1;
        }
        self.save_catalog(app, &catalog)?;
        Ok((adopted, skipped))
    }
}

/// Where the Cache Manager keeps its cache by default, or an error listing where it looked.
fn default_cache_location() -> Result<PathBuf, AppError> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".local/share"));
    let candidates = [
        data.join("cache_manager/app_info_cache.enc"),
        home.join(".config/cache_manager/app_info_cache.enc"),
        home.join(".cache_manager/app_info_cache.enc"),
    ];
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let list: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        AppError::Invalid(format!(
            "no Cache Manager cache found (looked at {}); pass --cache FILE",
            list.join(", ")
        ))
    })
}
