//! The `clear` variants that are not a plain namespace: `clear NS --pattern GLOB` (the keys
//! matching a pattern) and `clear --dir PATH` (the files of a registered cache directory).
//! Each says what it freed.

use std::path::Path;

use anyhow::Result;
use cachectl::{DirsFreedReport, KeyPattern};
use serde_json::json;

use super::{Ctx, Outcome};
use crate::output::{format_bytes, print_json, print_text};

/// `clear NS --pattern GLOB [--regex]`: `cleared 12 entries (3.4 KiB)`.
pub async fn pattern(ctx: &Ctx, ns: &str, pattern: KeyPattern) -> Result<Outcome> {
    let (entries, bytes) = ctx.client.delete_pattern_freed(ns, pattern).await?;
    if ctx.json {
        print_json(&json!({ "entries": entries, "bytes": bytes }))?;
    } else {
        let noun = if entries == 1 { "entry" } else { "entries" };
        let size = bytes.map(|b| format!(" ({})", format_bytes(b))).unwrap_or_default();
        print_text(&format!("cleared {entries} {noun}{size}\n"))?;
    }
    Ok(Outcome::Success)
}

/// `clear --dir PATH [--dry-run]` (also `dir clear`): `cleared 41 files (2.1 MiB) from /path`.
pub async fn dir(ctx: &Ctx, path: &Path, dry_run: bool) -> Result<Outcome> {
    let report = ctx.client.dir_clear(path, dry_run).await?;
    print_freed(ctx, &report, "cleared")
}

/// Prints what a clear or trim freed: JSON as reported, or one line per directory.
pub fn print_freed(ctx: &Ctx, report: &DirsFreedReport, verb: &str) -> Result<Outcome> {
    if ctx.json {
        print_json(report)?;
    } else {
        print_text(&freed_text(report, verb))?;
    }
    Ok(Outcome::Success)
}

/// `cleared 41 files (2.1 MiB) from /path` per directory (`would clear ...` on a dry run),
/// plus a total when there are several.
pub fn freed_text(report: &DirsFreedReport, verb: &str) -> String {
    let verb = if report.dry_run {
        let base = match verb {
            "cleared" => "clear",
            "trimmed" => "trim",
            other => other,
        };
        format!("would {base}")
    } else {
        verb.to_owned()
    };
    let files = |n: u64| if n == 1 { "1 file".to_owned() } else { format!("{n} files") };
    let mut text = String::new();
    for dir in &report.dirs {
        text.push_str(&format!(
            "{verb} {} ({}) from {}",
            files(dir.files),
            format_bytes(dir.bytes),
            dir.path
        ));
        if let Some(failed) = dir.failed {
            text.push_str(&format!("; {} could not be deleted", files(failed)));
        }
        text.push('\n');
    }
    if report.dirs.len() != 1 {
        let total =
            format!("{verb} {} ({}) in total", files(report.files), format_bytes(report.bytes));
        text.push_str(&format!("{total} from {} directories\n", report.dirs.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::DirFreed;

    #[test]
    fn freed_lines_name_files_bytes_and_the_directory() {
        let mut report = DirsFreedReport {
            dry_run: false,
            files: 41,
            bytes: 2_202_009,
            dirs: vec![DirFreed { path: "/c".into(), files: 41, bytes: 2_202_009, failed: None }],
        };
        assert_eq!(freed_text(&report, "cleared"), "cleared 41 files (2.1 MiB) from /c\n");
        report.dry_run = true;
        assert_eq!(freed_text(&report, "trimmed"), "would trim 41 files (2.1 MiB) from /c\n");
        assert_eq!(freed_text(&report, "cleared"), "would clear 41 files (2.1 MiB) from /c\n");
        report.dirs.clear();
        report.files = 0;
        report.bytes = 0;
        report.dry_run = false;
        assert_eq!(
            freed_text(&report, "trimmed"),
            "trimmed 0 files (0 B) in total from 0 directories\n"
        );
    }
}
