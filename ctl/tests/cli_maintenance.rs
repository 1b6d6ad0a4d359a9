//! `cachectl key`, `dump`, `restore`, `autodump`, and the tier/layer/notice parts of `stats`,
//! `ns list` and `info`, against the mock daemon: text, `--json`, and exit codes.

mod common;

use common::run::{cachectl, cachectl_in, cachectl_on_terminal, json, shows_full_bar, text};

#[tokio::test]
async fn key_status_text_and_json() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["key", "status"], b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = "\
key source keyring (persistent), fingerprint 5e1f:9a02
NAMESPACE  TIER         KEY ID  ROTATION
archive    disk              1  -
sessions   memory+disk       3  3→4 45%
";
    assert_eq!(text(&out.stdout), expected);

    let out = cachectl(&mock.socket, &["--json", "key", "status"], b"").await;
    let value = json(&out);
    assert_eq!(value["fingerprint"], "5e1f:9a02");
    assert_eq!(value["namespaces"][1]["rotation"]["done"], 4500);
}

#[tokio::test]
async fn key_rotate_prints_a_summary_and_no_bar_off_a_terminal() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["key", "rotate"], b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "no progress bar when stderr is not a terminal");
    let expected = "\
NAMESPACE  KEY  RESEALED  CLEARED
archive    3→4       100        0
sessions   3→4       100        0
";
    assert_eq!(text(&out.stdout), expected);

    let out = cachectl(&mock.socket, &["--json", "key", "rotate", "web", "--clear"], b"").await;
    let value = json(&out);
    assert_eq!(value["namespaces"][0]["ns"], "web");
    assert_eq!(value["namespaces"][0]["cleared"], 100);

    let out = cachectl(&mock.socket, &["key", "rotate", "busy"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(text(&out.stderr), "error (busy): namespace \"busy\" is being rotated\n");
}

#[tokio::test]
async fn dump_resolves_the_path_and_reports() {
    let mock = common::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["dump", "out.cmdump", "--ns", "web", "--pattern", "user:*"];
    let out = cachectl_in(Some(dir.path()), &mock.socket, &args, b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let absolute = dir.path().join("out.cmdump");
    assert_eq!(
        text(&out.stdout),
        format!("dumped 3 entries (4.0 KiB) to {}\n", absolute.display())
    );

    let args = ["--json", "dump", "out.cmdump", "--regex", "^u"];
    let out = cachectl_in(Some(dir.path()), &mock.socket, &args, b"").await;
    let value = json(&out);
    assert_eq!(value["path"], absolute.display().to_string());
    assert_eq!((value["entries"].as_u64(), value["bytes"].as_u64()), (Some(3), Some(4096)));

    let out = cachectl(&mock.socket, &["dump", "/d/full.cmdump"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(text(&out.stderr), "error (storage): no space left on device (os error 28)\n");
}

#[tokio::test]
async fn restore_merges_by_default_and_replaces_on_request() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["restore", "/d/x"], b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "restored 3 entries into sessions (1 expired entry skipped)\n");
    let out =
        cachectl(&mock.socket, &["--json", "restore", "/d/x", "--ns", "web", "--replace"], b"")
            .await;
    let value = json(&out);
    assert_eq!(
        value,
        serde_json::json!({ "entries": 5, "skipped_expired": 1, "namespaces": ["web"] })
    );

    let out = cachectl(&mock.socket, &["restore", "/d/corrupt.cmdump"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).starts_with("error (corrupt): checksum mismatch"),
        "{}",
        text(&out.stderr)
    );

    let out = cachectl(&mock.socket, &["restore", "/d/x", "--merge", "--replace"], b"").await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn autodump_commands() {
    let mock = common::start();
    let s = &mock.socket;
    let out = cachectl(
        s,
        &[
            "autodump",
            "start",
            "--every",
            "10m",
            "--to",
            "/d/a.cmdump",
            "--ns",
            "web",
            "--pattern",
            "u*",
        ],
        b"",
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "auto-dump  enabled, every 10m to /d/a.cmdump (namespace web, keys u*)");
    assert!(lines[1].starts_with("last run   ") && lines[1].ends_with(" (2m ago): ok"), "{stdout}");
    assert!(lines[2].starts_with("last good  ") && lines[2].ends_with(" (2m ago)"), "{stdout}");
    assert!(lines[3].starts_with("next run   ") && lines[3].ends_with(" (in 3m)"), "{stdout}");

    let out = cachectl(s, &["--json", "autodump", "change", "--every", "5m"], b"").await;
    let value = json(&out);
    assert_eq!(
        (value["enabled"].as_bool(), value["every_ms"].as_u64()),
        (Some(true), Some(300_000))
    );

    let out = cachectl(s, &["autodump", "stop"], b"").await;
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("auto-dump  disabled, every 10m to /srv/d.cmdump\n"), "{stdout}");
    assert!(stdout.ends_with("next run   -\n"), "{stdout}");

    let out = cachectl(s, &["--json", "autodump", "status"], b"").await;
    assert_eq!(json(&out)["last_result"], "ok");

    let out = cachectl(s, &["autodump", "change"], b"").await;
    assert_eq!(out.status.code(), Some(2), "change needs --every or --to");
    let out = cachectl(s, &["autodump", "start", "--every", "0", "--to", "/d/a"], b"").await;
    assert_eq!(out.status.code(), Some(2), "a zero interval is a usage error");
}

#[tokio::test]
async fn stats_show_tiers_layers_and_corrupt() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["stats"], b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines[0].contains("TIER") && lines[0].contains("CORRUPT"), "{stdout}");
    assert!(lines[1].starts_with("archive    disk "), "{stdout}");
    assert!(lines[2].starts_with("sessions   memory+disk "), "{stdout}");
    assert!(lines[3].starts_with("  memory "), "{stdout}");
    assert!(lines[4].starts_with("  disk "), "{stdout}");
    assert!(lines[5].starts_with("TOTAL"), "{stdout}");

    let out = cachectl(&mock.socket, &["--json", "stats"], b"").await;
    let value = json(&out);
    assert_eq!(value["namespaces"][1]["layers"][1]["stats"]["corrupt"], 2);
    assert_eq!(value["namespaces"][0]["layers"], serde_json::json!([]));
    assert_eq!(value["total"]["corrupt"], 2);
}

