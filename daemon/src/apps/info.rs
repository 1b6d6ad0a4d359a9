//! How an app looks from outside: its settings, its backups at a glance and its health,
//! worst problem first. Cheap: it reads the backup metadata and stats the live file, never
//! decrypts anything.

use cachemgr_proto::{AppHealth, AppInfo, AppSettings, BackupInfo, DaemonStatus};

use super::catalog::{BackupRecord, Catalog};
use super::naming::safe_name;
use super::registry::AppRecord;
use super::service::{AppService, LiveProblem};
use crate::store::clock::unix_ms_now;

impl AppService {
    /// The app as `app show` reports it.
    pub fn info(&self, app: &AppRecord) -> AppInfo {
        let (catalog, catalog_error) = match self.catalog(app) {
            Ok(catalog) => (catalog, None),
            Err(err) => (Catalog::default(), Some(err.to_string())),
        };
        let observed = self.runtime(&app.name).observed();
        let last_good = catalog.last_good().map(|b| b.created_unix_ms);
        let (health, detail) = health(app, &catalog, last_good, &observed, unix_ms_now());
        AppInfo {
            name: app.name.clone(),
            safe_name: safe_name(&app.name),
            path: app.path.display().to_string(),
            service: app.service.clone(),
            app_id: app.app_id.clone(),
            strategy: app.strategy,
            settings: settings_of(app),
            backup_dir: self.backup_dir(app).display().to_string(),
            builtin: app.builtin,
            owner_uid: app.owner_uid,
            health,
            health_detail: detail,
            last_good_backup_unix_ms: last_good,
            backup_count: catalog.backups.len() as u64,
            next_backup_unix_ms: observed.next_backup_unix_ms,
            last_verify_unix_ms: catalog.last_verify_unix_ms,
            last_verify_bad: catalog.last_verify_bad,
            bad_reads: observed.bad_reads,
            last_error: observed.last_error.or(catalog_error),
        }
    }

    /// Every app, sorted by name.
    pub fn infos(&self) -> Vec<AppInfo> {
        self.records().iter().map(|app| self.info(app)).collect()
    }

    /// Whether anything needs an operator.
    pub fn status(&self, notices: Vec<String>) -> DaemonStatus {
        let infos = self.infos();
        let problems: Vec<String> = infos
            .iter()
            .filter(|i| i.health != AppHealth::Ok)
            .map(|i| {
                let detail = i.health_detail.as_deref().unwrap_or("");
                format!("app {}: {} {detail}", i.name, i.health.as_str()).trim_end().to_owned()
            })
            .collect();
        DaemonStatus {
            healthy: problems.is_empty(),
            apps: infos.len() as u64,
            problems,
            notices,
            redis: None,
            jobs: Vec::new(),
        }
    }
}

/// The settings of a record with every field present.
pub fn settings_of(app: &AppRecord) -> AppSettings {
    AppSettings {
        path: Some(app.path.display().to_string()),
        service: Some(app.service.clone()),
        app_id: Some(app.app_id.clone()),
        strategy: Some(app.strategy),
        backup_every_ms: Some(app.backup_every_ms.unwrap_or(0)),
        keep_last: Some(app.keep.last),
        keep_daily: Some(app.keep.daily),
        keep_weekly: Some(app.keep.weekly),
        keep_monthly: Some(app.keep.monthly),
        stale_after_ms: Some(app.stale_after_ms),
        external_dir: Some(
            app.external_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
        ),
    }
}

fn health(
    app: &AppRecord,
    catalog: &Catalog,
    last_good: Option<u64>,
    observed: &super::service::Observed,
    now: u64,
) -> (AppHealth, Option<String>) {
    if !app.builtin && !app.path.exists() {
        return (AppHealth::FileMissing, Some(format!("{} does not exist", app.path.display())));
    }
    if let Some(err) = &observed.key_error {
        return (AppHealth::KeyMissing, Some(err.clone()));
    }
    match &observed.live_problem {
        Some(LiveProblem::Missing(why)) => return (AppHealth::FileMissing, Some(why.clone())),
        Some(LiveProblem::Unreadable(why)) => {
            return (AppHealth::FileUnreadable, Some(why.clone()))
        }
        None => {}
    }
    // Damaged backups: in quarantine (with why), or failed and not moved there yet. They stay
    // until an operator removes them (see `verify`).
    let bad: Vec<String> = catalog
        .backups
        .iter()
        .filter(|b| b.quarantined.is_some() || b.verify_error.is_some())
        .map(|b| match (&b.quarantined, &b.verify_error) {
            (Some(why), _) => format!("{} (quarantined: {why})", b.name),
            (None, Some(why)) => format!("{} ({why})", b.name),
            (None, None) => b.name.clone(),
        })
        .collect();
    if !bad.is_empty() {
        return (
            AppHealth::BackupDamaged,
            Some(format!(
                "{} backup(s) failed verification and are kept for an operator: {}",
                bad.len(),
                bad.join("; ")
            )),
        );
    }
    let since = last_good.unwrap_or(app.added_unix_ms);
    if now.saturating_sub(since) > app.stale_after_ms {
        let age = humantime::format_duration(std::time::Duration::from_secs(
            now.saturating_sub(since) / 1000,
        ));
        let what = if last_good.is_some() {
            "the last good backup is"
        } else {
            "no good backup; registered"
        };
        return (AppHealth::Stale, Some(format!("{what} {age} old")));
    }
    (AppHealth::Ok, None)
}

/// A stored backup as the protocol shows it.
pub fn backup_info(
    dir: &std::path::Path,
    record: &BackupRecord,
    kept_because: Vec<String>,
) -> BackupInfo {
    BackupInfo {
        name: record.name.clone(),
        path: record.file_in(dir).display().to_string(),
        created_unix_ms: record.created_unix_ms,
        size: record.size,
        sha256: record.sha256.clone(),
        verified: record.verified,
        pinned: record.pinned,
        note: record.note.clone(),
        source: record.source,
        external_path: record.external_path.as_ref().map(|p| p.display().to_string()),
        kept_because,
        quarantined: record.quarantined.clone(),
    }
}
