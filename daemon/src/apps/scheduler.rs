//! The app scheduler: scheduled backups, the weekly re-verification, and backups after a
//! watched file changes and then stays quiet for the debounce period. One task, sleeping
//! until the earliest deadline or the next file event: no polling.
//!
//! A schedule missed while the daemon was down is run soon after start, the missed apps
//! spread over `catch_up_spread` so a host with many apps does not read them all at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cachemgr_proto::BackupSource;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backup::{no_progress, BackupOutcome, BackupRequest};
use super::registry::AppRecord;
use super::service::{AppService, LiveProblem};
use super::stale::StaleWatch;
use super::watcher::AppWatcher;
use crate::store::clock::unix_ms_now;

/// While a watched directory is missing, look for it again this often.
const REWATCH_EVERY: Duration = Duration::from_secs(10);

/// The deadlines of one app.
#[derive(Debug, Clone, Copy)]
struct Due {
    every_ms: Option<u64>,
    backup: Option<u64>,
    verify: u64,
}

/// Runs until shutdown.
pub async fn run(service: Arc<AppService>, shutdown: CancellationToken) {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut watcher = match AppWatcher::new(tx) {
        Ok(watcher) => Some(watcher),
        Err(err) => {
            tracing::error!("cannot watch app files, only schedules will run: {err}");
            None
        }
    };
    let mut plan: HashMap<String, Due> = HashMap::new();
    let mut quiet_until: HashMap<String, Instant> = HashMap::new();
    let mut first = true;
    let mut stale = StaleWatch::default();
    // A file event only starts a quiet period; everything else may have changed an age.
    let mut check_stale = true;
    let mut next_stale = None;
    // Re-encryptions a crash cut short are finished first (they need the keyring).
    tokio::spawn(check_keys(service.clone()));
    let mut next_key_check = Instant::now() + service.config.key_check_every;
    loop {
        let records = service.records();
        let unwatched = watcher.as_mut().map(|w| w.sync(&records)).unwrap_or_default();
        refresh(&service, &records, &mut plan, first);
        first = false;
        let now_unix = unix_ms_now();
        if std::mem::replace(&mut check_stale, true) {
            next_stale = stale.check(&service, &records, now_unix);
        }
        let mut next = Instant::now() + Duration::from_secs(24 * 3600);
        if let Some(at) = next_stale {
            next = next.min(instant_of(at, now_unix));
        }
        for due in plan.values() {
            for at in due.backup.into_iter().chain([due.verify]) {
                next = next.min(instant_of(at, now_unix));
            }
        }
        for at in quiet_until.values() {
            next = next.min(*at);
        }
        if !unwatched.is_empty() {
            next = next.min(Instant::now() + REWATCH_EVERY);
        }
        next = next.min(next_key_check);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = service.changed.notified() => continue,
            Some(name) = events.recv() => {
                quiet_until.insert(name, Instant::now() + service.config.debounce);
                check_stale = false;
                continue;
            }
            _ = tokio::time::sleep_until(next) => {}
        }
        let now = Instant::now();
        if next_key_check <= now {
            next_key_check = now + service.config.key_check_every;
            tokio::spawn(check_keys(service.clone()));
        }
        let ready: Vec<String> =
            quiet_until.iter().filter(|(_, at)| **at <= now).map(|(n, _)| n.clone()).collect();
        for name in ready {
            quiet_until.remove(&name);
            tokio::spawn(change_backup(service.clone(), name));
        }
        let now_unix = unix_ms_now();
        for (name, due) in plan.iter_mut() {
            if due.backup.is_some_and(|at| at <= now_unix) {
                due.backup = due.every_ms.map(|every| now_unix + every);
                tokio::spawn(scheduled_backup(service.clone(), name.clone(), now_unix));
            }
            if due.verify <= now_unix {
                due.verify = now_unix + millis(service.config.verify_every);
                tokio::spawn(scheduled_verify(service.clone(), name.clone()));
            }
        }
        publish(&service, &plan);
    }
}

