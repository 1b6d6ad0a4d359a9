//! cachemgrd as a library: the daemon's parts, so the binary stays a thin shell and tests
//! can reach the pieces that need no socket.

pub mod access;
pub mod apps;
pub mod atomic_file;
pub mod cli;
pub mod config;
pub mod config_diff;
pub mod context;
pub mod daemon;
pub mod dirs;
pub mod dump;
pub mod events;
pub mod handlers;
pub mod hygiene;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod nss;
pub mod paths;
pub mod pattern;
pub mod pressure;
pub mod reload;
pub mod server;
pub mod signals;
pub mod store;
pub mod supervisor;
pub mod watchdog;
