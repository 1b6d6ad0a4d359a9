//! Arguments of the commands that look after what outlives the process: encryption keys,
//! dump files and the auto-dump schedule.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::parse::parse_interval;

/// Subcommands of `cachectl key`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Show the key source, its fingerprint, and each namespace's key and rotation.
    Status,
    /// Move a namespace (or every namespace) to a new key, resealing its stored values.
    Rotate {
        /// Only this namespace [default: every namespace].
        ns: Option<String>,
        /// Drop the values instead of resealing them (for a key thought leaked).
        #[arg(long)]
        clear: bool,
    },
}

/// Which entries a dump takes: shared by `dump` and `autodump start`.
#[derive(Debug, Args)]
pub struct Selection {
    /// Only this namespace [default: every namespace].
    #[arg(long, value_name = "NS")]
    pub ns: Option<String>,
    /// Only the keys matching this glob.
    #[arg(long, value_name = "GLOB", conflicts_with = "regex")]
    pub pattern: Option<String>,
    /// Only the keys matching this regular expression.
    #[arg(long, value_name = "RE")]
    pub regex: Option<String>,
}

/// Arguments of `cachectl dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// File the daemon writes (encrypted, replaced atomically); relative to the current
    /// directory.
    pub file: PathBuf,
    /// Which entries.
    #[command(flatten)]
    pub select: Selection,
}

/// Arguments of `cachectl restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Dump file to load; relative to the current directory.
    pub file: PathBuf,
    /// Only this namespace of the dump [default: every namespace in it].
    #[arg(long, value_name = "NS")]
    pub ns: Option<String>,
    /// Clear each restored namespace first, so it ends up exactly as dumped.
    #[arg(long, conflicts_with = "merge")]
    pub replace: bool,
    /// Keep what is cached; the dump's entries overwrite the keys they share (the default).
    #[arg(long)]
    pub merge: bool,
}

/// Subcommands of `cachectl autodump`.
#[derive(Debug, Subcommand)]
pub enum AutodumpCommand {
    /// Dump on a schedule (replacing any schedule in force).
    Start(AutodumpStartArgs),
    /// Change the interval and/or the file of the running schedule.
    Change(AutodumpChangeArgs),
    /// Stop dumping on a schedule (the dumps written stay).
    Stop,
    /// Show the schedule, how the last dump went, and when the next is due.
    Status,
}

/// Arguments of `cachectl autodump start`.
#[derive(Debug, Args)]
pub struct AutodumpStartArgs {
    /// Interval between dumps: 30s, 10m, 1h30m; a bare number is seconds.
    #[arg(long, value_name = "DUR", value_parser = parse_interval)]
    pub every: Duration,
    /// File each dump replaces; relative to the current directory.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Which entries.
    #[command(flatten)]
    pub select: Selection,
}

/// Arguments of `cachectl autodump change`: at least one of them.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct AutodumpChangeArgs {
    /// New interval: 30s, 10m, 1h30m; a bare number is seconds.
    #[arg(long, value_name = "DUR", value_parser = parse_interval)]
    pub every: Option<Duration>,
    /// New file; relative to the current directory.
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
}
