//! The one dispatch: every request kind is answered from one match in [`dispatch`], with
//! no catch-all, so a new request does not compile until it has a handler. Handlers live
//! in one file per request family; each turns a request into a response by calling a
//! service (store, apps, dirs, dumps, pressure), never touching cache entries directly.
//! Rights were decided before (`crate::access::policy`); no handler checks them.

mod admin;
pub mod apps;
pub mod dirs;
#[cfg(test)]
mod dispatch_tests;
pub mod dumps;
pub mod keys;
mod kv;
pub mod metrics;
mod pattern;
mod pressure;

use std::sync::Arc;

use cachemgr_proto::{ErrorKind, EventKind, KeyPattern, RequestBody, ResponseBody};
use tokio::sync::mpsc;

use crate::access::paths::Principal;
use crate::access::Caller;
use crate::context::DaemonContext;
use crate::store::disk::DiskError;
use crate::store::memory::CacheError;
use crate::store::StoreError;

/// How a request is answered.
#[derive(Debug)]
pub enum Reply {
    /// One body, ready now.
    Now(ResponseBody),
    /// `progress` bodies, then one terminal body: the work runs in a task of its own, so
    /// a client that gives up does not cut it short.
    Stream(mpsc::Receiver<ResponseBody>),
    /// The connection becomes an event stream (the connection owns the socket, so it runs
    /// the stream; see `crate::server::subscription`).
    Subscribe(SubscribeArgs),
}

/// What a `subscribe` request asked for.
#[derive(Debug)]
pub struct SubscribeArgs {
    /// Only this namespace.
    pub ns: Option<String>,
    /// Only matching keys.
    pub pattern: Option<KeyPattern>,
    /// Only these kinds.
    pub kinds: Option<Vec<EventKind>>,
    /// Whether `set` events carry values.
    pub values: bool,
    /// The queue length asked for.
    pub queue: Option<u32>,
}

