//! The command line, declared with clap's derive API so the help text, validation and the
//! usage-error exit code (2) come from one place.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

mod apps;
mod backup;
mod bench;
mod dirs;
mod maintenance;
mod pressure;
mod run;
#[cfg(test)]
mod tests_apps;
mod watch;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

pub use apps::AppCommand;
pub use backup::BackupCommand;
pub use bench::{BenchArgs, BenchTest};
pub use dirs::{DirAddArgs, DirCommand};
pub use maintenance::{AutodumpCommand, DumpArgs, KeyCommand, RestoreArgs};
pub use pressure::{PressureCommand, ScheduleCommand};
pub use run::RunArgs;
pub use watch::WatchArgs;

use crate::parse::{parse_duration, parse_key_value};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  not found (get/exists/ttl/expire on a missing key; set whose --nx/--xx condition failed);
     status: 1 while any app is stale or broken
  2  usage error (bad arguments, invalid duration, bad KEY=VALUE, unreadable --file,
     a path that is not UTF-8)
  3  cachemgrd unreachable (not running, or the connection was lost)
  4  cachemgrd answered with an error (e.g. storage, corrupt, busy), or something unexpected;
     backup verify: 4 when any backup is damaged";

/// Command-line client for cachemgrd, the local cache daemon.
#[derive(Debug, Parser)]
#[command(name = "cachectl", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Socket of the daemon [default: $XDG_RUNTIME_DIR/cachemgr/cachemgrd.sock, or
    /// /run/cachemgr/cachemgrd.sock for root, or /tmp/cachemgr-<uid>/cachemgrd.sock].
    #[arg(long, global = true, env = "CACHEMGR_SOCKET", value_name = "PATH",
          value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from))]
    pub socket: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// One subcommand of `cachectl`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that the daemon answers.
    Ping,
    /// Show the daemon's version, pid, uptime and paths.
    Info,
    /// Show hit/miss/eviction counters and memory use, per namespace.
    Stats {
        /// Only this namespace (not with --format prometheus, which shows everything).
        ns: Option<String>,
        /// Output: a table, JSON (same as --json), or the Prometheus text format (every
        /// counter and gauge of the daemon, as its `metrics` request answers it).
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Option<StatsFormat>,
    },
    /// Namespace operations.
    Ns {
        /// What to do with namespaces.
        #[command(subcommand)]
        command: NsCommand,
    },
    /// Store a value (from VALUE, --file, or stdin when neither is given).
    Set(SetArgs),
    /// Write a value's raw bytes to stdout (or --out FILE); exit 1 when missing.
    Get {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
        /// Write the value to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Delete keys and print how many existed.
    Del {
        /// Namespace.
        ns: String,
        /// Keys to delete.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Say whether a key exists; exit 1 when it does not.
    Exists {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
    },
    /// Print a key's remaining time to live; exit 1 when missing.
    Ttl {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
    },
    /// Give a key a new TTL (e.g. 10m), or remove its expiry with --persist.
    Expire {
        /// Namespace.
        ns: String,
        /// Key.
        key: String,
        /// New time to live: 30s, 10m, 1h30m, 500ms; a bare number is seconds.
        #[arg(value_parser = parse_duration, required_unless_present = "persist")]
        ttl: Option<Duration>,
        /// Remove the key's expiry instead.
        #[arg(long, conflicts_with = "ttl")]
        persist: bool,
    },
    /// Print several values, one per line (`(nil)` when missing).
    Mget {
        /// Namespace.
        ns: String,
        /// Keys to read.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Store several KEY=VALUE pairs in one request.
    Mset {
        /// Namespace.
        ns: String,
        /// Pairs to store; the key ends at the first `=`.
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = parse_key_value)]
        pairs: Vec<(String, String)>,
        /// Time to live of every pair [default: the namespace's].
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<Duration>,
    },
    /// List keys matching a glob (or --regex), one per line, as they arrive.
    Keys {
        /// Namespace.
        ns: String,
        /// Redis-style glob (`*`, `?`, `[a-z]`); all keys when absent.
        glob: Option<String>,
        /// Match with this regular expression instead of a glob.
        #[arg(long, value_name = "RE", conflicts_with = "glob")]
        regex: Option<String>,
        /// Stop after this many keys.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// Count the keys matching a glob (or --regex).
    Count {
        /// Namespace.
        ns: String,
        /// Redis-style glob; all keys when absent.
        glob: Option<String>,
        /// Match with this regular expression instead of a glob.
        #[arg(long, value_name = "RE", conflicts_with = "glob")]
        regex: Option<String>,
    },
    /// Delete every key matching a pattern and print how many.
    DelPattern {
        /// Namespace.
        ns: String,
        /// Glob (or regular expression with --regex).
        pattern: String,
        /// Read PATTERN as a regular expression.
        #[arg(long)]
        regex: bool,
    },
    /// Give every key matching a pattern a new TTL and print how many changed.
    ExpirePattern {
        /// Namespace.
        ns: String,
        /// Glob (or regular expression with --regex).
        pattern: String,
        /// New time to live: 30s, 10m, 1h30m; a bare number is seconds.
        #[arg(value_parser = parse_duration, required_unless_present = "persist")]
        ttl: Option<Duration>,
        /// Remove the expiry of the matching keys instead.
        #[arg(long, conflicts_with = "ttl")]
        persist: bool,
        /// Read PATTERN as a regular expression.
        #[arg(long)]
        regex: bool,
    },
    /// Drop every entry of a namespace (only those matching --pattern; or of all namespaces
    /// with --all), or every file of a registered cache directory (--dir); says what was freed.
    Clear {
        /// Namespace to clear.
        #[arg(required_unless_present_any = ["all", "dir"])]
        ns: Option<String>,
        /// Clear every namespace.
        #[arg(long, conflicts_with_all = ["ns", "pattern", "dir"])]
        all: bool,
        /// Only the keys matching this glob (or regular expression with --regex).
        #[arg(long, value_name = "GLOB", requires = "ns")]
        pattern: Option<String>,
        /// Read --pattern as a regular expression.
        #[arg(long, requires = "pattern")]
        regex: bool,
        /// Delete every file of this registered cache directory instead (see `dir add`).
        #[arg(long, value_name = "PATH", conflicts_with = "ns", value_parser = dirs::path_parser())]
        dir: Option<PathBuf>,
        /// With --dir: delete nothing, say what would go.
        #[arg(long, conflicts_with_all = ["ns", "all"])]
        dry_run: bool,
    },
    /// Make the daemon re-read its configuration file.
    Reload,
    /// Stop the daemon gracefully.
    Shutdown,
    /// Encryption keys: which source, which key per namespace, rotation.
    Key {
        /// What to do with keys.
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Make the daemon write the cache (or part of it) to an encrypted dump file.
    Dump(DumpArgs),
    /// Make the daemon load a dump file back (merged into the cache unless --replace).
    Restore(RestoreArgs),
    /// Dump on a schedule: start, change, stop, status.
    Autodump {
        /// What to do with the schedule.
        #[command(subcommand)]
        command: AutodumpCommand,
    },
    /// Registered app cache files: add, edit, list, inspect, change, migrate keys.
    App {
        /// What to do with apps.
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Backups of registered apps: create, list, prune, verify, restore.
    Backup {
        /// What to do with backups.
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Disposable cache directories: add, list, remove, clear, trim.
    Dir {
        /// What to do with cache directories.
        #[command(subcommand)]
        command: DirCommand,
    },
    /// Say whether anything needs an operator; exit 1 while any app is stale or broken.
    Status,
    /// Measure throughput and latency, like redis-benchmark.
    Bench(BenchArgs),
    /// Memory and disk pressure: readings, thresholds, state, what was freed; `check` runs
    /// one check now.
    Pressure {
        /// `status` (the default) or `check`.
        #[command(subcommand)]
        command: Option<PressureCommand>,
    },
    /// Scheduled clears of namespaces (`clear_every` / `clear_at` in the config).
    Schedule {
        /// What to show.
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Stream changes as they happen (set, delete, expire, evict, clear, app backups,
    /// pressure actions), one line each (or JSON with --json), until interrupted.
    Watch(WatchArgs),
    /// Run a command only when no fresh result of it is cached, replaying its stdout,
    /// stderr and exit code exactly otherwise (e.g. `cachectl run --ttl 10m -- make list`).
    Run(RunArgs),
    /// Print a shell completion script to stdout (see docs/shell.md for where it goes).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages for cachectl and each subcommand (cachectl.1, cachectl-set.1, ...).
    Man {
        /// Directory to write them into (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Output formats of `cachectl stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    /// The table (the default).
    Table,
    /// JSON, as --json prints it.
    Json,
    /// The Prometheus text exposition format (version 0.0.4).
    Prometheus,
}

/// Subcommands of `cachectl ns`.
#[derive(Debug, Subcommand)]
pub enum NsCommand {
    /// List namespaces with their settings and usage.
    List,
}

/// Arguments of `cachectl set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Namespace.
    pub ns: String,
    /// Key.
    pub key: String,
    /// The value; read from stdin (binary-safe) when neither VALUE nor --file is given.
    #[arg(value_parser = clap::value_parser!(OsString))]
    pub value: Option<OsString>,
    /// Read the value from this file.
    #[arg(long, value_name = "F", conflicts_with = "value")]
    pub file: Option<PathBuf>,
    /// Time to live: 30s, 10m, 1h30m, 500ms; 0 = never expires [default: the namespace's].
    #[arg(long, value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// Only store if the key does not exist.
    #[arg(long, conflicts_with = "xx")]
    pub nx: bool,
    /// Only store if the key already exists.
    #[arg(long)]
    pub xx: bool,
}

#[cfg(test)]
mod tests;
