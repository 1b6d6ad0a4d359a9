//! Command-line arguments of `cachemgrd`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::keys::{InitTarget, KeyInit};

/// cachemgrd: encrypted cache layers and app-cache backups behind a local socket.
#[derive(Debug, Parser)]
#[command(name = "cachemgrd", version, about)]
pub struct Args {
    /// Socket path [default: $CACHEMGR_SOCKET, $XDG_RUNTIME_DIR/cachemgr/cachemgrd.sock, ...]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Config file (TOML) [default: $XDG_CONFIG_HOME/cachemgr/cachemgr.toml, /etc/cachemgr/cachemgr.toml]
    #[arg(long, value_name = "FILE", env = "CACHEMGR_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// State directory [default: $STATE_DIRECTORY, $XDG_STATE_HOME/cachemgr]
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// Log filter, e.g. `info`, `debug`, `cachemgrd=trace` [default: $RUST_LOG, else info]
    #[arg(long, value_name = "LEVEL", env = "CACHEMGR_LOG_LEVEL", global = true)]
    pub log_level: Option<String>,
    /// Load and validate the configuration, print it, and exit.
    #[arg(long)]
    pub check_config: bool,
    /// A one-off task instead of running the daemon.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One-off tasks of the daemon binary (they need its config but not a running daemon).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a master key and store it in the keyring or a key file; prints where and its
    /// fingerprint, never the key.
    KeyInit(KeyInitArgs),
}

/// Arguments of `cachemgrd key-init`.
#[derive(Debug, clap::Args)]
pub struct KeyInitArgs {
    /// Where to store the key.
    #[arg(long, value_enum)]
    pub to: InitTarget,
    /// Key file to write (with --to file) [default: keys.file, else <state_dir>/master.key]
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Replace an existing key (anything sealed under the old one becomes unreadable).
    #[arg(long)]
    pub force: bool,
}

impl Args {
    /// The `key-init` task these arguments and `init` ask for.
    pub fn key_init(&self, init: KeyInitArgs) -> KeyInit {
        KeyInit {
            config: self.config.clone(),
            state_dir: self.state_dir.clone(),
            to: init.to,
            path: init.path,
            force: init.force,
        }
    }
}