/// Answers one request of `caller` (after the handshake, after the access check). Files a
/// request names are opened as the caller (see [`crate::access::paths`]).
pub async fn dispatch(ctx: &Arc<DaemonContext>, caller: &Caller, body: RequestBody) -> Reply {
    use Reply::Now;
    use RequestBody as R;
    let principal = Principal::of_caller(caller);
    let uid = caller.peer.uid;
    match body {
        R::Hello { .. } => {
            Now(error(ErrorKind::InvalidArgument, "hello was already accepted on this connection"))
        }
        R::Ping {} => Now(ResponseBody::Pong {}),
        R::Info {} => Now(admin::info(ctx)),
        R::Status {} => Now(apps::status(ctx)),
        R::Metrics {} => Now(metrics::answer(ctx, caller)),
        R::Stats { ns } => Now(admin::stats(ctx, ns.as_deref())),
        R::ListNamespaces {} => Now(admin::list_namespaces(ctx)),
        R::Clear { ns } => Now(admin::clear(ctx, &ns).await),
        R::ClearAll {} => Now(admin::clear_all(ctx).await),
        R::Reload {} => Now(admin::reload(ctx).await),
        R::Shutdown {} => Now(admin::shutdown(ctx)),
        R::Set { ns, key, value, ttl_ms, condition } => {
            Now(kv::set(ctx, &ns, &key, &value, ttl_ms, condition).await)
        }
        R::Get { ns, key } => Now(kv::get(ctx, &ns, &key).await),
        R::Delete { ns, keys } => Now(kv::delete(ctx, &ns, &keys).await),
        R::Exists { ns, key } => Now(kv::exists(ctx, &ns, &key).await),
        R::Ttl { ns, key } => Now(kv::ttl(ctx, &ns, &key).await),
        R::Expire { ns, key, ttl_ms } => Now(kv::expire(ctx, &ns, &key, ttl_ms).await),
        R::GetMany { ns, keys } => Now(kv::get_many(ctx, &ns, &keys).await),
        R::SetMany { ns, entries } => Now(kv::set_many(ctx, &ns, entries).await),
        R::Keys { ns, pattern, cursor, count } => {
            Now(pattern::keys(ctx, &ns, pattern.as_ref(), cursor, count).await)
        }
        R::PatternStats { ns, pattern } => Now(pattern::stats(ctx, &ns, pattern.as_ref()).await),
        R::DeletePattern { ns, pattern } => Now(pattern::delete(ctx, &ns, &pattern).await),
        R::ExpirePattern { ns, pattern, ttl_ms } => {
            Now(pattern::expire(ctx, &ns, &pattern, ttl_ms).await)
        }
        R::Subscribe { ns, pattern, kinds, values, queue } => {
            Reply::Subscribe(SubscribeArgs { ns, pattern, kinds, values, queue })
        }
        R::KeyStatus {} => Now(keys::status(ctx)),
        R::KeyRotate { ns, clear } => Reply::Stream(keys::rotate(ctx.clone(), ns, clear)),
        R::Dump { path, ns, pattern } => {
            Now(dumps::dump(ctx.clone(), path, ns, pattern, principal).await)
        }
        R::Restore { path, ns, mode } => Now(dumps::restore(ctx, path, ns, mode, principal).await),
        R::AutodumpStart { path, every_ms, ns, pattern } => {
            let request = dumps::AutodumpRequest::Start { path, every_ms, ns, pattern };
            Now(dumps::autodump(ctx, request, principal))
        }
        R::AutodumpChange { every_ms, path } => {
            let request = dumps::AutodumpRequest::Change { every_ms, path };
            Now(dumps::autodump(ctx, request, principal))
        }
        R::AutodumpStop {} => Now(dumps::autodump(ctx, dumps::AutodumpRequest::Stop, principal)),
        R::AutodumpStatus {} => {
            Now(dumps::autodump(ctx, dumps::AutodumpRequest::Status, principal))
        }
        R::AppAdd { name, settings } => {
            apps::run(
                ctx,
                move |apps, _| async move { apps::add(&apps, &name, settings, uid).await },
            )
        }
        R::AppEdit { name, settings } => {
            apps::run(
                ctx,
                move |apps, _| async move { apps::edit(&apps, &name, settings, uid).await },
            )
        }
        R::AppRemove { name, delete_backups } => apps::run(ctx, move |apps, _| async move {
            apps.remove(&name, delete_backups).await?;
            Ok(ResponseBody::Done {})
        }),
        R::AppList {} => Now(apps::list(ctx)),
        R::AppShow { name } => {
            apps::run(ctx, move |apps, _| async move { apps::show(&apps, &name) })
        }
        R::AppImport { cache, backups } => apps::run(ctx, move |apps, progress| async move {
            apps::import(&apps, cache, backups, uid, progress).await
        }),
        R::AppInspect { name, pointer, show_values, depth } => {
            apps::run(ctx, move |apps, _| async move {
                let nodes = apps.inspect(&name, pointer, show_values, depth).await?;
                Ok(ResponseBody::Inspected { app: name, nodes })
            })
        }
        R::AppSet { name, pointer, value_json } => apps::run(ctx, move |apps, _| async move {
            let backup = apps.set_value(&name, pointer, value_json).await?;
            Ok(ResponseBody::AppModified { app: name, backup })
        }),
        R::AppMigrate { name, strategy } => apps::run(ctx, move |apps, progress| async move {
            apps::migrate(&apps, name, strategy, progress).await
        }),
        R::BackupCreate { app, pin, note } => apps::run(ctx, move |apps, progress| async move {
            apps::backup_create(&apps, &app, pin, note, progress).await
        }),
        R::BackupList { app } => apps::run(ctx, move |apps, _| async move {
            Ok(ResponseBody::Backups { backups: apps.list_backups(&app)?, app })
        }),
        R::BackupPrune { app, dry_run } => apps::run(ctx, move |apps, _| async move {
            let (removed, kept) = apps.prune_backups(&app, dry_run).await?;
            Ok(ResponseBody::Pruned { app, dry_run, removed, kept })
        }),
        R::BackupVerify { app } => apps::run(ctx, move |apps, progress| async move {
            let report = apps.verify_backups(app.as_deref(), progress).await?;
            Ok(ResponseBody::Verified { checked: report.checked, bad: report.bad })
        }),
        R::BackupRestore { app, backup } => {
            apps::run(ctx, move |apps, _| async move { apps::restore(&apps, app, backup).await })
        }
        R::DirAdd { path, settings } => Now(dirs::add(ctx, &path, settings, uid).await),
        R::DirList {} => Now(dirs::list(ctx).await),
        R::DirRemove { path } => Now(dirs::remove(ctx, &path)),
        R::DirClear { path, dry_run } => Now(dirs::clear(ctx, &path, dry_run).await),
        R::DirTrim { path, dry_run } => Now(dirs::trim(ctx, path.as_deref(), dry_run).await),
        R::PressureStatus {} => Now(pressure::status(ctx)),
        R::PressureCheck {} => Now(pressure::check(ctx).await),
        R::ScheduleList {} => Now(pressure::schedules(ctx)),
    }
}

/// An error response body.
pub fn error(kind: ErrorKind, message: impl Into<String>) -> ResponseBody {
    ResponseBody::Error { kind, message: message.into() }
}

/// Maps a store failure to the wire's error kinds.
fn store_error(err: StoreError) -> ResponseBody {
    let kind = match &err {
        StoreError::UnknownNamespace(_) => ErrorKind::UnknownNamespace,
        StoreError::InvalidNamespace { .. } => ErrorKind::InvalidArgument,
        StoreError::Cache(CacheError::TooLarge { .. }) => ErrorKind::TooLarge,
        StoreError::Cache(CacheError::KeyTooLong(_)) => ErrorKind::TooLarge,
        StoreError::OverBudget(_) => ErrorKind::TooLarge,
        StoreError::Disk(DiskError::Busy(_)) => ErrorKind::Busy,
        StoreError::Disk(DiskError::Cursor(_)) => ErrorKind::InvalidArgument,
        StoreError::Disk(DiskError::Corrupt(_)) => ErrorKind::Corrupt,
        StoreError::Disk(DiskError::TooLarge { .. }) => ErrorKind::TooLarge,
        StoreError::Disk(_) | StoreError::NoDisk(_) => ErrorKind::Storage,
        StoreError::Refused(refused) | StoreError::PartlyRefused(refused) => {
            if refused.transient() {
                ErrorKind::Unavailable
            } else {
                ErrorKind::Storage
            }
        }
        StoreError::TtlTooLong { .. } => ErrorKind::InvalidArgument,
    };
    error(kind, err.to_string())
}
