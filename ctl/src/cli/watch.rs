//! Arguments of `cachectl watch`.

use clap::Args;

/// `cachectl watch [NS] [--pattern GLOB] [--kind K]... [--values] [--queue N]`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Only this namespace (default: every namespace you may read, plus your apps' backups
    /// and pressure actions).
    pub ns: Option<String>,
    /// Only keys matching this glob (events without a key, like `clear`, always show).
    #[arg(long, value_name = "GLOB")]
    pub pattern: Option<String>,
    /// Read --pattern as a regular expression.
    #[arg(long, requires = "pattern")]
    pub regex: bool,
    /// Only these kinds (repeat, or separate with commas): set, delete, expire, evict, clear,
    /// backup_made, backup_failed, pressure.
    #[arg(long = "kind", value_name = "KIND", value_delimiter = ',',
          value_parser = parse_kind)]
    pub kinds: Vec<cachectl::EventKind>,
    /// Show the values of `set` events (up to 64 KiB each).
    #[arg(long)]
    pub values: bool,
    /// How many events may wait for this watcher in the daemon before newer ones are dropped
    /// (and counted) [default: the daemon's subscriber_queue].
    #[arg(long, value_name = "N")]
    pub queue: Option<u32>,
}

fn parse_kind(name: &str) -> Result<cachectl::EventKind, String> {
    cachectl::EventKind::parse(name).ok_or_else(|| {
        let known: Vec<&str> = cachectl::EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        format!("unknown event kind {name:?}; one of {}", known.join(", "))
    })
}
