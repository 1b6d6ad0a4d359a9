//! `cachectl status`, `app ...` and `backup ...` against the mock daemon: text, `--json`
//! (alone on stdout, nothing on stderr), progress lines off a terminal, and the exit codes
//! monitors rely on (status 1 while unhealthy, verify 4 on a damaged backup).

mod common;

use common::run::{cachectl, cachectl_in, cachectl_on_terminal, json, text};

#[tokio::test]
async fn status_exits_1_while_an_app_is_stale() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["status"], b"").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "notes: stale: last good backup is 40 days old\n");

    let out = cachectl(&mock.socket, &["--json", "status"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["healthy"], false);
    assert_eq!(text(&out.stderr), "");
}

#[tokio::test]
async fn app_list_shows_the_table_and_what_is_wrong() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["app", "list"], b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("NAME   PATH"), "{stdout}");
    assert!(lines[0].ends_with("BACKUPS  NEXT   STATE"), "{stdout}");
    assert!(lines[1].starts_with("notes  /srv/notes/cache.enc  standard"), "{stdout}");
    assert!(lines[1].ends_with("40d        4  -      stale"), "{stdout}");
    assert!(lines[2].ends_with(" 3h        4  in 3h  ok"), "{stdout}");
    assert_eq!(lines[3..], ["", "notes: stale: last good backup is 40 days old"]);

    let out = cachectl(&mock.socket, &["--json", "app", "list"], b"").await;
    assert_eq!(json(&out)["apps"][1]["name"], "sd");
    assert_eq!(text(&out.stderr), "");
}

#[tokio::test]
async fn app_add_sends_absolute_paths() {
    let mock = common::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "--json",
        "app",
        "add",
        "sd",
        "--path",
        "cache.enc",
        "--external-dir",
        "usb",
        "--backup-every",
        "6h",
        "--keep-last",
        "3",
    ];
    let out = cachectl_in(Some(dir.path()), &mock.socket, &args, b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let app = json(&out);
    let root = dir.path().display().to_string();
    assert_eq!(app["path"], format!("{root}/cache.enc"));
    assert_eq!(app["settings"]["external_dir"], format!("{root}/usb"));
    assert_eq!(app["settings"]["backup_every_ms"], 21_600_000);
    assert_eq!(app["settings"]["keep_last"], 3);

    let out = cachectl(&mock.socket, &["app", "edit", "sd", "--no-external-dir"], b"").await;
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("updated sd\nname "), "{stdout}");
    assert!(stdout.contains("\nexternal dir  -\n"), "{stdout}");
}

#[tokio::test]
async fn app_errors_and_small_answers() {
    let mock = common::start();
    let s = &mock.socket;
    let out = cachectl(s, &["app", "show", "missing"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(text(&out.stderr), "error (invalid_argument): no app named missing\n");

    let out = cachectl(s, &["app", "set", "sd", "/theme", "\"dark\""], b"").await;
    assert_eq!(text(&out.stdout), "changed /theme; the previous file is backup sd_before.enc\n");
    let out = cachectl(s, &["app", "set", "sd", "/theme", "dark"], b"").await;
    assert_eq!(out.status.code(), Some(2), "not JSON: a usage error, nothing sent");

    let out = cachectl(s, &["app", "inspect", "sd"], b"").await;
    assert_eq!(text(&out.stdout), "(root)   object  20 B  (1 item)\n  theme  string   6 B\n");

    let out = cachectl(s, &["app", "remove", "sd"], b"").await;
    assert_eq!(text(&out.stdout), "removed sd; its backups stay on disk\n");

    let out = cachectl(s, &["backup", "restore", "sd", "--latest"], b"").await;
    assert_eq!(
        text(&out.stdout),
        "sd: newest.enc is live now; the replaced file is saved as backup sd_saved.enc\n"
    );
    let out = cachectl(s, &["backup", "prune", "sd", "--dry-run"], b"").await;
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("would remove sd_1.enc (taken "), "{stdout}");
    assert!(stdout.ends_with("): older than the 10 kept by the rules\nwould keep 10 backups\n"));
    let out = cachectl(s, &["backup", "list", "sd"], b"").await;
    assert!(text(&out.stdout).contains("(will be pruned)"), "{}", text(&out.stdout));
}

#[tokio::test]
async fn backup_create_prints_progress_lines_off_a_terminal() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["backup", "create", "sd", "--pin"], b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "created sd_20261121_100000.enc (1.0 KiB, sha256 001122334455, pinned)\n"
    );
    assert_eq!(
        text(&out.stderr),
        "sd_20261121_100000.enc: 0% (0 B/1.0 KiB)\nsd_20261121_100000.enc: 100% (1.0 KiB/1.0 KiB)\n",
        "the first line and the last, the ones between throttled away"
    );

    let out = cachectl(&mock.socket, &["--json", "backup", "create", "sd"], b"").await;
    assert_eq!(json(&out)["name"], "sd_20261121_100000.enc");
    assert_eq!(text(&out.stderr), "", "--json prints nothing but the answer");

    let out = cachectl(&mock.socket, &["backup", "create", "full"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).ends_with("error (storage): no space left on device\n"));
}

#[tokio::test]
async fn backup_verify_exits_4_on_a_damaged_backup() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["backup", "verify", "sd"], b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "checked 2 backups, 0 bad\n");

    let out = cachectl(&mock.socket, &["backup", "verify", "--all"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        text(&out.stdout),
        "checked 3 backups, 1 bad\nBAD notes notes_1.enc: GCM tag mismatch\n"
    );
    assert!(text(&out.stderr).ends_with("verify: 100% (3/3 files)\n"), "{}", text(&out.stderr));

    let out = cachectl(&mock.socket, &["--json", "backup", "verify", "--all"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json(&out)["bad"][0]["backup"], "notes_1.enc");
    assert_eq!(text(&out.stderr), "");
}

#[tokio::test]
async fn migrate_and_import_report_what_they_did() {
    let mock = common::start();
    let args = ["app", "migrate", "sd", "--new-keys", "--strategy", "quantum"];
    let out = cachectl(&mock.socket, &args, b"").await;
    assert_eq!(text(&out.stdout), "sd: new quantum keys; 1 backup re-encrypted\n");
    let out = cachectl(&mock.socket, &["app", "import-cache-manager"], b"").await;
    assert_eq!(text(&out.stdout), "imported 1 app (sd) and 3 backups\n");
    assert!(text(&out.stderr).contains("import: 100% (2/2 steps)"), "{}", text(&out.stderr));
}

/// On a terminal, `backup create` draws an indicatif byte bar on stderr. Runs under `script`
/// (util-linux, Debian package bsdutils, installed by scripts/test) for a pseudo-terminal.
#[tokio::test]
async fn backup_create_draws_a_byte_bar_on_a_terminal() {
    let mock = common::start();
    let out = cachectl_on_terminal(&mock.socket, "backup create sd").await;
    let screen = text(&out.stdout);
    // The bar's width follows the pseudo-terminal's, so only its ends are compared.
    let full = screen.split('\r').any(|frame| {
        frame.contains("[#") && frame.contains("#] 1.00 KiB/1.00 KiB") && !frame.contains("#.")
    });
    assert!(full, "no full bar drawn: {screen:?}");
    assert!(screen.ends_with("(1.0 KiB, sha256 001122334455)\r\n"), "{screen:?}");
}
