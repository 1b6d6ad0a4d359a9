//! The listener side: accept loop, connection cap, and the drain on shutdown.

pub mod activation;
pub mod connection;
pub mod listener;
pub mod metrics_http;
pub mod peer;
pub mod subscription;

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::traits::tokio::Listener as _;
use tokio_util::task::TaskTracker;

use crate::access::Slots;
use crate::context::DaemonContext;
use listener::BoundSocket;

/// Accepts until shutdown, then removes the socket and waits (up to `drain_timeout`) for
/// open connections to finish. Returns whether every connection finished in time.
pub async fn run(bound: BoundSocket, state: Arc<DaemonContext>) -> bool {
    // max_connections is read at start (the open-files limit was checked against it); the
    // per-user cap and the admin reserve follow reloads.
    let total = state.config().max_connections;
    let slots = Arc::new(Slots::default());
    let mut admins = AdminGroup::default();
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            accepted = bound.listener.accept() => accepted,
        };
        match accepted {
            Ok(stream) => {
                let admin_gid = admins.gid(&state).await;
                admit(stream, &state, &slots, admin_gid, total, &tracker);
            }
            Err(err) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // Clients whose connect() already completed sit in the backlog: serve them too (they
    // start in drain mode) rather than resetting them with their requests unanswered.
    let admin_gid = admins.gid(&state).await;
    while let Some(Ok(stream)) = bound.listener.accept().now_or_never() {
        admit(stream, &state, &slots, admin_gid, total, &tracker);
    }
    let BoundSocket { listener, guard } = bound;
    drop(listener);
    guard.remove_socket();
    tracing::info!(
        connections = tracker.len(),
        "draining: no longer accepting (the socket is removed unless systemd owns it), finishing in-flight requests"
    );
    tracker.close();
    let drain = state.config().drain_timeout;
    let finished = tokio::time::timeout(drain, tracker.wait()).await.is_ok();
    if !finished {
        tracing::warn!(
            "drain timeout ({}) reached; closing remaining connections",
            humantime::format_duration(drain)
        );
    }
    finished
}

/// Takes the caller's credentials from the kernel and a connection slot for them, then serves
/// the connection (or tells the client which limit turned it away).
fn admit(
    stream: Stream,
    state: &Arc<DaemonContext>,
    slots: &Arc<Slots>,
    admin_gid: Option<u32>,
    total: usize,
    tracker: &TaskTracker,
) {
    let creds = match peer::peer_credentials(&stream) {
        Ok(creds) => creds,
        Err(err) => {
            tracing::debug!("dropping connection: cannot read peer credentials: {err}");
            return;
        }
    };
    let config = state.config();
    let privileged = crate::access::caller::privileged(&creds.identity, &creds.groups, admin_gid);
    match slots.take(creds.identity.uid, privileged, crate::access::SlotLimits::of(&config, total))
    {
        Ok(slot) => {
            tracker.spawn(connection::serve(stream, state.clone(), creds, slot));
        }
        Err(refusal) => {
            tracker.spawn(connection::refuse_busy(stream, config.max_frame(), refusal));
        }
    }
}

/// The gid of `admin_group`, looked up (off the runtime: NSS) only when the config names a
/// different group than last time.
#[derive(Debug, Default)]
struct AdminGroup {
    name: Option<String>,
    gid: Option<u32>,
}

impl AdminGroup {
    async fn gid(&mut self, state: &DaemonContext) -> Option<u32> {
        let wanted = state.config().admin_group.clone();
        if wanted != self.name {
            let lookup = wanted.clone();
            self.gid = tokio::task::spawn_blocking(move || {
                lookup.as_deref().and_then(crate::access::names::group_id)
            })
            .await
            .ok()
            .flatten();
            self.name = wanted;
        }
        self.gid
    }
}
