//! Parsing tests of the `app`, `backup` and `status` commands: every documented form parses,
//! the exclusive choices are enforced, and the settings reach the wire form intact.

use cachectl::{AppSettings, AppStrategy};
use clap::Parser;

use super::{AppCommand, BackupCommand, Cli, Command};

/// A command line written as one string (no argument has a space).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn parse(args: &[&str]) -> Command {
    match Cli::try_parse_from(args) {
        Ok(cli) => cli.command,
        Err(err) => panic!("{args:?}: {err}"),
    }
}

#[test]
fn contract_forms_parse() {
    for args in [
        &["cachectl", "app", "add", "SD Runner", "--path", "cache.enc"][..],
        &["cachectl", "app", "add", "plain", "--path", "p.json", "--strategy", "none"],
        &["cachectl", "app", "edit", "sd", "--keep-last", "5"],
        &["cachectl", "app", "edit", "sd", "--backup-every", "0"],
        &["cachectl", "app", "edit", "sd", "--no-external-dir"],
        &["cachectl", "app", "edit", "sd", "--path", "new.enc", "--external-dir", "d"],
        &["cachectl", "app", "remove", "sd"],
        &["cachectl", "app", "remove", "sd", "--delete-backups"],
        &["cachectl", "app", "list"],
        &["cachectl", "--json", "app", "list"],
        &["cachectl", "app", "show", "sd"],
        &["cachectl", "app", "import-cache-manager"],
        &["cachectl", "app", "import-cache-manager", "--cache", "c.enc", "--backups", "b"],
        &["cachectl", "app", "inspect", "sd"],
        &["cachectl", "app", "inspect", "sd", "--pointer", "/a/0", "--show-values", "--depth", "3"],
        &["cachectl", "app", "set", "sd", "/settings/theme", "\"dark\""],
        &["cachectl", "app", "set", "sd", "/n", "42"],
        &["cachectl", "app", "set", "sd", "", "{}"],
        &["cachectl", "app", "migrate", "sd", "--new-keys"],
        &["cachectl", "app", "migrate", "sd", "--new-keys", "--strategy", "standard"],
        &["cachectl", "backup", "create", "sd"],
        &["cachectl", "backup", "create", "sd", "--pin", "--note", "before upgrade"],
        &["cachectl", "backup", "list", "sd"],
        &["cachectl", "backup", "prune", "sd"],
        &["cachectl", "backup", "prune", "sd", "--dry-run"],
        &["cachectl", "backup", "verify", "sd"],
        &["cachectl", "backup", "verify", "--all"],
        &["cachectl", "backup", "restore", "sd", "sd_20261121_101500.enc"],
        &["cachectl", "backup", "restore", "sd", "--latest"],
        &["cachectl", "status"],
        &["cachectl", "--json", "status"],
    ] {
        parse(args);
    }
    parse(&words(
        "cachectl app add sd --path /c.enc --service S --app-id sd_runner --strategy quantum \
         --backup-every 6h --keep-last 10 --keep-daily 7 --keep-weekly 4 --keep-monthly 12 \
         --stale-after 30d --external-dir /mnt/usb",
    ));
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &["cachectl", "app", "add", "sd"][..],
        &["cachectl", "app", "add", "sd", "--path", "c", "--strategy", "rot13"],
        &["cachectl", "app", "add", "sd", "--path", "c", "--backup-every", "often"],
        &["cachectl", "app", "add", "sd", "--path", "c", "--stale-after", "0"],
        &["cachectl", "app", "add", "sd", "--path", "c", "--keep-last", "-1"],
        &["cachectl", "app", "add", "sd", "--path", "c", "--no-external-dir"],
        &["cachectl", "app", "edit", "sd"],
        &["cachectl", "app", "edit", "sd", "--external-dir", "d", "--no-external-dir"],
        &["cachectl", "app", "remove"],
        &["cachectl", "app", "show"],
        &["cachectl", "app", "inspect", "sd", "--pointer", "settings"],
        &["cachectl", "app", "inspect", "sd", "--depth", "deep"],
        &["cachectl", "app", "set", "sd", "/theme", "dark"],
        &["cachectl", "app", "set", "sd", "theme", "\"dark\""],
        &["cachectl", "app", "set", "sd", "/theme"],
        &["cachectl", "app", "migrate", "sd"],
        &["cachectl", "app", "migrate", "sd", "--strategy", "quantum"],
        &["cachectl", "app", "migrate", "sd", "--new-keys", "--strategy", "none"],
        &["cachectl", "backup", "create"],
        &["cachectl", "backup", "verify"],
        &["cachectl", "backup", "verify", "sd", "--all"],
        &["cachectl", "backup", "restore", "sd"],
        &["cachectl", "backup", "restore", "sd", "b.enc", "--latest"],
        &["cachectl", "status", "sd"],
    ] {
        let err = Cli::try_parse_from(args).err();
        assert_eq!(err.map(|e| e.exit_code()), Some(2), "{args:?}");
    }
}

#[test]
fn add_settings_reach_the_wire_form() {
    let args = words(
        "cachectl app add sd --path /c.enc --strategy quantum --backup-every 6h --keep-last 10 \
         --keep-daily 7 --stale-after 30d --external-dir /mnt/usb",
    );
    let Command::App { command: AppCommand::Add(add) } = parse(&args) else {
        panic!("not app add");
    };
    let settings = add.to_settings().ok();
    let expected = AppSettings {
        path: Some("/c.enc".into()),
        strategy: Some(AppStrategy::Quantum),
        backup_every_ms: Some(6 * 3_600_000),
        keep_last: Some(10),
        keep_daily: Some(7),
        stale_after_ms: Some(30 * 86_400_000),
        external_dir: Some("/mnt/usb".into()),
        ..AppSettings::default()
    };
    assert_eq!(settings, Some(expected));
}

#[test]
fn edit_changes_only_what_is_given() {
    let edit = |extra: &[&str]| {
        let mut args = vec!["cachectl", "app", "edit", "sd"];
        args.extend_from_slice(extra);
        match parse(&args) {
            Command::App { command: AppCommand::Edit(edit) } => edit.to_settings().ok(),
            other => panic!("not app edit: {other:?}"),
        }
    };
    let off = AppSettings { backup_every_ms: Some(0), ..AppSettings::default() };
    assert_eq!(edit(&["--backup-every", "0"]), Some(off));
    let no_copy = AppSettings { external_dir: Some(String::new()), ..AppSettings::default() };
    assert_eq!(edit(&["--no-external-dir"]), Some(no_copy));
    let path = edit(&["--path", "rel/c.enc"]).and_then(|settings| settings.path);
    assert!(path.as_deref().is_some_and(|p| p.starts_with('/') && p.ends_with("/rel/c.enc")));
}

#[test]
fn exclusive_choices_land_where_expected() {
    match parse(&["cachectl", "backup", "verify", "--all"]) {
        Command::Backup { command: BackupCommand::Verify { app: None, all: true } } => {}
        other => panic!("{other:?}"),
    }
    match parse(&["cachectl", "backup", "restore", "sd", "--latest"]) {
        Command::Backup { command: BackupCommand::Restore { backup: None, latest: true, .. } } => {}
        other => panic!("{other:?}"),
    }
    match parse(&["cachectl", "app", "migrate", "sd", "--new-keys", "--strategy", "quantum"]) {
        Command::App { command: AppCommand::Migrate { strategy: Some(strategy), .. } } => {
            assert_eq!(AppStrategy::from(strategy), AppStrategy::Quantum);
        }
        other => panic!("{other:?}"),
    }
}
