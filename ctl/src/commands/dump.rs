//! Dump files: `dump` (the daemon writes the file) and `restore` (the daemon loads it back).
//! Paths are resolved against the current directory here, since the daemon has its own.

use anyhow::Result;
use cachectl::{DumpReport, RestoreMode, RestoreReport};

use super::{Ctx, Outcome};
use crate::cli::{DumpArgs, RestoreArgs};
use crate::commands::pattern;
use crate::output::{format_bytes, print_json, print_text};

/// `dump FILE [--ns NS] [--pattern GLOB | --regex RE]`.
pub async fn dump(ctx: &Ctx, args: DumpArgs) -> Result<Outcome> {
    let pattern = pattern::select(args.select.pattern, args.select.regex);
    let report = ctx.client.dump(&args.file, args.select.ns.as_deref(), pattern).await?;
    if ctx.json {
        print_json(&report)?;
    } else {
        print_text(&dumped_text(&report))?;
    }
    Ok(Outcome::Success)
}

/// `dumped 1204 entries (2.4 MiB) to /path`.
pub fn dumped_text(report: &DumpReport) -> String {
    format!(
        "dumped {} ({}) to {}\n",
        entries(report.entries),
        format_bytes(report.bytes),
        report.path
    )
}

/// `restore FILE [--ns NS] [--replace | --merge]`; merging is the default.
pub async fn restore(ctx: &Ctx, args: RestoreArgs) -> Result<Outcome> {
    let mode = if args.replace { RestoreMode::Replace } else { RestoreMode::Merge };
    let report = ctx.client.restore(&args.file, args.ns.as_deref(), mode).await?;
    if ctx.json {
        print_json(&report)?;
    } else {
        print_text(&restored_text(&report))?;
    }
    Ok(Outcome::Success)
}

/// `restored 2479 entries into archive, sessions (9 expired entries skipped)`.
pub fn restored_text(report: &RestoreReport) -> String {
    let into = if report.namespaces.is_empty() {
        String::new()
    } else {
        format!(" into {}", report.namespaces.join(", "))
    };
    let skipped = match report.skipped_expired {
        0 => String::new(),
        n => format!(" ({} expired {} skipped)", n, if n == 1 { "entry" } else { "entries" }),
    };
    format!("restored {}{into}{skipped}\n", entries(report.entries))
}

fn entries(n: u64) -> String {
    format!("{n} {}", if n == 1 { "entry" } else { "entries" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let dumped = DumpReport { path: "/d/x".into(), entries: 1, bytes: 2048 };
        assert_eq!(dumped_text(&dumped), "dumped 1 entry (2.0 KiB) to /d/x\n");
        let restored = RestoreReport {
            entries: 2479,
            skipped_expired: 9,
            namespaces: vec!["archive".into(), "sessions".into()],
        };
        assert_eq!(
            restored_text(&restored),
            "restored 2479 entries into archive, sessions (9 expired entries skipped)\n"
        );
        let empty = RestoreReport { entries: 0, skipped_expired: 0, namespaces: vec![] };
        assert_eq!(restored_text(&empty), "restored 0 entries\n");
    }
}
