//! Unix signals: SIGTERM/SIGINT start the drain, SIGHUP reloads the config.

use std::sync::Arc;

use futures_util::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;

use crate::context::DaemonContext;

/// Installs the handlers and serves signals until shutdown.
pub fn spawn(state: Arc<DaemonContext>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    Ok(tokio::spawn(async move {
        while let Some(signal) = signals.next().await {
            let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
            match signal {
                SIGHUP => reload(&state).await,
                _ if state.shutdown.is_cancelled() => {
                    // A second stop signal cuts the drain short, as operators expect.
                    tracing::warn!("{name} received again while draining: exiting now");
                    std::process::exit(1);
                }
                _ => {
                    tracing::info!("{name} received: stopping");
                    state.shutdown.cancel();
                }
            }
        }
    }))
}

async fn reload(state: &DaemonContext) {
    match crate::reload::reload(state).await {
        Ok(changes) => log_reload(&changes),
        Err(err) => {
            tracing::warn!("SIGHUP: config reload refused, keeping the current config: {err}")
        }
    }
}

/// One log line per reload, naming what changed.
pub fn log_reload(changes: &[String]) {
    if changes.is_empty() {
        tracing::info!("config reloaded: no changes");
    } else {
        tracing::info!("config reloaded: {}", changes.join("; "));
    }
}
