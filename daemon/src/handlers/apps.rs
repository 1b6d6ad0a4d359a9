//! `status`, `app_*` and `backup_*`: registered app caches. Each operation runs in a task of
//! its own ([`run`]), so one a client gave up on (a migration, say) still finishes, and long
//! ones stream `progress` before their answer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cachemgr_proto::{AppSettings, ErrorKind, ResponseBody};
use tokio::sync::mpsc;

use super::{error, Reply};
use crate::apps::backup::{BackupRequest, ProgressFn};
use crate::apps::error::AppError;
use crate::apps::info::backup_info;
use crate::apps::AppService;
use crate::context::DaemonContext;

/// Progress is sent at most this often per request.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs an app operation in a task of its own; the reply streams `progress` bodies, then
/// the terminal body. App caches being off (no registry) is answered here, once.
pub fn run<F, Fut>(ctx: &Arc<DaemonContext>, op: F) -> Reply
where
    F: FnOnce(Arc<AppService>, ProgressFn) -> Fut + Send + 'static,
    Fut: Future<Output = Result<ResponseBody, AppError>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    let apps = ctx.apps.clone();
    tokio::spawn(async move {
        let last = match apps {
            Some(apps) => op(apps, progress_sink(tx.clone()))
                .await
                .unwrap_or_else(|err| error(err.kind(), err.to_string())),
            None => unavailable(),
        };
        let _ = tx.send(last).await;
    });
    Reply::Stream(rx)
}

/// The `status` answer. Public (with [`list`]) so the metrics renderer reads the same
/// answers a client gets instead of recomputing them.
pub fn status(state: &DaemonContext) -> ResponseBody {
    let mut status = match &state.apps {
        Some(apps) => apps.status(state.notices.clone()),
        None => cachemgr_proto::DaemonStatus {
            healthy: false,
            apps: 0,
            problems: vec!["the app registry could not be loaded (see notices)".to_owned()],
            notices: state.notices.clone(),
            redis: None,
            jobs: Vec::new(),
        },
    };
    add_redis_status(state, &mut status);
    add_disk_status(state, &mut status);
    add_jobs_status(state, &mut status);
    ResponseBody::Status(Box::new(status))
}

/// The `app_list` answer: every app, unfiltered (the connection trims it to the caller's).
pub fn list(state: &DaemonContext) -> ResponseBody {
    match &state.apps {
        Some(apps) => ResponseBody::Apps { apps: apps.infos() },
        None => unavailable(),
    }
}

fn unavailable() -> ResponseBody {
    error(
        ErrorKind::Unavailable,
        "app caches are off: the app registry could not be loaded (see `cachectl info`)",
    )
}

/// Turns progress callbacks into `progress` bodies, rate-limited and lossy (a full channel
/// drops a report rather than stall the work).
fn progress_sink(tx: mpsc::Sender<ResponseBody>) -> ProgressFn {
    let last = std::sync::Mutex::new(None::<Instant>);
    Arc::new(move |what: &str, done: u64, total: u64, unit: &'static str| {
        let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) || done >= total;
        if due {
            *last = Some(Instant::now());
            let _ = tx.try_send(ResponseBody::Progress {
                ns: what.to_owned(),
                done,
                total,
                unit: Some(unit.to_owned()),
            });
        }
    })
}

/// `app_add`: registers an app for `uid`.
pub async fn add(
    apps: &Arc<AppService>,
    name: &str,
    settings: AppSettings,
    uid: u32,
) -> Result<ResponseBody, AppError> {
    let record = apps.add(name, settings, uid).await?;
    Ok(ResponseBody::App(Box::new(apps.info(&record))))
}

/// `app_edit`: changes an app's settings (a move is the owner's or root's only).
pub async fn edit(
    apps: &Arc<AppService>,
    name: &str,
    settings: AppSettings,
    uid: u32,
) -> Result<ResponseBody, AppError> {
    let record = apps.edit(name, settings, uid).await?;
    Ok(ResponseBody::App(Box::new(apps.info(&record))))
}

/// `app_show`.
pub fn show(apps: &Arc<AppService>, name: &str) -> Result<ResponseBody, AppError> {
    Ok(ResponseBody::App(Box::new(apps.info(&apps.record(name)?))))
}

