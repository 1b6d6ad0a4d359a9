//! Request handlers: one file per request family. Each turns a request into a response by
//! calling the store or the daemon state; none touches cache entries directly.

mod admin;
pub mod apps;
pub mod dirs;
pub mod dumps;
pub mod keys;
mod kv;
pub mod metrics;
mod pattern;
mod pressure;

use std::sync::Arc;

use cachemgr_proto::{ErrorKind, RequestBody, ResponseBody};

use crate::access::paths::Principal;
use crate::context::DaemonContext;
use crate::store::disk::DiskError;
use crate::store::memory::CacheError;
use crate::store::StoreError;

/// Answers one request (the handshake is handled by the connection, not here); files a
/// request names are opened as `principal` (see [`crate::access::paths`]).
pub async fn handle(
    state: &Arc<DaemonContext>,
    body: RequestBody,
    principal: Principal,
) -> ResponseBody {
    match body {
        RequestBody::Hello { .. } => {
            error(ErrorKind::InvalidArgument, "hello was already accepted on this connection")
        }
        RequestBody::Ping {} => ResponseBody::Pong {},
        RequestBody::Info {} => admin::info(state),
        RequestBody::Stats { ns } => admin::stats(state, ns.as_deref()),
        RequestBody::ListNamespaces {} => admin::list_namespaces(state),
        RequestBody::Clear { ns } => admin::clear(state, &ns).await,
        RequestBody::ClearAll {} => admin::clear_all(state).await,
        RequestBody::Reload {} => admin::reload(state).await,
        RequestBody::Shutdown {} => admin::shutdown(state),
        RequestBody::Set { ns, key, value, ttl_ms, condition } => {
            kv::set(state, &ns, &key, &value, ttl_ms, condition).await
        }
        RequestBody::Get { ns, key } => kv::get(state, &ns, &key).await,
        RequestBody::Delete { ns, keys } => kv::delete(state, &ns, &keys).await,
        RequestBody::Exists { ns, key } => kv::exists(state, &ns, &key).await,
        RequestBody::Ttl { ns, key } => kv::ttl(state, &ns, &key).await,
        RequestBody::Expire { ns, key, ttl_ms } => kv::expire(state, &ns, &key, ttl_ms).await,
        RequestBody::GetMany { ns, keys } => kv::get_many(state, &ns, &keys).await,
        RequestBody::SetMany { ns, entries } => kv::set_many(state, &ns, entries).await,
        RequestBody::Keys { ns, pattern, cursor, count } => {
            pattern::keys(state, &ns, pattern.as_ref(), cursor, count).await
        }
        RequestBody::PatternStats { ns, pattern } => {
            pattern::stats(state, &ns, pattern.as_ref()).await
        }
        RequestBody::DeletePattern { ns, pattern } => pattern::delete(state, &ns, &pattern).await,
        RequestBody::ExpirePattern { ns, pattern, ttl_ms } => {
            pattern::expire(state, &ns, &pattern, ttl_ms).await
        }
        RequestBody::KeyStatus {} => keys::status(state),
        RequestBody::KeyRotate { .. } => {
            error(ErrorKind::Internal, "key_rotate is streamed by the connection, not here")
        }
        RequestBody::Dump { path, ns, pattern } => {
            dumps::dump(state.clone(), path, ns, pattern, principal).await
        }
        RequestBody::Restore { path, ns, mode } => {
            dumps::restore(state, path, ns, mode, principal).await
        }
        RequestBody::AutodumpStart { path, every_ms, ns, pattern } => {
            let request = dumps::AutodumpRequest::Start { path, every_ms, ns, pattern };
            dumps::autodump(state, request, principal)
        }
        RequestBody::AutodumpChange { every_ms, path } => {
            dumps::autodump(state, dumps::AutodumpRequest::Change { every_ms, path }, principal)
        }
        RequestBody::AutodumpStop {} => {
            dumps::autodump(state, dumps::AutodumpRequest::Stop, principal)
        }
        RequestBody::AutodumpStatus {} => {
            dumps::autodump(state, dumps::AutodumpRequest::Status, principal)
        }
        RequestBody::PressureStatus {} => pressure::status(state),
        RequestBody::PressureCheck {} => pressure::check(state).await,
        RequestBody::ScheduleList {} => pressure::schedules(state),
        other => {
            error(ErrorKind::Internal, format!("{} is answered by its own task", other.name()))
        }
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
