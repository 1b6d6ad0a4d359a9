//! The text of the `app` and `status` commands. Pure functions of the answer and a [`Local`]
//! (clock, zone, home), so each layout is unit-tested here.

use cachectl::{AppHealth, AppInfo, AppSettings, DaemonStatus, ImportReport, MigrateReport};

use crate::output::{aligned_rows, Align, Table};
use crate::when::{format_age, format_interval, format_relative, Local};

/// A health state as people say it (`file missing`, not `file_missing`).
pub fn health_name(health: AppHealth) -> String {
    health.as_str().replace('_', " ")
}

/// `3 apps`, `1 app`.
pub fn count(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `app list`: one row per app, then one line per app that needs attention and why.
pub fn list_text(apps: &[AppInfo], local: &Local) -> String {
    if apps.is_empty() {
        return "no apps registered (add one with `cachectl app add NAME --path FILE`)\n"
            .to_owned();
    }
    let mut table = Table::new(&[
        "NAME",
        "PATH",
        "STRATEGY",
        "LAST GOOD BACKUP",
        "AGE",
        "BACKUPS",
        "NEXT",
        "STATE",
    ])
    .align(1, Align::Left)
    .align(2, Align::Left)
    .align(3, Align::Left)
    .align(6, Align::Left)
    .align(7, Align::Left);
    for app in apps {
        let (last_good, age) = match app.last_good_backup_unix_ms {
            Some(at) => (local.minute(at), format_age(local.now_ms.saturating_sub(at))),
            None => ("never".to_owned(), "-".to_owned()),
        };
        table.push(vec![
            app.name.clone(),
            local.path(&app.path),
            app.strategy.as_str().to_owned(),
            last_good,
            age,
            app.backup_count.to_string(),
            next_backup(app, local.now_ms),
            health_name(app.health),
        ]);
    }
    let mut text = table.render();
    let troubled: Vec<&AppInfo> = apps.iter().filter(|app| app.health != AppHealth::Ok).collect();
    if !troubled.is_empty() {
        text.push('\n');
        for app in troubled {
            text.push_str(&trouble_line(app));
        }
    }
    text
}

/// `in 5h`, `due` when the time has come, `-` without a schedule.
fn next_backup(app: &AppInfo, now_ms: u64) -> String {
    match app.next_backup_unix_ms {
        Some(at) if at > now_ms => format_relative(at, now_ms),
        Some(_) => "due".to_owned(),
        None => "-".to_owned(),
    }
}

/// `sd runner: stale: last good backup is 31 days old`.
fn trouble_line(app: &AppInfo) -> String {
    match &app.health_detail {
        Some(detail) => format!("{}: {}: {detail}\n", app.name, health_name(app.health)),
        None => format!("{}: {}\n", app.name, health_name(app.health)),
    }
}

/// `last 10, daily 7, monthly 12`: the keep rules in force (`none` when all are off).
pub fn keep_rules(settings: &AppSettings) -> String {
    let rules = [
        ("last", settings.keep_last),
        ("daily", settings.keep_daily),
        ("weekly", settings.keep_weekly),
        ("monthly", settings.keep_monthly),
    ];
    let on: Vec<String> = rules
        .iter()
        .filter_map(|(name, n)| n.filter(|n| *n > 0).map(|n| format!("{name} {n}")))
        .collect();
    if on.is_empty() {
        "none (every backup is pruned unless pinned)".to_owned()
    } else {
        on.join(", ")
    }
}

/// `app show` (and the result of `app add` / `app edit`): key: value lines.
pub fn show_text(app: &AppInfo, local: &Local) -> String {
    let settings = &app.settings;
    let dash = || "-".to_owned();
    let every = match settings.backup_every_ms {
        Some(ms) if ms > 0 => format!("every {}", format_interval(ms)),
        _ => "off (backups when the file changes, and on demand)".to_owned(),
    };
    let health = match &app.health_detail {
        Some(detail) => format!("{}: {detail}", health_name(app.health)),
        None => health_name(app.health),
    };
    let last_verify = app.last_verify_unix_ms.map_or_else(
        || "never".to_owned(),
        |at| format!("{}, {} bad", local.moment(at), app.last_verify_bad),
    );
    let name = if app.builtin { format!("{} (built in)", app.name) } else { app.name.clone() };
    let rows = [
        ("name", name),
        ("path", app.path.clone()),
        ("strategy", app.strategy.as_str().to_owned()),
        ("service", app.service.clone()),
        ("app id", app.app_id.clone()),
        ("backups", every),
        ("keep", keep_rules(settings)),
        ("stale after", settings.stale_after_ms.map_or_else(dash, format_interval)),
        (
            "external dir",
            settings.external_dir.clone().filter(|d| !d.is_empty()).unwrap_or_else(dash),
        ),
        ("backup dir", app.backup_dir.clone()),
        ("health", health),
        (
            "last good",
            app.last_good_backup_unix_ms.map_or_else(|| "never".to_owned(), |at| local.moment(at)),
        ),
        ("stored", count(app.backup_count, "backup")),
        ("next backup", app.next_backup_unix_ms.map_or_else(dash, |at| local.moment(at))),
        ("last verify", last_verify),
        ("bad reads", app.bad_reads.to_string()),
        ("last error", app.last_error.clone().unwrap_or_else(dash)),
        ("owner uid", app.owner_uid.to_string()),
    ];
    aligned_rows(&rows)
}

/// `app import-cache-manager`: what was registered and adopted, then what was skipped.
pub fn imported_text(report: &ImportReport) -> String {
    let apps = if report.apps.is_empty() {
        "no apps".to_owned()
    } else {
        format!("{} ({})", count(report.apps.len() as u64, "app"), report.apps.join(", "))
    };
    let mut text = format!("imported {apps} and {}\n", count(report.backups, "backup"));
    for skipped in &report.skipped {
        text.push_str(&format!("skipped: {skipped}\n"));
    }
    text
}

/// `app migrate`: the encryption now and how many backups follow it.
pub fn migrated_text(report: &MigrateReport) -> String {
    format!(
        "{}: new {} keys; {} re-encrypted\n",
        report.app,
        report.strategy.as_str(),
        count(report.backups, "backup")
    )
}

/// `status`: `ok (3 apps)` when healthy, else one line per problem; notices after either.
pub fn status_text(status: &DaemonStatus) -> String {
    let mut text = if status.healthy {
        format!("ok ({})\n", count(status.apps, "app"))
    } else if status.problems.is_empty() {
        format!("not healthy ({})\n", count(status.apps, "app"))
    } else {
        status.problems.iter().map(|problem| format!("{problem}\n")).collect()
    };
    if let Some(redis) = &status.redis {
        let invalidations = if redis.invalidations_live { "live" } else { "not received" };
        text.push_str(&format!(
            "redis: {} breaker {}, invalidations {invalidations}, {} degraded request(s), {} refused, opened {} time(s)\n",
            redis.url, redis.breaker, redis.degraded, redis.refused, redis.times_opened
        ));
    }
    for notice in &status.notices {
        text.push_str(&format!("NOTICE: {notice}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::AppStrategy;
    use jiff::tz::TimeZone;

    const NOW: u64 = 1_795_255_200_000; // 2026-11-21T10:00:00Z
    const HOUR: u64 = 3_600_000;

    fn local() -> Local {
        Local { now_ms: NOW, zone: TimeZone::UTC, home: Some("/home/ana".into()) }
    }

    pub(super) fn app(name: &str, health: AppHealth) -> AppInfo {
        AppInfo {
            name: name.into(),
            safe_name: name.replace(' ', "_"),
            path: format!("/home/ana/.config/{name}/cache.enc"),
            service: "MyPersonalApplicationsService".into(),
            app_id: name.replace(' ', "_"),
            strategy: AppStrategy::Quantum,
            settings: AppSettings {
                backup_every_ms: Some(6 * HOUR),
                keep_last: Some(10),
                keep_daily: Some(7),
                keep_weekly: Some(0),
                keep_monthly: Some(0),
                stale_after_ms: Some(30 * 24 * HOUR),
                ..AppSettings::default()
            },
            backup_dir: format!("/var/lib/cachemgr/backups/{name}"),
            builtin: false,
            owner_uid: 1000,
            health,
            health_detail: None,
            last_good_backup_unix_ms: Some(NOW - 3 * HOUR),
            backup_count: 12,
            next_backup_unix_ms: Some(NOW + 3 * HOUR),
            last_verify_unix_ms: None,
            last_verify_bad: 0,
            bad_reads: 0,
            last_error: None,
        }
    }

    #[test]
    fn list_rows_then_troubles() {
        let mut stale = app("notes", AppHealth::Stale);
        stale.health_detail = Some("last good backup is 40 days old".into());
        stale.last_good_backup_unix_ms = Some(NOW - 40 * 24 * HOUR);
        stale.next_backup_unix_ms = None;
        let mut missing = app("sd", AppHealth::FileMissing);
        missing.last_good_backup_unix_ms = None;
        missing.next_backup_unix_ms = Some(NOW - HOUR);
        let text = list_text(&[app("diary", AppHealth::Ok), stale, missing], &local());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "NAME   PATH                       STRATEGY  LAST GOOD BACKUP  AGE  BACKUPS  NEXT   STATE",
                "diary  ~/.config/diary/cache.enc  quantum   2026-11-21 07:00   3h       12  in 3h  ok",
                "notes  ~/.config/notes/cache.enc  quantum   2026-10-12 10:00  40d       12  -      stale",
                "sd     ~/.config/sd/cache.enc     quantum   never               -       12  due    file missing",
                "",
                "notes: stale: last good backup is 40 days old",
                "sd: file missing",
            ]
        );
        assert!(list_text(&[], &local()).starts_with("no apps registered"));
    }

    #[test]
    fn show_lists_settings_and_health() {
        let mut shown = app("diary", AppHealth::BackupDamaged);
        shown.health_detail = Some("1 backup failed verification".into());
        shown.last_verify_unix_ms = Some(NOW - HOUR);
        shown.last_verify_bad = 1;
        shown.settings.external_dir = Some("/mnt/usb".into());
        let text = show_text(&shown, &local());
        for line in [
            "name          diary",
            "backups       every 6h",
            "keep          last 10, daily 7",
            "stale after   30d",
            "external dir  /mnt/usb",
            "health        backup damaged: 1 backup failed verification",
            "last good     2026-11-21 07:00 (3h ago)",
            "stored        12 backups",
            "next backup   2026-11-21 13:00 (in 3h)",
            "last verify   2026-11-21 09:00 (1h ago), 1 bad",
            "bad reads     0",
            "last error    -",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing from\n{text}");
        }
        shown.settings = AppSettings { backup_every_ms: Some(0), ..AppSettings::default() };
        let text = show_text(&shown, &local());
        assert!(text.contains("backups       off"), "{text}");
        assert!(text.contains("keep          none"), "{text}");
    }

    #[test]
    fn summaries() {
        let report = ImportReport {
            apps: vec!["diary".into(), "sd".into()],
            backups: 1,
            skipped: vec!["notes: no keys in the keyring".into()],
        };
        assert_eq!(
            imported_text(&report),
            "imported 2 apps (diary, sd) and 1 backup\nskipped: notes: no keys in the keyring\n"
        );
        let migrated =
            MigrateReport { app: "sd".into(), strategy: AppStrategy::Quantum, backups: 4 };
        assert_eq!(migrated_text(&migrated), "sd: new quantum keys; 4 backups re-encrypted\n");
    }

    #[test]
    fn status_lines() {
        let mut status = DaemonStatus {
            healthy: true,
            apps: 1,
            problems: vec![],
            notices: vec![],
            redis: None,
            jobs: vec![],
        };
        assert_eq!(status_text(&status), "ok (1 app)\n");
        status.healthy = false;
        status.problems = vec!["notes: stale (40d)".into(), "sd: file missing".into()];
        status.notices = vec!["ephemeral key".into()];
        assert_eq!(
            status_text(&status),
            "notes: stale (40d)\nsd: file missing\nNOTICE: ephemeral key\n"
        );
    }
}
