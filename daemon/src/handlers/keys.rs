//! `key_status` and `key_rotate`: which key seals what, and online rotation with progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cachemgr_proto::{ErrorKind, NamespaceKey, ResponseBody, RotatedNamespace, RotationProgress};
use tokio::sync::mpsc;

use super::{error, store_error};
use crate::context::DaemonContext;
use crate::store::StoreError;

/// Progress is sent at most this often (plus once at the end of each namespace).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The key source and every namespace's key id (never key material).
pub fn status(state: &DaemonContext) -> ResponseBody {
    let disk = state.store.disk();
    let mut namespaces: Vec<NamespaceKey> = state
        .store
        .all()
        .into_iter()
        .map(|ns| {
            let disk_state = disk.and_then(|d| d.lookup(ns.name()));
            NamespaceKey {
                ns: ns.name().to_owned(),
                tier: ns.full_tier().as_str().to_owned(),
                key_id: disk_state.as_ref().map_or(0, |s| s.current_key_id()),
                rotation: disk_state.and_then(|s| s.rotation()).map(|p| RotationProgress {
                    from_key_id: p.from_key_id,
                    to_key_id: p.to_key_id,
                    done: p.done,
                    total: p.total,
                }),
            }
        })
        .collect();
    namespaces.sort_by(|a, b| a.ns.cmp(&b.ns));
    ResponseBody::KeyStatus {
        source: state.key.source.clone(),
        persistent: state.key.persistent,
        fingerprint: state.key.fingerprint.clone(),
        namespaces,
    }
}

/// Starts a rotation of `ns` (or every disk-backed namespace) in its own task, so it
/// finishes even if the client goes away. The receiver yields `progress` bodies, then one
/// terminal body.
pub fn rotate(
    state: Arc<DaemonContext>,
    ns: Option<String>,
    clear: bool,
) -> mpsc::Receiver<ResponseBody> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let last = run_rotation(&state, ns, clear, &tx).await;
        let _ = tx.send(last).await;
    });
    rx
}

async fn run_rotation(
    state: &DaemonContext,
    ns: Option<String>,
    clear: bool,
    tx: &mpsc::Sender<ResponseBody>,
) -> ResponseBody {
    let Some(disk) = state.store.disk().cloned() else {
        return error(ErrorKind::Unavailable, "the disk layer is not open");
    };
    let targets: Vec<String> = match ns {
        Some(ns) => {
            let Some(namespace) = state.store.lookup(&ns) else {
                return error(
                    ErrorKind::UnknownNamespace,
                    format!("namespace {ns:?} does not exist"),
                );
            };
            if !namespace.tier().has_disk() && disk.lookup(&ns).is_none() {
                return error(
                    ErrorKind::InvalidArgument,
                    format!("namespace {ns:?} is memory-only: it has no sealed values and no key to rotate"),
                );
            }
            vec![ns]
        }
        None => {
            let mut all: Vec<String> = disk.all().iter().map(|s| s.name().to_owned()).collect();
            all.sort();
            all
        }
    };
    let mut done = Vec::new();
    for name in targets {
        tracing::info!(namespace = %name, clear, "key rotation started");
        let mut last_sent = Instant::now();
        let progress = |p: crate::store::disk::RotationProgress| {
            if last_sent.elapsed() >= PROGRESS_EVERY || p.done >= p.total {
                last_sent = Instant::now();
                let body = ResponseBody::Progress {
                    ns: name.clone(),
                    done: p.done,
                    total: p.total,
                    unit: None,
                };
                let _ = tx.try_send(body);
            }
        };
        let outcome = match disk.rotate(&name, clear, progress).await {
            Ok(outcome) => outcome,
            Err(err) => return store_error(StoreError::Disk(err)),
        };
        if clear {
            state.store.clear_memory(&name);
        }
        tracing::info!(
            namespace = %name,
            old_key_id = outcome.old_key_id,
            new_key_id = outcome.new_key_id,
            resealed = outcome.resealed,
            cleared = outcome.cleared,
            "key rotation finished; the old key is destroyed"
        );
        done.push(RotatedNamespace {
            ns: outcome.ns,
            old_key_id: outcome.old_key_id,
            new_key_id: outcome.new_key_id,
            resealed: outcome.resealed,
            cleared: outcome.cleared,
        });
    }
    ResponseBody::Rotated { namespaces: done }
}
