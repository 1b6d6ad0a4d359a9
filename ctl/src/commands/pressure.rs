//! `pressure [status | check]` and `schedule list`: the pressure monitor's readings and what
//! it freed, and the scheduled clears.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use cachectl::{ClearScheduleInfo, PressureInfo, TriggerState};

use super::{Ctx, Outcome};
use crate::cli::{PressureCommand, ScheduleCommand};
use crate::output::{
    aligned_rows, format_bytes, format_moment, format_span, print_json, print_text,
};

/// Runs `pressure` (status by default) or `pressure check`.
pub async fn pressure(ctx: &Ctx, command: Option<PressureCommand>) -> Result<Outcome> {
    let info = match command.unwrap_or(PressureCommand::Status) {
        PressureCommand::Status => ctx.client.pressure_status().await?,
        PressureCommand::Check => ctx.client.pressure_check().await?,
    };
    if ctx.json {
        print_json(&info)?;
    } else {
        print_text(&pressure_text(&info, now_ms()))?;
    }
    Ok(Outcome::Success)
}

/// Runs `schedule list`.
pub async fn schedule(ctx: &Ctx, command: ScheduleCommand) -> Result<Outcome> {
    let ScheduleCommand::List = command;
    let rows = ctx.client.schedule_list().await?;
    if ctx.json {
        print_json(&rows)?;
    } else {
        print_text(&schedule_text(&rows, now_ms()))?;
    }
    Ok(Outcome::Success)
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

fn state(state: TriggerState) -> &'static str {
    match state {
        TriggerState::Armed => "armed",
        TriggerState::Triggered => "triggered (re-arms below the low mark)",
    }
}

fn used(used: u64, total: u64, percent: f64) -> String {
    format!("{} of {} used ({percent:.1}%)", format_bytes(used), format_bytes(total))
}

/// The state as text: monitor, memory, each file system, then the last actions.
pub fn pressure_text(info: &PressureInfo, now_ms: u64) -> String {
    let m = &info.memory;
    let mut memory = used(m.used_bytes, m.total_bytes, m.used_percent);
    if let Some(limit) = m.cgroup_limit_bytes {
        memory.push_str(&format!(", cgroup limit {}", format_bytes(limit)));
    }
    let monitor = format!(
        "{}, every {}, {} checks, last {}",
        if info.enabled { "enabled" } else { "disabled" },
        format_span(info.check_every_ms),
        info.checks,
        info.last_check_unix_ms.map_or_else(|| "never".to_owned(), |at| format_moment(at, now_ms)),
    );
    let mut rows = vec![
        ("monitor", monitor),
        ("memory", memory),
        ("  marks", format!("act at {}%, re-arm below {}%: {}", m.high, m.low, state(m.state))),
    ];
    for fs in &info.disk.filesystems {
        rows.push((
            "disk",
            format!(
                "{} {} ({})",
                fs.mount,
                used(fs.used_bytes, fs.total_bytes, fs.used_percent),
                fs.paths.join(", ")
            ),
        ));
    }
    let d = &info.disk;
    rows.push((
        "  marks",
        format!("act at {}%, re-arm below {}%: {}", d.high, d.low, state(d.state)),
    ));
    let mut text = aligned_rows(&rows);
    if info.actions.is_empty() {
        text.push_str("no action taken yet\n");
        return text;
    }
    text.push_str("last actions, oldest first:\n");
    for a in &info.actions {
        let what = match &a.ns {
            Some(ns) => format!("{} {ns}", a.stage),
            None => a.stage.clone(),
        };
        text.push_str(&format!(
            "  {}  {} at {:.1}%: {what}: {} entries, {}, {} files\n",
            format_moment(a.at_unix_ms, now_ms),
            a.trigger,
            a.used_percent,
            a.entries,
            format_bytes(a.bytes),
            a.files
        ));
    }
    text
}

/// The schedules as a table.
pub fn schedule_text(rows: &[ClearScheduleInfo], now_ms: u64) -> String {
    if rows.is_empty() {
        return "no namespace has a clear schedule (clear_every / clear_at)\n".to_owned();
    }
    let mut text = String::new();
    for row in rows {
        let last = match (row.last_run_unix_ms, &row.last_result) {
            (Some(at), Some(result)) => format!("{}: {result}", format_moment(at, now_ms)),
            (Some(at), None) => format_moment(at, now_ms),
            _ => "never".to_owned(),
        };
        text.push_str(&aligned_rows(&[
            ("namespace", row.ns.clone()),
            ("every", format_span(row.every_ms)),
            ("at", row.at.clone().unwrap_or_else(|| "-".to_owned())),
            ("last run", last),
            ("next run", format_moment(row.next_run_unix_ms, now_ms)),
        ]));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::{DiskPressure, DiskUsage, MemoryPressure, PressureAction};

    const NOW: u64 = 1_795_255_200_000;

    #[test]
    fn pressure_text_shows_readings_marks_state_and_what_was_freed() {
        let info = PressureInfo {
            enabled: true,
            check_every_ms: 5_000,
            last_check_unix_ms: Some(NOW - 2_000),
            checks: 7,
            memory: MemoryPressure {
                used_bytes: 3 << 30,
                total_bytes: 4 << 30,
                used_percent: 75.0,
                cgroup_limit_bytes: Some(4 << 30),
                high: 70.0,
                low: 60.0,
                state: TriggerState::Triggered,
            },
            disk: DiskPressure {
                filesystems: vec![DiskUsage {
                    mount: "/".into(),
                    paths: vec!["/var/lib/cachemgr".into()],
                    used_bytes: 1 << 30,
                    total_bytes: 4 << 30,
                    used_percent: 25.0,
                }],
                high: 90.0,
                low: 80.0,
                state: TriggerState::Armed,
            },
            actions: vec![PressureAction {
                at_unix_ms: NOW - 2_000,
                trigger: "memory".into(),
                stage: "clear_namespace".into(),
                ns: Some("thumbs".into()),
                used_percent: 75.0,
                entries: 3,
                bytes: 2048,
                files: 0,
            }],
        };
        let expected = "\
monitor  enabled, every 5s, 7 checks, last 2026-11-21T09:59:58Z (2s ago)
memory   3.0 GiB of 4.0 GiB used (75.0%), cgroup limit 4.0 GiB
  marks  act at 70%, re-arm below 60%: triggered (re-arms below the low mark)
disk     / 1.0 GiB of 4.0 GiB used (25.0%) (/var/lib/cachemgr)
  marks  act at 90%, re-arm below 80%: armed
last actions, oldest first:
  2026-11-21T09:59:58Z (2s ago)  memory at 75.0%: clear_namespace thumbs: 3 entries, 2.0 KiB, 0 files
";
        assert_eq!(pressure_text(&info, NOW), expected);
    }

    #[test]
    fn schedule_text_lists_each_namespace() {
        let rows = [ClearScheduleInfo {
            ns: "nightly".into(),
            every_ms: 86_400_000,
            at: Some("03:00".into()),
            last_run_unix_ms: None,
            last_result: None,
            next_run_unix_ms: NOW + 3_600_000,
        }];
        let text = schedule_text(&rows, NOW);
        assert!(text.contains("at         03:00"), "{text}");
        assert!(text.contains("last run   never"), "{text}");
        assert!(text.contains("next run   2026-11-21T11:00:00Z (in 1h)"), "{text}");
        assert!(schedule_text(&[], NOW).contains("no namespace"));
    }
}