#[tokio::test]
async fn ns_list_and_info_show_the_new_fields() {
    let mock = common::start();
    let out = cachectl(&mock.socket, &["ns", "list"], b"").await;
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE  TIER    DURABILITY"), "{stdout}");
    assert!(lines[1].starts_with("archive    disk    fsync "), "{stdout}");
    assert!(lines[2].starts_with("web        memory  -  "), "{stdout}");

    let out = cachectl(&mock.socket, &["info"], b"").await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(
            "NOTICE: ephemeral key: values on disk are unreadable after the daemon stops\n\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("\nkey source   ephemeral\n"), "{stdout}");

    let out = cachectl(&mock.socket, &["--json", "info"], b"").await;
    let value = json(&out);
    assert_eq!(value["key_source"], "ephemeral");
    assert_eq!(value["notices"].as_array().map(Vec::len), Some(1));
}

/// On a terminal, `key rotate` redraws an indicatif bar per namespace on stderr. Runs under `script`
/// (util-linux, Debian package bsdutils, installed by scripts/test) for a pseudo-terminal.
#[tokio::test]
async fn key_rotate_draws_a_bar_on_a_terminal() {
    let mock = common::start();
    let out = cachectl_on_terminal(&mock.socket, "key rotate").await;
    let screen = text(&out.stdout);
    // indicatif pads each frame to the terminal's width, so what follows a finished bar
    // (the next bar, the summary) starts on a line of its own.
    for ns in ["archive", "sessions"] {
        assert!(shows_full_bar(&screen, ns, "100/100 entries"), "{screen:?}");
    }
    assert!(screen.contains("\r\x1b[2K"), "frames are redrawn in place: {screen:?}");
    assert!(screen.ends_with("sessions   3→4       100        0\r\n"), "{screen:?}");
}
