//! `autodump start | change | stop | status`: every one of them prints the schedule as the
//! daemon now holds it, with the last run's age and result and the time until the next.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use cachectl::{AutodumpInfo, PatternSyntax};

use super::{Ctx, Outcome};
use crate::cli::AutodumpCommand;
use crate::commands::pattern;
use crate::output::{aligned_rows, format_moment, format_span, print_json, print_text};

/// Runs one `autodump` subcommand.
pub async fn run(ctx: &Ctx, command: AutodumpCommand) -> Result<Outcome> {
    let client = &ctx.client;
    let info = match command {
        AutodumpCommand::Start(args) => {
            let pattern = pattern::select(args.select.pattern, args.select.regex);
            client.autodump_start(&args.to, args.every, args.select.ns.as_deref(), pattern).await?
        }
        AutodumpCommand::Change(args) => {
            client.autodump_change(args.every, args.to.as_deref()).await?
        }
        AutodumpCommand::Stop => client.autodump_stop().await?,
        AutodumpCommand::Status => client.autodump_status().await?,
    };
    if ctx.json {
        print_json(&info)?;
    } else {
        print_text(&status_text(&info, now_ms()))?;
    }
    Ok(Outcome::Success)
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// The schedule as lines: what is dumped where and how often, the last run, the last good
/// dump (the age an operator alerts on), and the next run.
pub fn status_text(info: &AutodumpInfo, now_ms: u64) -> String {
    let never = || "never".to_owned();
    let mut what = match (&info.every_ms, &info.path) {
        (Some(every), Some(path)) => format!("every {} to {path}", format_span(*every)),
        (None, Some(path)) => format!("to {path}"),
        _ => "not configured".to_owned(),
    };
    let mut filters = Vec::new();
    if let Some(ns) = &info.ns {
        filters.push(format!("namespace {ns}"));
    }
    if let Some(pattern) = &info.pattern {
        let syntax = match pattern.syntax {
            PatternSyntax::Glob => "keys",
            PatternSyntax::Regex => "keys matching",
        };
        filters.push(format!("{syntax} {}", pattern.pattern));
    }
    if !filters.is_empty() {
        what.push_str(&format!(" ({})", filters.join(", ")));
    }
    let state = if info.enabled { "enabled" } else { "disabled" };
    let last_run = info.last_run_unix_ms.map_or_else(never, |at| {
        let result = info.last_result.as_deref().unwrap_or("running");
        format!("{}: {result}", format_moment(at, now_ms))
    });
    let next_run = match info.next_run_unix_ms {
        Some(at) if info.enabled => format_moment(at, now_ms),
        _ => "-".to_owned(),
    };
    aligned_rows(&[
        ("auto-dump", format!("{state}, {what}")),
        ("last run", last_run),
        ("last good", info.last_ok_unix_ms.map_or_else(never, |at| format_moment(at, now_ms))),
        ("next run", next_run),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::KeyPattern;

    const NOW: u64 = 1_795_255_200_000;

    #[test]
    fn enabled_schedule_with_a_failed_last_run() {
        let info = AutodumpInfo {
            enabled: true,
            path: Some("/srv/d.cmdump".into()),
            every_ms: Some(300_000),
            ns: Some("sessions".into()),
            pattern: Some(KeyPattern::glob("user:*")),
            last_run_unix_ms: Some(NOW - 120_000),
            last_result: Some("storage: disk full".into()),
            last_ok_unix_ms: Some(NOW - 420_000),
            next_run_unix_ms: Some(NOW + 180_000),
        };
        let expected = "\
auto-dump  enabled, every 5m to /srv/d.cmdump (namespace sessions, keys user:*)
last run   2026-11-21T09:58:00Z (2m ago): storage: disk full
last good  2026-11-21T09:53:00Z (7m ago)
next run   2026-11-21T10:03:00Z (in 3m)
";
        assert_eq!(status_text(&info, NOW), expected);
    }

    #[test]
    fn never_configured() {
        let text = status_text(&AutodumpInfo::default(), NOW);
        let expected = "\
auto-dump  disabled, not configured
last run   never
last good  never
next run   -
";
        assert_eq!(text, expected);
    }
}
