//! `app add`, `app edit`, `app remove`: changing the registry. A file is registered only once
//! it is proven to open with the settings given, so a typo shows at once, not at the first
//! scheduled backup.

use std::path::{Path, PathBuf};

use cachemgr_proto::AppSettings;

use super::catalog::Catalog;
use super::error::AppError;
use super::live::read_verified;
use super::naming::{check_name, default_app_id, safe_name};
use super::registry::{AppRecord, DEFAULT_SERVICE, DEFAULT_STALE_AFTER_MS};
use super::retention::RetentionPolicy;
use super::service::AppService;
use crate::access::paths::{self, PathError, Place, Principal};
use crate::store::clock::unix_ms_now;
use rustix::fs::FileType;

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
        self.check_inherited_backups(name, owner_uid)?;
        // The file first: a wrong path is the clearer error, and asking the keyring about
        // an app whose file cannot be registered anyway would only hide it.
        check_path(&self.config, Principal::of_uid(owner_uid), Path::new(path))?;
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

    /// Changes an app's settings for `caller_uid`; a change of file, keys or strategy is
    /// checked like `add`. Only the app's owner (or root, or the daemon's user) may move its
    /// file or folder: an `admin_group` member may not point someone else's app at a file.
    pub async fn edit(
        &self,
        name: &str,
        settings: AppSettings,
        caller_uid: u32,
    ) -> Result<AppRecord, AppError> {
        let _op = self.try_lock(name).await?;
        let old = self.record(name)?;
        let moves = settings.path.is_some() || settings.external_dir.is_some();
        if moves && caller_uid != old.owner_uid && !Principal::of_uid(caller_uid).unrestricted {
            return Err(AppError::Denied(format!(
                "app {name:?} belongs to uid {}: only its owner or root may change its file or                  external folder",
                old.owner_uid
            )));
        }
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
        if reopen || record.external_dir != old.external_dir {
            // A new file or folder is checked exactly as at `app add`, as the app's owner
            // (whoever sends the edit): its own, no symlink, in an allowed place.
            if reopen {
                self.keys.forget(&old.service, &old.app_id);
            }
            self.check_registrable(&record).await?;
        }
        self.with_registry(|r| r.put(record.clone()))?;
        self.changed.notify_one();
        tracing::info!(
            app = %record.name,
            file = %record.path.display(),
            path_changed = record.path != old.path,
            external_dir_changed = record.external_dir != old.external_dir,
            keys_changed = reopen && record.path == old.path,
            "app settings changed"
        );
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

    /// Refuses a new app whose backup folder still holds the backups of an earlier app of the
    /// same name that belonged to someone else (removed without `--delete-backups`): they are
    /// not the new owner's to list or restore. Root and the daemon's user may adopt them.
    fn check_inherited_backups(&self, name: &str, owner_uid: u32) -> Result<(), AppError> {
        if Principal::of_uid(owner_uid).unrestricted {
            return Ok(());
        }
        let dir = self.config.backup_root(&self.state_dir).join(safe_name(name));
        let catalog =
            Catalog::load(&dir).map_err(|err| AppError::storage(format!("app {name:?}"), err))?;
        let foreign = match catalog.owner_uid {
            Some(uid) => uid != owner_uid,
            None => !catalog.backups.is_empty(),
        };
        if foreign {
            return Err(AppError::Denied(format!(
                "the backup folder of {name:?} holds the backups of an earlier app of that name                  registered by another user; pick another name (an admin may remove them)"
            )));
        }
        Ok(())
    }

    /// Refuses a record whose file is not a readable, allowed regular file that opens.
    async fn check_registrable(&self, record: &AppRecord) -> Result<(), AppError> {
        let owner = Principal::of_uid(record.owner_uid);
        let place = check_path(&self.config, owner, &record.path)?;
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
            if let Some(why) = self.config.refuse_system(dir) {
                return Err(AppError::Invalid(format!("refused external dir: {why}")));
            }
            paths::ensure_dir(owner, dir).map_err(|err| {
                AppError::Path(err).context(format!("the external dir {}", dir.display()))
            })?;
        }
        let codec = self.codec(record).await?;
        let policy = self.read_policy();
        tokio::task::spawn_blocking(move || read_verified(&place, &codec, policy))
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

/// A registered file must be an existing regular file of its owner (`principal`), named with
/// no symlink anywhere, in an allowed place; returns where it is, opened by the resolver.
pub fn check_path(
    config: &super::config::AppsConfig,
    principal: Principal,
    path: &Path,
) -> Result<Place, AppError> {
    if !path.is_absolute() {
        return Err(AppError::Invalid(format!(
            "cannot register {}: the path must be absolute (cachectl makes it so)",
            path.display()
        )));
    }
    if let Some(why) = config.refuse(path) {
        return Err(AppError::Invalid(format!("refused: {why}")));
    }
    let refused = |err: PathError| AppError::Path(err).context("cannot register the file");
    let place = paths::place(principal, path).map_err(refused)?;
    match place.stat().map_err(refused)? {
        None => return Err(refused(PathError::NotFound(path.to_path_buf()))),
        Some(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
            let link = path.to_path_buf();
            return Err(refused(PathError::Symlink { path: link.clone(), link }));
        }
        Some(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Directory => {
            return Err(AppError::Invalid(format!(
                "{} is a directory; register the cache file inside it",
                path.display()
            )))
        }
        Some(stat) if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile => {
            return Err(AppError::Invalid(format!("{} is not a regular file", path.display())))
        }
        Some(_) => {}
    }
    // The owner, checked on the opened file itself.
    place.open_read().map_err(refused)?;
    Ok(place)
}
