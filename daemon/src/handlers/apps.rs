//! `status`, `app_*` and `backup_*`: registered app caches. Each request runs in a task of
//! its own, so an operation a client gave up on (a migration, say) still finishes, and long
//! ones stream `progress` before their answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cachemgr_proto::{ErrorKind, PeerIdentity, RequestBody, ResponseBody};
use tokio::sync::mpsc;

use super::error;
use crate::apps::backup::{BackupRequest, ProgressFn};
use crate::apps::error::AppError;
use crate::apps::info::backup_info;
use crate::apps::AppService;
use crate::context::DaemonContext;

/// Progress is sent at most this often per request.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Whether this module answers `body`.
pub fn owns(body: &RequestBody) -> bool {
    matches!(
        body,
        RequestBody::Status {}
            | RequestBody::AppAdd { .. }
            | RequestBody::AppEdit { .. }
            | RequestBody::AppRemove { .. }
            | RequestBody::AppList {}
            | RequestBody::AppShow { .. }
            | RequestBody::AppImport { .. }
            | RequestBody::AppInspect { .. }
            | RequestBody::AppSet { .. }
            | RequestBody::AppMigrate { .. }
            | RequestBody::BackupCreate { .. }
            | RequestBody::BackupList { .. }
            | RequestBody::BackupPrune { .. }
            | RequestBody::BackupVerify { .. }
            | RequestBody::BackupRestore { .. }
    )
}

/// Starts the request; the receiver yields `progress` bodies, then one terminal body.
pub fn start(
    state: Arc<DaemonContext>,
    body: RequestBody,
    peer: PeerIdentity,
) -> mpsc::Receiver<ResponseBody> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let last = match state.apps.clone() {
            Some(apps) => answer(&state, &apps, body, peer, progress_sink(tx.clone())).await,
            None if matches!(body, RequestBody::Status {}) => status(&state),
            None => unavailable(),
        };
        let _ = tx.send(last).await;
    });
    rx
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
        },
    };
    add_redis_status(state, &mut status);
    add_disk_status(state, &mut status);
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

async fn answer(
    state: &DaemonContext,
    apps: &Arc<AppService>,
    body: RequestBody,
    peer: PeerIdentity,
    progress: ProgressFn,
) -> ResponseBody {
    let result: Result<ResponseBody, AppError> = async {
        Ok(match body {
            RequestBody::Status {} => status(state),
            RequestBody::AppAdd { name, settings } => {
                let record = apps.add(&name, settings, peer.uid).await?;
                ResponseBody::App(Box::new(apps.info(&record)))
            }
            RequestBody::AppEdit { name, settings } => {
                let record = apps.edit(&name, settings, peer.uid).await?;
                ResponseBody::App(Box::new(apps.info(&record)))
            }
            RequestBody::AppRemove { name, delete_backups } => {
                apps.remove(&name, delete_backups).await?;
                ResponseBody::Done {}
            }
            RequestBody::AppList {} => list(state),
            RequestBody::AppShow { name } => {
                ResponseBody::App(Box::new(apps.info(&apps.record(&name)?)))
            }
            RequestBody::AppImport { cache, backups } => {
                let report = apps.import_cache_manager(cache, backups, peer.uid, progress).await?;
                ResponseBody::Imported {
                    apps: report.apps,
                    backups: report.backups,
                    skipped: report.skipped,
                }
            }
            RequestBody::AppInspect { name, pointer, show_values, depth } => {
                let nodes = apps.inspect(&name, pointer, show_values, depth).await?;
                ResponseBody::Inspected { app: name, nodes }
            }
            RequestBody::AppSet { name, pointer, value_json } => {
                let backup = apps.set_value(&name, pointer, value_json).await?;
                ResponseBody::AppModified { app: name, backup }
            }
            RequestBody::AppMigrate { name, strategy } => {
                let report = apps.migrate(&name, strategy, progress).await?;
                ResponseBody::Migrated {
                    app: name,
                    strategy: report.strategy,
                    backups: report.backups,
                }
            }
            RequestBody::BackupCreate { app, pin, note } => {
                let request = BackupRequest {
                    source: cachemgr_proto::BackupSource::Manual,
                    pin,
                    note,
                    skip_unchanged: false,
                };
                let record = apps.backup(&app, request, progress).await?.into_record();
                let dir = apps.backup_dir(&apps.record(&app)?);
                ResponseBody::Backup(Box::new(backup_info(&dir, &record, Vec::new())))
            }
            RequestBody::BackupList { app } => {
                ResponseBody::Backups { backups: apps.list_backups(&app)?, app }
            }
            RequestBody::BackupPrune { app, dry_run } => {
                let (removed, kept) = apps.prune_backups(&app, dry_run).await?;
                ResponseBody::Pruned { app, dry_run, removed, kept }
            }
            RequestBody::BackupVerify { app } => {
                let report = apps.verify_backups(app.as_deref(), progress).await?;
                ResponseBody::Verified { checked: report.checked, bad: report.bad }
            }
            RequestBody::BackupRestore { app, backup } => {
                let outcome = apps.restore(&app, backup).await?;
                ResponseBody::AppRestored {
                    app,
                    backup: outcome.backup,
                    saved_as: outcome.saved_as,
                    quarantined: outcome.quarantined.map(|p| p.display().to_string()),
                }
            }
            other => error(ErrorKind::Internal, format!("{} is not an app request", other.name())),
        })
    }
    .await;
    result.unwrap_or_else(|err| error(err.kind(), err.to_string()))
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
