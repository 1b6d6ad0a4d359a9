//! Unix signals: SIGTERM/SIGINT start the drain, SIGHUP reloads the config.

use std::sync::Arc;

use futures_util::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;

use crate::state::AppState;

/// Installs the handlers and serves signals until shutdown.
pub fn spawn(state: Arc<AppState>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    Ok(tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                _ = state.shutdown.cancelled() => break,
                signal = signals.next() => signal,
            };
            match signal {
                Some(SIGHUP) => reload(&state),
                Some(signal) => {
                    let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
                    tracing::info!("{name} received: stopping");
                    state.shutdown.cancel();
                    break;
                }
                None => break,
            }
        }
        signals.handle().close();
    }))
}

fn reload(state: &AppState) {
    match state.reload() {
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
