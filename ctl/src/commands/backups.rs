//! `backup create | list | prune | verify | restore`: an app's stored backups on demand, with
//! their texts (pure, tested here). `verify` exits 4 when a backup is damaged, so a monitor
//! running it can alert.

use anyhow::Result;
use cachectl::{BackupInfo, BackupList, BackupSource, PruneReport, RestoreAppReport, VerifyReport};

use super::app_text::count;
use super::{Ctx, Outcome};
use crate::cli::BackupCommand;
use crate::output::{format_bytes, print_json, print_text, Align, Table};
use crate::progress::Reporter;
use crate::when::Local;

/// Hex digits of the SHA-256 shown after a backup is created: enough to compare by eye.
const SHA_PREFIX: usize = 12;

/// Runs one `backup` subcommand.
pub async fn run(ctx: &Ctx, command: BackupCommand) -> Result<Outcome> {
    let client = &ctx.client;
    match command {
        BackupCommand::Create { app, pin, note } => {
            let mut reporter = Reporter::new(ctx.json);
            let result =
                client.backup_create(&app, pin, note.as_deref(), |p| reporter.update(p)).await;
            reporter.finish();
            let backup = result?;
            print(ctx, &backup, || created_text(&backup))?;
        }
        BackupCommand::List { app: name } => {
            let list = client.backup_list(&name).await?;
            print(ctx, &list, || list_text(&list, &Local::current()))?;
        }
        BackupCommand::Prune { app, dry_run } => {
            let report = client.backup_prune(&app, dry_run).await?;
            print(ctx, &report, || pruned_text(&report, &Local::current()))?;
        }
        BackupCommand::Verify { app, all: _ } => {
            let mut reporter = Reporter::new(ctx.json);
            let result = client.backup_verify(app.as_deref(), |p| reporter.update(p)).await;
            reporter.finish();
            let report = result?;
            print(ctx, &report, || verified_text(&report))?;
            if !report.bad.is_empty() {
                return Ok(Outcome::BadBackups);
            }
        }
        BackupCommand::Restore { app, backup, latest: _ } => {
            let report = client.backup_restore(&app, backup.as_deref()).await?;
            print(ctx, &report, || restored_text(&report))?;
        }
    }
    Ok(Outcome::Success)
}

/// Prints the answer as JSON, or its text.
fn print<T: serde::Serialize>(ctx: &Ctx, answer: &T, text: impl FnOnce() -> String) -> Result<()> {
    if ctx.json {
        print_json(answer)?;
    } else {
        print_text(&text())?;
    }
    Ok(())
}

/// What made a backup, in words.
pub fn source_name(source: BackupSource) -> &'static str {
    match source {
        BackupSource::Manual => "manual",
        BackupSource::Schedule => "schedule",
        BackupSource::Change => "change",
        BackupSource::BeforeRestore => "before restore",
        BackupSource::BeforeModify => "before set",
        BackupSource::BeforeMigrate => "before migrate",
        BackupSource::Imported => "imported",
    }
}

/// `backup create`: the new backup's name, size and SHA-256 prefix, and where else it went.
pub fn created_text(backup: &BackupInfo) -> String {
    let sha = backup.sha256.get(..SHA_PREFIX).unwrap_or(&backup.sha256);
    let pinned = if backup.pinned { ", pinned" } else { "" };
    let mut text =
        format!("created {} ({}, sha256 {sha}{pinned})\n", backup.name, format_bytes(backup.size));
    if let Some(external) = &backup.external_path {
        text.push_str(&format!("copied to {external}\n"));
    }
    text
}

/// `backup list`: one row per backup, newest first, with why the rules keep it.
pub fn list_text(list: &BackupList, local: &Local) -> String {
    if list.backups.is_empty() {
        return format!("{} has no backups\n", list.app);
    }
    let mut table = Table::new(&[
        "NAME",
        "TAKEN",
        "SIZE",
        "SOURCE",
        "PINNED",
        "VERIFIED",
        "KEPT BECAUSE",
        "NOTE",
    ]);
    for column in [1, 3, 4, 5, 6, 7] {
        table = table.align(column, Align::Left);
    }
    for backup in &list.backups {
        let kept = if backup.kept_because.is_empty() {
            "(will be pruned)".to_owned()
        } else {
            backup.kept_because.join(", ")
        };
        table.push(vec![
            backup.name.clone(),
            local.minute(backup.created_unix_ms),
            format_bytes(backup.size),
            source_name(backup.source).to_owned(),
            if backup.pinned { "yes" } else { "-" }.to_owned(),
            if backup.verified { "yes" } else { "NO" }.to_owned(),
            kept,
            backup.note.clone().unwrap_or_default(),
        ]);
    }
    table.render()
}

/// `backup prune`: each backup removed (or that would be) and why, then how many stay.
pub fn pruned_text(report: &PruneReport, local: &Local) -> String {
    let verb = if report.dry_run { "would remove" } else { "removed" };
    let mut text = String::new();
    for backup in &report.removed {
        let why = if backup.kept_because.is_empty() {
            "no rule keeps it".to_owned()
        } else {
            backup.kept_because.join(", ")
        };
        let taken = local.minute(backup.created_unix_ms);
        text.push_str(&format!("{verb} {} (taken {taken}): {why}\n", backup.name));
    }
    if report.removed.is_empty() {
        text.push_str("nothing to remove\n");
    }
    let kept = if report.dry_run { "would keep" } else { "kept" };
    text.push_str(&format!("{kept} {}\n", count(report.kept, "backup")));
    text
}

