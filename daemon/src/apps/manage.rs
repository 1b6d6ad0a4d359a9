//! `app add`, `app edit`, `app remove`: changing the registry. A file is registered only once
//! it is proven to open with the settings given, so a typo shows at once, not at the first
//! scheduled backup.

use std::path::{Path, PathBuf};

use cachemgr_proto::AppSettings;

use super::error::AppError;
use super::live::read_verified;
use super::naming::{check_name, default_app_id, safe_name};
use super::registry::{AppRecord, DEFAULT_SERVICE, DEFAULT_STALE_AFTER_MS};
use super::retention::RetentionPolicy;
use super::service::AppService;
use crate::store::clock::unix_ms_now;

impl AppService {
    /// Registers an app after checking its file opens.
    pub async fn add(
        &self,
        name: &str,
        settings: AppSettings,
        owner_uid: u32,
    ) -> Result<AppRecord, AppError> {
        check_name(name).map_err(|e| AppError::Invalid(e.to_string()))?;
        if self.record(name).is_ok() {
            return Err(AppError::Invalid(format!(
                "an app named {name:?} is already registered; pick another name or use `app edit`"
            )));
        }
        if let Some(other) = self.with_registry(|r| r.sharing_folder(name).map(|a| a.name.clone()))
        {
            return Err(AppError::Invalid(format!(
                "an app named {other:?} is already registered, and {name:?} would share its \
                 backup folder {:?}; pick a name that differs by more than case or spaces",
                safe_name(name)
            )));
        }
        let Some(path) = settings.path.as_deref() else {
            return Err(AppError::Invalid("app add needs --path FILE".to_owned()));
        };
        // The file first: a wrong path is the clearer error, and asking the keyring about
        // an app whose file cannot be registered anyway would only hide it.
        check_path(&self.config, Path::new(path))?;
        let service = settings.service.clone().unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        let app_id = settings.app_id.clone().unwrap_or_else(|| default_app_id(name));
        let strategy = match settings.strategy {
            Some(strategy) => strategy,
            None => self.keys.detect_strategy(&service, &app_id).await.map_err(|err| {
                AppError::Keys(format!(
                    "cannot tell how {name:?} is encrypted ({err}); pass --strategy \
                     standard|quantum|none"
                ))
            })?,
        };
        let mut record = AppRecord {
            name: name.to_owned(),
            path: PathBuf::from(path),
            service,
            app_id,
            strategy,
            backup_every_ms: None,
            keep: RetentionPolicy::default(),
            stale_after_ms: DEFAULT_STALE_AFTER_MS,
            external_dir: None,
            owner_uid,
            builtin: false,
            added_unix_ms: unix_ms_now(),
            key_rotated_at_unix_ms: None,
        };
        apply(&mut record, &settings)?;
        self.check_registrable(&record).await?;
        self.with_registry(|r| r.put(record.clone()))?;
        self.changed.notify_one();
        tracing::info!(app = %record.name, file = %record.path.display(), strategy = record.strategy.as_str(), "app registered");
        Ok(record)
    }

    /// Changes an app's settings; a change of file, keys or strategy is checked like `add`.
    pub async fn edit(&self, name: &str, settings: AppSettings) -> Result<AppRecord, AppError> {
        let _op = self.try_lock(name).await?;
        let old = self.record(name)?;
        if old.builtin && (settings.path.is_some() || settings.strategy.is_some()) {
            return Err(AppError::Invalid(format!(
                "{name:?} is the daemon's own state; only its schedule and retention can change"
            )));
        }
        let mut record = old.clone();
        apply(&mut record, &settings)?;
        let reopen = record.path != old.path
            || record.service != old.service
            || record.app_id != old.app_id
            || record.strategy != old.strategy;
        if reopen {
            self.keys.forget(&old.service, &old.app_id);
            self.check_registrable(&record).await?;
        }
        self.with_registry(|r| r.put(record.clone()))?;
        self.changed.notify_one();
        Ok(record)
    }

