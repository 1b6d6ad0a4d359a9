//! The listener side: accept loop, connection cap, and the drain on shutdown.

pub mod activation;
pub mod connection;
pub mod listener;
pub mod peer;
pub mod subscription;

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use interprocess::local_socket::traits::tokio::Listener as _;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::state::AppState;
use listener::BoundSocket;

/// Accepts until shutdown, then removes the socket and waits (up to `drain_timeout`) for
/// open connections to finish. Returns whether every connection finished in time.
pub async fn run(bound: BoundSocket, state: Arc<AppState>) -> bool {
    let config = state.config();
    let cap = config.max_connections;
    let permits = Arc::new(Semaphore::new(cap));
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            accepted = bound.listener.accept() => accepted,
        };
        match accepted {
            Ok(stream) => match permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    tracker.spawn(connection::serve(stream, state.clone(), permit));
                }
                Err(_) => {
                    tracker.spawn(connection::refuse_busy(stream, config.max_frame(), cap));
                }
            },
            Err(err) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // Clients whose connect() already completed sit in the backlog: serve them too (they
    // start in drain mode) rather than resetting them with their requests unanswered.
    while let Some(Ok(stream)) = bound.listener.accept().now_or_never() {
        match permits.clone().try_acquire_owned() {
            Ok(permit) => tracker.spawn(connection::serve(stream, state.clone(), permit)),
            Err(_) => tracker.spawn(connection::refuse_busy(stream, config.max_frame(), cap)),
        };
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