/// `backup verify`: the count, then one line per damaged backup.
pub fn verified_text(report: &VerifyReport) -> String {
    let mut text =
        format!("checked {}, {} bad\n", count(report.checked, "backup"), report.bad.len());
    for bad in &report.bad {
        text.push_str(&format!("BAD {} {}: {}\n", bad.app, bad.backup, bad.error));
    }
    text
}

/// `backup restore`: which backup is live now and what the replaced file became.
pub fn restored_text(report: &RestoreAppReport) -> String {
    let replaced = match (&report.saved_as, &report.quarantined) {
        (Some(saved), _) => format!("the replaced file is saved as backup {saved}"),
        (None, Some(path)) => {
            format!("the replaced file did not decrypt and was quarantined at {path}")
        }
        (None, None) => "there was no file to replace".to_owned(),
    };
    format!("{}: {} is live now; {replaced}\n", report.app, report.backup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::BadBackup;
    use jiff::tz::TimeZone;

    const NOW: u64 = 1_795_255_200_000; // 2026-11-21T10:00:00Z

    fn local() -> Local {
        Local { now_ms: NOW, zone: TimeZone::UTC, home: None }
    }

    fn backup(name: &str, ago_h: u64, kept: &[&str]) -> BackupInfo {
        BackupInfo {
            name: name.into(),
            path: format!("/b/{name}"),
            created_unix_ms: NOW - ago_h * 3_600_000,
            size: 2048,
            sha256: "3f2a9c1b0d4e5f60718293a4b5c6d7e8f9".into(),
            verified: true,
            pinned: false,
            note: None,
            source: BackupSource::Schedule,
            external_path: None,
            kept_because: kept.iter().map(|k| (*k).to_owned()).collect(),
            quarantined: None,
        }
    }

    #[test]
    fn created() {
        let mut made = backup("sd_20261121_100000.enc", 0, &[]);
        assert_eq!(
            created_text(&made),
            "created sd_20261121_100000.enc (2.0 KiB, sha256 3f2a9c1b0d4e)\n"
        );
        made.pinned = true;
        made.external_path = Some("/mnt/usb/sd_20261121_100000.enc".into());
        assert_eq!(
            created_text(&made),
            "created sd_20261121_100000.enc (2.0 KiB, sha256 3f2a9c1b0d4e, pinned)\n\
             copied to /mnt/usb/sd_20261121_100000.enc\n"
        );
    }

    #[test]
    fn list_rows() {
        let mut pinned = backup("sd_2.enc", 1, &["pinned", "last 10"]);
        pinned.pinned = true;
        pinned.source = BackupSource::Manual;
        pinned.note = Some("before upgrade".into());
        let mut old = backup("sd_1.enc", 30, &[]);
        old.verified = false;
        let list = BackupList { app: "sd".into(), backups: vec![pinned, old] };
        assert_eq!(
            list_text(&list, &local()),
            "NAME      TAKEN                SIZE  SOURCE    PINNED  VERIFIED  KEPT BECAUSE      NOTE\n\
             sd_2.enc  2026-11-21 09:00  2.0 KiB  manual    yes     yes       pinned, last 10   before upgrade\n\
             sd_1.enc  2026-11-20 04:00  2.0 KiB  schedule  -       NO        (will be pruned)\n"
        );
        let empty = BackupList { app: "sd".into(), backups: vec![] };
        assert_eq!(list_text(&empty, &local()), "sd has no backups\n");
    }

    #[test]
    fn pruned() {
        let report = PruneReport {
            app: "sd".into(),
            dry_run: true,
            removed: vec![backup("sd_1.enc", 30, &["older than the 10 kept by the rules"])],
            kept: 10,
        };
        assert_eq!(
            pruned_text(&report, &local()),
            "would remove sd_1.enc (taken 2026-11-20 04:00): older than the 10 kept by the rules\n\
             would keep 10 backups\n"
        );
        let nothing = PruneReport { app: "sd".into(), dry_run: false, removed: vec![], kept: 1 };
        assert_eq!(pruned_text(&nothing, &local()), "nothing to remove\nkept 1 backup\n");
    }

    #[test]
    fn verified_and_restored() {
        let report = VerifyReport {
            checked: 12,
            bad: vec![BadBackup {
                app: "sd".into(),
                backup: "sd_1.enc".into(),
                error: "GCM tag mismatch".into(),
            }],
        };
        assert_eq!(
            verified_text(&report),
            "checked 12 backups, 1 bad\nBAD sd sd_1.enc: GCM tag mismatch\n"
        );
        let restored = RestoreAppReport {
            app: "sd".into(),
            backup: "sd_2.enc".into(),
            saved_as: Some("sd_3.enc".into()),
            quarantined: None,
        };
        assert_eq!(
            restored_text(&restored),
            "sd: sd_2.enc is live now; the replaced file is saved as backup sd_3.enc\n"
        );
        let quarantined = RestoreAppReport {
            saved_as: None,
            quarantined: Some("/b/quarantine/x.enc".into()),
            ..restored
        };
        assert!(restored_text(&quarantined).ends_with("quarantined at /b/quarantine/x.enc\n"));
    }
}
