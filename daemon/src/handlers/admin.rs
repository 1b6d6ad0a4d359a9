//! Daemon-level requests: info, stats, namespaces, clears, reload, shutdown.

use std::sync::atomic::Ordering;

use cachemgr_proto::{ErrorKind, ResponseBody, ServerInfo, PROTOCOL_VERSION};

use super::error;
use crate::context::DaemonContext;

pub fn info(state: &DaemonContext) -> ResponseBody {
    ResponseBody::Info(Box::new(ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL_VERSION,
        pid: std::process::id(),
        uptime_ms: state.started.elapsed().as_millis() as u64,
        socket: state.socket.display().to_string(),
        config_path: state.config_path.as_ref().map(|p| p.display().to_string()),
        state_dir: state.state_dir.display().to_string(),
        connections: state.connections.load(Ordering::Relaxed),
        notices: notices(state),
        key_source: None,
    }))
}

/// The start-up notices, then what happened to the disk layer since (recoveries, files
/// moved aside) and what is wrong with it now.
fn notices(state: &DaemonContext) -> Vec<String> {
    let mut notices = state.notices.clone();
    if let Some(disk) = state.store.disk() {
        notices.extend(disk.notices());
        notices.extend(disk.problem().map(|problem| format!("disk layer: {problem}")));
    }
    notices
}

pub fn stats(state: &DaemonContext, ns: Option<&str>) -> ResponseBody {
    let (total, namespaces) = state.store.stats(ns);
    if let Some(name) = ns {
        if namespaces.is_empty() {
            return error(
                ErrorKind::UnknownNamespace,
                format!("namespace {name:?} does not exist"),
            );
        }
    }
    ResponseBody::Stats { total, namespaces }
}

pub fn list_namespaces(state: &DaemonContext) -> ResponseBody {
    ResponseBody::Namespaces { namespaces: state.store.summaries() }
}

pub async fn clear(state: &DaemonContext, ns: &str) -> ResponseBody {
    match state.store.clear(ns).await {
        Ok((entries, bytes)) => {
            tracing::info!(namespace = ns, entries, bytes, "namespace cleared");
            ResponseBody::Cleared { entries, bytes }
        }
        Err(err) => super::store_error(err),
    }
}

pub async fn clear_all(state: &DaemonContext) -> ResponseBody {
    match state.store.clear_all().await {
        Ok((entries, bytes)) => {
            tracing::info!(entries, bytes, "all namespaces cleared");
            ResponseBody::Cleared { entries, bytes }
        }
        Err(err) => super::store_error(err),
    }
}

pub async fn reload(state: &DaemonContext) -> ResponseBody {
    match crate::reload::reload(state).await {
        Ok(changes) => {
            crate::signals::log_reload(&changes);
            ResponseBody::Reloaded { changes }
        }
        Err(err) => {
            tracing::warn!("config reload refused, keeping the current config: {err}");
            error(ErrorKind::InvalidArgument, format!("config reload refused: {err}"))
        }
    }
}

pub fn shutdown(state: &DaemonContext) -> ResponseBody {
    tracing::info!("shutdown requested by a client");
    state.shutdown.cancel();
    ResponseBody::Done {}
}
