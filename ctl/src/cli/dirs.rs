//! Arguments of `cachectl dir ...`: disposable cache directories the daemon trims to a size
//! and an age (oldest files first) and may clear under memory or disk pressure.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, Subcommand};

use crate::parse::parse_duration;

/// Subcommands of `cachectl dir`.
#[derive(Debug, Subcommand)]
pub enum DirCommand {
    /// Register a cache directory whose files the daemon may delete (again: change its limits).
    Add(DirAddArgs),
    /// List the registered directories: size, files, oldest file, limits, last trim.
    List,
    /// Forget a directory (its files stay).
    Remove {
        /// The directory.
        #[arg(value_parser = path_parser())]
        path: PathBuf,
    },
    /// Delete every file of a registered directory (never the directory itself).
    Clear {
        /// The directory.
        #[arg(value_parser = path_parser())]
        path: PathBuf,
        /// Delete nothing; say what would go.
        #[arg(long)]
        dry_run: bool,
    },
    /// Trim a registered directory (or every one) to its limits now, oldest files first.
    Trim {
        /// The directory; every registered one when absent.
        #[arg(value_parser = path_parser())]
        path: Option<PathBuf>,
        /// Delete nothing; say what would go.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Arguments of `cachectl dir add`.
#[derive(Debug, Args)]
pub struct DirAddArgs {
    /// The directory (symlinks are resolved once, now).
    #[arg(value_parser = path_parser())]
    pub path: PathBuf,
    /// Keep it under this size, deleting the oldest files first: 500M, 2G, 1.5GiB, 10GB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Delete files not modified for this long: 12h, 30d, 2weeks.
    #[arg(long, value_name = "AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
    /// Empty it entirely when the host runs short of memory or disk.
    #[arg(long)]
    pub clear_on_pressure: bool,
    /// Order of clearing under pressure: lower numbers are cleared first.
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
}

/// A path argument, kept as the OS gave it (checked for UTF-8 before it is sent).
pub fn path_parser() -> impl TypedValueParser<Value = PathBuf> {
    clap::builder::OsStringValueParser::new().map(PathBuf::from)
}

/// Parses a size: bytes, or a number with a unit. `K`, `M`, `G`, `T` and `KiB` ... `TiB`
/// are powers of 1024 (as `du -h` prints them); `KB`, `MB`, `GB`, `TB` powers of 1000.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let bad = || format!("invalid size `{text}` (examples: 4096, 500M, 2G, 1.5GiB, 10GB)");
    let value: f64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    let bytes = value * factor as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_du_and_disks_write_them() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("500 M"), Ok(500 << 20));
        assert_eq!(parse_size("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_size("1k"), Ok(1024));
        for bad in ["", "G", "2X", "-1G", "1.2.3M"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