    /// Forgets an app; its backups stay unless `delete_backups`.
    pub async fn remove(&self, name: &str, delete_backups: bool) -> Result<(), AppError> {
        let _op = self.try_lock(name).await?;
        let record = self.record(name)?;
        if record.builtin {
            return Err(AppError::Invalid(format!(
                "{name:?} is the daemon's own state and stays registered"
            )));
        }
        if delete_backups {
            let dir = self.backup_dir(&record);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(AppError::storage(format!("cannot delete {}", dir.display()), err))
                }
            }
        }
        self.with_registry(|r| r.remove(name))?;
        self.drop_runtime(name);
        self.changed.notify_one();
        tracing::info!(app = %name, delete_backups, "app removed");
        Ok(())
    }

    /// Refuses a record whose file is not a readable, allowed regular file that opens.
    async fn check_registrable(&self, record: &AppRecord) -> Result<(), AppError> {
        check_path(&self.config, &record.path)?;
        if let Some(other) =
            self.records().into_iter().find(|a| a.path == record.path && a.name != record.name)
        {
            return Err(AppError::Invalid(format!(
                "{} is already registered as app {:?}",
                record.path.display(),
                other.name
            )));
        }
        if let Some(dir) = &record.external_dir {
            check_external_dir(dir)?;
        }
        let codec = self.codec(record).await?;
        let path = record.path.clone();
        let policy = self.read_policy();
        tokio::task::spawn_blocking(move || read_verified(&path, &codec, policy))
            .await
            .map_err(|e| AppError::Storage(format!("the check of the file failed: {e}")))??;
        Ok(())
    }
}

/// Applies the fields present in `settings` to `record`.
fn apply(record: &mut AppRecord, settings: &AppSettings) -> Result<(), AppError> {
    if let Some(path) = &settings.path {
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return Err(AppError::Invalid(format!(
                "the app path {} must be absolute",
                path.display()
            )));
        }
        record.path = path;
    }
    if let Some(service) = &settings.service {
        if service.trim().is_empty() {
            return Err(AppError::Invalid("the keyring service must not be empty".to_owned()));
        }
        record.service = service.clone();
    }
    if let Some(app_id) = &settings.app_id {
        let ok = !app_id.is_empty()
            && app_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(AppError::Invalid(format!(
                "the app id {app_id:?} must be letters, digits, '_' or '-' (it names keyring entries)"
            )));
        }
        record.app_id = app_id.clone();
    }
    if let Some(strategy) = settings.strategy {
        record.strategy = strategy;
    }
    if let Some(every) = settings.backup_every_ms {
        if every != 0 && every < 60_000 {
            return Err(AppError::Invalid("--backup-every must be at least 1m".to_owned()));
        }
        record.backup_every_ms = (every > 0).then_some(every);
    }
    if let Some(last) = settings.keep_last {
        if last == 0 {
            return Err(AppError::Invalid(
                "--keep-last must be at least 1 (the newest good backup is always kept)".to_owned(),
            ));
        }
        record.keep.last = last;
    }
    record.keep.daily = settings.keep_daily.unwrap_or(record.keep.daily);
    record.keep.weekly = settings.keep_weekly.unwrap_or(record.keep.weekly);
    record.keep.monthly = settings.keep_monthly.unwrap_or(record.keep.monthly);
    if let Some(stale) = settings.stale_after_ms {
        if stale == 0 {
            return Err(AppError::Invalid("--stale-after must be more than 0".to_owned()));
        }
        record.stale_after_ms = stale;
    }
    if let Some(dir) = &settings.external_dir {
        record.external_dir = if dir.is_empty() {
            None
        } else {
            let dir = PathBuf::from(dir);
            if !dir.is_absolute() {
                return Err(AppError::Invalid(format!(
                    "the external dir {} must be absolute",
                    dir.display()
                )));
            }
            Some(dir)
        };
    }
    Ok(())
}

/// A registered file must be an existing regular file (after symlinks) in an allowed place.
pub fn check_path(config: &super::config::AppsConfig, path: &Path) -> Result<(), AppError> {
    if !path.is_absolute() {
        return Err(AppError::Invalid(format!(
            "cannot register {}: the path must be absolute (cachectl makes it so)",
            path.display()
        )));
    }
    let meta = std::fs::metadata(path)
        .map_err(|err| AppError::Invalid(format!("cannot register {}: {err}", path.display())))?;
    if meta.is_dir() {
        return Err(AppError::Invalid(format!(
            "{} is a directory; register the cache file inside it",
            path.display()
        )));
    }
    if !meta.is_file() {
        return Err(AppError::Invalid(format!("{} is not a regular file", path.display())));
    }
    let canonical = std::fs::canonicalize(path)
        .map_err(|err| AppError::Invalid(format!("cannot resolve {}: {err}", path.display())))?;
    if let Some(why) = config.refuse(&canonical) {
        let via = if canonical != path {
            format!(" (via the symlink {})", path.display())
        } else {
            String::new()
        };
        return Err(AppError::Invalid(format!("refused{via}: {why}")));
    }
    Ok(())
}

fn check_external_dir(dir: &Path) -> Result<(), AppError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => {
            Err(AppError::Invalid(format!("the external dir {} is not a directory", dir.display())))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .map_err(|err| {
                AppError::Invalid(format!(
                    "cannot create the external dir {}: {err}",
                    dir.display()
                ))
            }),
        Err(err) => Err(AppError::Invalid(format!("the external dir {}: {err}", dir.display()))),
    }
}
