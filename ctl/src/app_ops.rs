//! Typed helpers on [`Client`] for registered app caches and their backups: one method per
//! `app_*` / `backup_*` request (and `status`), kept apart from `ops.rs` so each file reads as
//! one family of operations.
//!
//! Paths go to the daemon, which has its own working directory, so every path a caller gives
//! (`path`, `external_dir`, the import's `cache` and `backups`) is made absolute here first.

use std::path::Path;

use cachemgr_proto::{
    AppInfo, AppSettings, AppStrategy, BackupInfo, DaemonStatus, RequestBody, ResponseBody,
};

use crate::app_types::{
    BackupList, ImportReport, InspectReport, MigrateReport, ModifyReport, PruneReport,
    RestoreAppReport, VerifyReport,
};
use crate::client::Client;
use crate::error::ClientError;
use crate::ops::unexpected;
use crate::types::{absolute_path, Progress};

/// `settings` with a relative `path` / `external_dir` resolved against this process's
/// working directory; an empty `external_dir` (which removes the external copy) stays empty.
pub fn absolute_settings(mut settings: AppSettings) -> Result<AppSettings, ClientError> {
    if let Some(path) = settings.path.take() {
        settings.path = Some(absolute_path(Path::new(&path))?);
    }
    if let Some(dir) = settings.external_dir.take() {
        settings.external_dir =
            Some(if dir.is_empty() { dir } else { absolute_path(Path::new(&dir))? });
    }
    Ok(settings)
}

impl Client {
    /// Whether anything needs an operator: stale or broken apps, daemon notices.
    pub async fn status(&self) -> Result<DaemonStatus, ClientError> {
        expect!(self, RequestBody::Status {}, "status",
            ResponseBody::Status(status) => *status)
    }

    /// Registers an app cache file (`settings.path` is required); the daemon checks that it
    /// decrypts first. Returns the app as registered.
    pub async fn app_add(&self, name: &str, settings: AppSettings) -> Result<AppInfo, ClientError> {
        let request =
            RequestBody::AppAdd { name: name.to_owned(), settings: absolute_settings(settings)? };
        expect!(self, request, "app", ResponseBody::App(info) => *info)
    }

    /// Changes the settings present in `settings` (absent ones stay); returns the app now.
    pub async fn app_edit(
        &self,
        name: &str,
        settings: AppSettings,
    ) -> Result<AppInfo, ClientError> {
        let request =
            RequestBody::AppEdit { name: name.to_owned(), settings: absolute_settings(settings)? };
        expect!(self, request, "app", ResponseBody::App(info) => *info)
    }

    /// Forgets an app; its backups stay on disk unless `delete_backups`.
    pub async fn app_remove(&self, name: &str, delete_backups: bool) -> Result<(), ClientError> {
        let request = RequestBody::AppRemove { name: name.to_owned(), delete_backups };
        expect!(self, request, "done", ResponseBody::Done {} => ())
    }

    /// Every registered app with its health, sorted by name.
    pub async fn app_list(&self) -> Result<Vec<AppInfo>, ClientError> {
        expect!(self, RequestBody::AppList {}, "apps",
            ResponseBody::Apps { apps } => apps)
    }

    /// One registered app with its settings and health.
    pub async fn app_show(&self, name: &str) -> Result<AppInfo, ClientError> {
        let request = RequestBody::AppShow { name: name.to_owned() };
        expect!(self, request, "app", ResponseBody::App(info) => *info)
    }

