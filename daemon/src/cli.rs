//! Command-line arguments of `cachemgrd`.

use std::path::PathBuf;

use clap::Parser;

/// cachemgrd: encrypted cache layers and app-cache backups behind a local socket.
#[derive(Debug, Parser)]
#[command(name = "cachemgrd", version, about)]
pub struct Args {
    /// Socket path [default: $CACHEMGR_SOCKET, $XDG_RUNTIME_DIR/cachemgr/cachemgrd.sock, ...]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Config file (TOML) [default: $XDG_CONFIG_HOME/cachemgr/cachemgr.toml, /etc/cachemgr/cachemgr.toml]
    #[arg(long, value_name = "FILE", env = "CACHEMGR_CONFIG")]
    pub config: Option<PathBuf>,
    /// State directory [default: $STATE_DIRECTORY, $XDG_STATE_HOME/cachemgr]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Log filter, e.g. `info`, `debug`, `cachemgrd=trace` [default: $RUST_LOG, else info]
    #[arg(long, value_name = "LEVEL", env = "CACHEMGR_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Load and validate the configuration, print it, and exit.
    #[arg(long)]
    pub check_config: bool,
}