/// `app_import`: adopts the Python Cache Manager's apps and backups for `uid`.
pub async fn import(
    apps: &Arc<AppService>,
    cache: Option<String>,
    backups: Option<String>,
    uid: u32,
    progress: ProgressFn,
) -> Result<ResponseBody, AppError> {
    let report = apps.import_cache_manager(cache, backups, uid, progress).await?;
    Ok(ResponseBody::Imported {
        apps: report.apps,
        backups: report.backups,
        skipped: report.skipped,
    })
}

/// `app_migrate`: re-encrypts an app's file and backups under another strategy.
pub async fn migrate(
    apps: &Arc<AppService>,
    name: String,
    strategy: Option<cachemgr_proto::AppStrategy>,
    progress: ProgressFn,
) -> Result<ResponseBody, AppError> {
    let report = apps.migrate(&name, strategy, progress).await?;
    Ok(ResponseBody::Migrated { app: name, strategy: report.strategy, backups: report.backups })
}

/// `backup_create`: a manual backup, made even when nothing changed.
pub async fn backup_create(
    apps: &Arc<AppService>,
    app: &str,
    pin: bool,
    note: Option<String>,
    progress: ProgressFn,
) -> Result<ResponseBody, AppError> {
    let request = BackupRequest {
        source: cachemgr_proto::BackupSource::Manual,
        pin,
        note,
        skip_unchanged: false,
    };
    let record = apps.backup(app, request, progress).await?.into_record();
    let dir = apps.backup_dir(&apps.record(app)?);
    Ok(ResponseBody::Backup(Box::new(backup_info(&dir, &record, Vec::new()))))
}

/// `backup_restore`: puts a backup (the newest good one by default) back in place.
pub async fn restore(
    apps: &Arc<AppService>,
    app: String,
    backup: Option<String>,
) -> Result<ResponseBody, AppError> {
    let outcome = apps.restore(&app, backup).await?;
    Ok(ResponseBody::AppRestored {
        app,
        backup: outcome.backup,
        saved_as: outcome.saved_as,
        quarantined: outcome.quarantined.map(|p| p.display().to_string()),
    })
}

/// Adds the background jobs' health: a job waiting to restart, or one that failed within
/// the last ten minutes, makes the daemon unhealthy; an older failure (the job has run
/// since) stays a notice, so an operator still sees it happened.
fn add_jobs_status(state: &DaemonContext, status: &mut cachemgr_proto::DaemonStatus) {
    let problems = state.jobs.problems();
    if !problems.is_empty() {
        status.healthy = false;
        status.problems.extend(problems);
    }
    status.notices.extend(state.jobs.notices());
    status.jobs = state.jobs.status();
}

/// Adds the disk layer's health: a layer whose writes fail (a full disk, a damaged file
/// being replaced) makes the daemon unhealthy; what happened to it since the start (a
/// recovery, a file moved aside) is a notice.
fn add_disk_status(state: &DaemonContext, status: &mut cachemgr_proto::DaemonStatus) {
    let Some(disk) = state.store.disk() else { return };
    if let Some(problem) = disk.problem() {
        status.healthy = false;
        status.problems.push(format!("disk layer: {problem}"));
    }
    status.notices.extend(disk.notices());
}

/// Adds the Redis layer's health; an open breaker makes the daemon unhealthy (it still
/// serves, from the local layers, but the namespaces are no longer shared), and so does a
/// Redis that refuses writes (they fail until it accepts them again).
fn add_redis_status(state: &DaemonContext, status: &mut cachemgr_proto::DaemonStatus) {
    let Some(layer) = state.store.redis() else { return };
    let redis = layer.status();
    if let Some((since, answer)) = layer.refusing_writes() {
        status.healthy = false;
        status.problems.push(format!(
            "redis: refusing writes for {}s ({answer}); writes to shared namespaces fail until \
             Redis accepts them again",
            since.as_secs(),
        ));
    }
    if redis.breaker != "closed" {
        status.healthy = false;
        status.problems.push(format!(
            "redis: circuit breaker {} for {}s ({}); serving from the local layers",
            redis.breaker,
            redis.since_ms / 1000,
            redis.last_error.as_deref().unwrap_or("no answer"),
        ));
    }
    status.redis = Some(redis);
}