    /// Registers the Python Cache Manager's apps and adopts their backups; `None` paths mean
    /// its default places. `on_progress` sees each step as it is done.
    pub async fn app_import(
        &self,
        cache: Option<&Path>,
        backups: Option<&Path>,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<ImportReport, ClientError> {
        let request = RequestBody::AppImport {
            cache: cache.map(absolute_path).transpose()?,
            backups: backups.map(absolute_path).transpose()?,
        };
        let op = request.name();
        match self.streamed(request, &mut on_progress).await? {
            ResponseBody::Imported { apps, backups, skipped } => {
                Ok(ImportReport { apps, backups, skipped })
            }
            other => Err(unexpected(op, "imported", &other)),
        }
    }

    /// The structure of an app's decrypted JSON (below `pointer`, `depth` levels deep);
    /// scalar values only with `show_values`, since they may be secrets.
    pub async fn app_inspect(
        &self,
        name: &str,
        pointer: Option<&str>,
        show_values: bool,
        depth: Option<u32>,
    ) -> Result<InspectReport, ClientError> {
        let request = RequestBody::AppInspect {
            name: name.to_owned(),
            pointer: pointer.map(str::to_owned),
            show_values,
            depth,
        };
        expect!(self, request, "inspected",
            ResponseBody::Inspected { app, nodes } => InspectReport { app, nodes })
    }

    /// Replaces (or adds) the value at a JSON pointer with `value_json`; the daemon backs the
    /// file up first and says which backup holds the old file.
    pub async fn app_set(
        &self,
        name: &str,
        pointer: &str,
        value_json: &str,
    ) -> Result<ModifyReport, ClientError> {
        let request = RequestBody::AppSet {
            name: name.to_owned(),
            pointer: pointer.to_owned(),
            value_json: value_json.to_owned(),
        };
        expect!(self, request, "app_modified",
            ResponseBody::AppModified { app, backup } => ModifyReport { app, backup })
    }

    /// Gives an app new keys (`strategy`: `None` keeps the current encryption) and
    /// re-encrypts its live file and every backup; `on_progress` sees each file done.
    pub async fn app_migrate(
        &self,
        name: &str,
        strategy: Option<AppStrategy>,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<MigrateReport, ClientError> {
        let request = RequestBody::AppMigrate { name: name.to_owned(), strategy };
        let op = request.name();
        match self.streamed(request, &mut on_progress).await? {
            ResponseBody::Migrated { app, strategy, backups } => {
                Ok(MigrateReport { app, strategy, backups })
            }
            other => Err(unexpected(op, "migrated", &other)),
        }
    }

    /// Backs an app up now (`pin`: never pruned); `on_progress` sees the bytes written.
    pub async fn backup_create(
        &self,
        app: &str,
        pin: bool,
        note: Option<&str>,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<BackupInfo, ClientError> {
        let request =
            RequestBody::BackupCreate { app: app.to_owned(), pin, note: note.map(str::to_owned) };
        let op = request.name();
        match self.streamed(request, &mut on_progress).await? {
            ResponseBody::Backup(info) => Ok(*info),
            other => Err(unexpected(op, "backup", &other)),
        }
    }

    /// An app's backups, newest first, each with why the retention rules keep it.
    pub async fn backup_list(&self, app: &str) -> Result<BackupList, ClientError> {
        let request = RequestBody::BackupList { app: app.to_owned() };
        expect!(self, request, "backups",
            ResponseBody::Backups { app, backups } => BackupList { app, backups })
    }

    /// Applies the retention rules now (or with `dry_run` only says what would go).
    pub async fn backup_prune(&self, app: &str, dry_run: bool) -> Result<PruneReport, ClientError> {
        let request = RequestBody::BackupPrune { app: app.to_owned(), dry_run };
        expect!(self, request, "pruned",
            ResponseBody::Pruned { app, dry_run, removed, kept } =>
                PruneReport { app, dry_run, removed, kept })
    }

    /// Decrypts every stored backup of `app` (`None`: of every app); `on_progress` sees each
    /// file checked.
    pub async fn backup_verify(
        &self,
        app: Option<&str>,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<VerifyReport, ClientError> {
        let request = RequestBody::BackupVerify { app: app.map(str::to_owned) };
        let op = request.name();
        match self.streamed(request, &mut on_progress).await? {
            ResponseBody::Verified { checked, bad } => Ok(VerifyReport { checked, bad }),
            other => Err(unexpected(op, "verified", &other)),
        }
    }

    /// Replaces an app's live file with a backup (`None`: the newest verified one); the file
    /// it replaces is saved as a backup, or quarantined when it did not decrypt.
    pub async fn backup_restore(
        &self,
        app: &str,
        backup: Option<&str>,
    ) -> Result<RestoreAppReport, ClientError> {
        let request =
            RequestBody::BackupRestore { app: app.to_owned(), backup: backup.map(str::to_owned) };
        expect!(self, request, "app_restored",
            ResponseBody::AppRestored { app, backup, saved_as, quarantined } =>
                RestoreAppReport { app, backup, saved_as, quarantined })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_paths_become_absolute() -> Result<(), ClientError> {
        let settings = AppSettings {
            path: Some("cache.enc".into()),
            external_dir: Some("/mnt/usb".into()),
            keep_last: Some(3),
            ..AppSettings::default()
        };
        let absolute = absolute_settings(settings)?;
        let path = absolute.path.unwrap_or_default();
        assert!(path.starts_with('/') && path.ends_with("/cache.enc"), "{path}");
        assert_eq!(absolute.external_dir.as_deref(), Some("/mnt/usb"));
        assert_eq!(absolute.keep_last, Some(3));
        let off = AppSettings { external_dir: Some(String::new()), ..AppSettings::default() };
        assert_eq!(absolute_settings(off.clone())?, off, "empty turns the copy off");
        Ok(())
    }
}
