//! Start-up and shutdown in order: config, paths, master key, socket, state, tasks, serve, drain.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::Args;
use crate::config::Config;
use crate::state::AppState;
use crate::{keys, paths, server, signals};

/// Runs the daemon until it is told to stop. Errors are start-up failures.
pub async fn run(args: Args) -> Result<()> {
    let config_path = paths::config_path(args.config.clone());
    let config = Config::load(config_path.as_deref()).with_context(|| match &config_path {
        Some(path) => format!("cannot load config {}", path.display()),
        None => "cannot load config from the environment".to_owned(),
    })?;
    if args.check_config {
        println!("{}", toml::to_string_pretty(&config).context("cannot print config")?);
        return Ok(());
    }
    let config = Arc::new(config);
    let (socket, owned_dir) = paths::socket_path(args.socket.clone(), &config);
    if let Some(dir) = socket.parent() {
        paths::prepare_dir(dir, owned_dir)?;
    }
    let state_dir = paths::state_dir(args.state_dir.clone(), &config)?;
    paths::prepare_dir(&state_dir, false)?;
    let keys = keys::load_master_key(&config.keys, &state_dir)
        .await
        .context("cannot load the master key")?;
    tracing::info!(source = %keys.source, fingerprint = %keys.key.fingerprint(), "master key loaded");
    let bound = server::listener::bind(&socket)?;
    let state =
        AppState::new(config, socket.clone(), config_path.clone(), state_dir, Arc::new(keys));
    tokio::spawn(state.store.clone().run_sweeper(state.shutdown.clone()));
    let signal_task = signals::spawn(state.clone()).context("cannot install signal handlers")?;
    tracing::info!(
        socket = %socket.display(),
        config = %config_path.as_ref().map_or("(defaults)".into(), |p| p.display().to_string()),
        pid = std::process::id(),
        "cachemgrd {} listening (protocol {})",
        env!("CARGO_PKG_VERSION"),
        cachemgr_proto::PROTOCOL_VERSION
    );
    let drained = server::run(bound, state.clone()).await;
    signal_task.abort();
    tracing::info!(drained, "cachemgrd stopped");
    Ok(())
}