/// Adds new apps to the plan, drops removed ones and recomputes edited schedules.
fn refresh(
    service: &AppService,
    records: &[AppRecord],
    plan: &mut HashMap<String, Due>,
    at_start: bool,
) {
    plan.retain(|name, _| records.iter().any(|r| &r.name == name));
    let now = unix_ms_now();
    let spread = millis(service.config.catch_up_spread);
    let mut missed = 0u64;
    let verify_every = millis(service.config.verify_every);
    for app in records {
        if plan.get(&app.name).is_some_and(|d| d.every_ms == app.backup_every_ms) {
            continue;
        }
        let catalog = service.catalog(app).unwrap_or_default();
        let mut catch_up = || {
            missed += 1;
            // Spread over the window: 1st after 1/8 of it, then evenly.
            now + spread / 8 + (spread / 16) * (missed - 1) % spread.max(1)
        };
        let backup = app.backup_every_ms.map(|every| {
            let base = catalog
                .last_scheduled_unix_ms
                .or(catalog.newest().map(|b| b.created_unix_ms))
                .unwrap_or(app.added_unix_ms);
            let due = base.saturating_add(every);
            // An app never backed up gets its first backup soon, not one period later.
            if catalog.backups.is_empty() || (due <= now && at_start) {
                catch_up()
            } else {
                due.max(now)
            }
        });
        let verify_base = catalog.last_verify_unix_ms.unwrap_or(app.added_unix_ms);
        let verify_due = verify_base.saturating_add(verify_every);
        let verify = if verify_due <= now && at_start {
            catch_up() + spread / 2
        } else {
            verify_due.max(now)
        };
        plan.insert(app.name.clone(), Due { every_ms: app.backup_every_ms, backup, verify });
    }
    publish(service, plan);
}

fn publish(service: &AppService, plan: &HashMap<String, Due>) {
    for (name, due) in plan {
        service.runtime(name).observe(|o| o.next_backup_unix_ms = due.backup);
    }
}

async fn scheduled_backup(service: Arc<AppService>, name: String, at: u64) {
    let request = BackupRequest {
        source: BackupSource::Schedule,
        pin: false,
        note: None,
        skip_unchanged: true,
    };
    match service.backup(&name, request, no_progress()).await {
        Ok(BackupOutcome::Created { record, .. }) => {
            tracing::debug!(app = %name, backup = %record.name, "scheduled backup")
        }
        Ok(BackupOutcome::Unchanged(_)) => {
            tracing::debug!(app = %name, "scheduled backup skipped: unchanged")
        }
        Err(err) => tracing::warn!(app = %name, "scheduled backup failed: {err}"),
    }
    if let Err(err) = service.mark_scheduled(&name, at).await {
        tracing::warn!(app = %name, "cannot record the scheduled run: {err}");
    }
}

async fn change_backup(service: Arc<AppService>, name: String) {
    let Ok(app) = service.record(&name) else { return };
    if !app.path.exists() {
        tracing::warn!(app = %name, file = %app.path.display(), "the app's file was deleted; watching for it to come back");
        let why = format!("{} was deleted", app.path.display());
        service.runtime(&name).observe(|o| o.live_problem = Some(LiveProblem::Missing(why)));
        return;
    }
    let request = BackupRequest {
        source: BackupSource::Change,
        pin: false,
        note: None,
        skip_unchanged: true,
    };
    match service.backup(&name, request, no_progress()).await {
        Ok(BackupOutcome::Created { record, .. }) => {
            tracing::info!(app = %name, backup = %record.name, "backed up after a change")
        }
        Ok(BackupOutcome::Unchanged(same)) => tracing::info!(
            app = %name,
            backup = %same.name,
            "the file changed back to the content of the last backup; no new backup"
        ),
        Err(err) => tracing::warn!(app = %name, "the changed file was not backed up: {err}"),
    }
}

async fn scheduled_verify(service: Arc<AppService>, name: String) {
    match service.verify_backups(Some(&name), no_progress()).await {
        Ok(report) if report.bad.is_empty() => {
            tracing::debug!(app = %name, checked = report.checked, "backups verified")
        }
        Ok(report) => {
            tracing::warn!(app = %name, bad = report.bad.len(), "backups failed verification")
        }
        Err(err) => tracing::warn!(app = %name, "cannot verify backups: {err}"),
    }
}

/// Finishes interrupted re-encryptions, then reads the keys of every unlocked app again and
/// re-encrypts backups for any that changed (see `rekey`). One check at a time.
async fn check_keys(service: Arc<AppService>) {
    static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let Ok(_one) = RUNNING.try_lock() else { return };
    service.finish_rekeys().await;
    let mut seen = std::collections::HashSet::new();
    for app in service.records() {
        if app.builtin || !seen.insert((app.service.clone(), app.app_id.clone())) {
            continue;
        }
        if let Err(err) = service.notice_key_change(&app.service, &app.app_id).await {
            tracing::warn!(app = %app.name, "cannot check the app's keys: {err}");
        }
    }
}

impl AppService {
    /// Records that the schedule of `name` ran at `at`, so a restart knows when it is next due.
    pub async fn mark_scheduled(&self, name: &str, at: u64) -> Result<(), super::error::AppError> {
        let _op = self.lock(name).await;
        let app = self.record(name)?;
        let mut catalog = self.catalog(&app)?;
        catalog.last_scheduled_unix_ms = Some(at);
        self.save_catalog(&app, &catalog)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn instant_of(unix_ms: u64, now_unix: u64) -> Instant {
    Instant::now() + Duration::from_millis(unix_ms.saturating_sub(now_unix))
}
