//! Registered app caches through the real binaries: register the shared vectors, back them up,
//! restore, inspect, modify (checked by the independent Python checker), and the bad inputs
//! `app add` must refuse with a clear error.

use std::fs;
use std::os::unix::fs::symlink;

use cachemgr_e2e::apps::{vector_json, AppsEnv};

fn app_add(env: &AppsEnv, args: &[&str]) -> std::process::Output {
    let mut all = vec!["app", "add"];
    all.extend_from_slice(args);
    env.daemon.ctl(&all)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The daemon's refusal in `out`: exit 4 and the line `error (<kind>): <message>` (after any
/// progress lines); returns the kind and the message.
fn refusal(out: &std::process::Output) -> (String, String) {
    assert_eq!(out.status.code(), Some(4), "the daemon refused: {}", stderr(out));
    let text = stderr(out);
    let line = text.lines().find_map(|l| l.strip_prefix("error ("));
    let (kind, message) = line.and_then(|l| l.split_once("): ")).unwrap_or_else(|| {
        panic!("no `error (<kind>): ` line: {text}");
    });
    (kind.to_owned(), message.to_owned())
}

/// Asserts `out` is the daemon's refusal of `kind` whose message names every one of `named`.
fn refused(out: &std::process::Output, kind: &str, named: &[&str]) {
    let (got, message) = refusal(out);
    assert_eq!(got, kind, "{message}");
    for value in named {
        assert!(message.contains(value), "names {value:?}: {message}");
    }
}

#[test]
fn vectors_register_back_up_and_restore() {
    let env = AppsEnv::start("");
    let live = env.place("sd_runner.enc", "sd-runner/app_info_cache.enc");
    let path = live.display().to_string();
    // The strategy is read from the keyring (sd_runner__encryptor_type).
    let info =
        env.daemon.ctl_json(&["app", "add", "sd-runner", "--path", &path, "--app-id", "sd_runner"]);
    assert_eq!(info["strategy"], "standard", "{info}");
    assert_eq!(info["health"], "ok", "{info}");

    let backup = env.daemon.ctl_json(&["backup", "create", "sd-runner", "--note", "first"]);
    let name = backup["name"].as_str().expect("backup name").to_owned();
    assert!(name.starts_with("sd-runner_") && name.ends_with(".enc"), "{name}");
    assert_eq!(backup["verified"], true);
    assert_eq!(backup["source"], "manual");
    let stored = env.backup_dir("sd-runner").join(&name);
    assert_eq!(fs::read(&stored).expect("backup file"), fs::read(&live).expect("live"));
    // A second backup within the same second does not collide.
    let second = env.daemon.ctl_json(&["backup", "create", "sd-runner", "--pin"]);
    assert_ne!(second["name"], backup["name"]);
    assert_eq!(second["pinned"], true);

    // The live file is damaged; restore --latest brings back a file Python opens, and the
    // damaged one is quarantined, not lost.
    fs::write(&live, b"\x00\x00\x00\x78garbage").expect("damage live");
    let restored = env.daemon.ctl_json(&["backup", "restore", "sd-runner", "--latest"]);
    assert!(restored["quarantined"].is_string(), "{restored}");
    let quarantined = restored["quarantined"].as_str().expect("path");
    assert_eq!(fs::read(quarantined).expect("quarantine"), b"\x00\x00\x00\x78garbage");
    let plain = env.python_decrypt("sd_runner", &live).expect("python opens the restored file");
    let value: serde_json::Value = serde_json::from_str(&plain).expect("json");
    assert_eq!(value, vector_json("sd_runner.json"));

    // Restoring over a good file first saves it as a before-restore backup.
    let again = env.daemon.ctl_json(&["backup", "restore", "sd-runner", &name]);
    assert!(again["saved_as"].is_string(), "{again}");
    let list = env.daemon.ctl_json(&["backup", "list", "sd-runner"]);
    let sources: Vec<&str> = list["backups"]
        .as_array()
        .expect("backups")
        .iter()
        .filter_map(|b| b["source"].as_str())
        .collect();
    assert!(sources.contains(&"before_restore"), "{list}");
    assert_eq!(env.daemon.ctl_json(&["status"])["healthy"], true);
}

#[test]
fn inspect_shows_structure_and_set_changes_a_value_python_reads() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.daemon.ctl_ok(&["app", "add", "muse", "--path", &live.display().to_string()]);

    let inspected = env.daemon.ctl_json(&["app", "inspect", "muse", "--depth", "1"]);
    let nodes = inspected["nodes"].as_array().expect("nodes");
    assert_eq!(nodes[0]["pointer"], "");
    assert!(nodes.iter().any(|n| n["pointer"] == "/info" && n["kind"] == "object"), "{inspected}");
    assert!(nodes.iter().all(|n| n.get("value").is_none()), "values shown without --show-values");
    let leaf = env.daemon.ctl_json(&[
        "app",
        "inspect",
        "muse",
        "--pointer",
        "/info/setting_0",
        "--show-values",
    ]);
    assert_eq!(leaf["nodes"][0]["value"], "\"value 0 \\u00e9 \\u2713\"", "{leaf}");

    let out = env.daemon.ctl_json(&["app", "set", "muse", "/info/setting_0", "\"changed ✓\""]);
    assert!(out["backup"].is_string(), "{out}");
    let plain = env.python_decrypt("muse", &live).expect("python opens the modified file");
    assert!(
        plain.contains(r#""setting_0": "changed \u2713""#),
        "written like json.dumps: {}",
        &plain[..200.min(plain.len())]
    );
    let mut expected = vector_json("muse.json");
    expected["info"]["setting_0"] = serde_json::json!("changed ✓");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&plain).expect("json"), expected);

    // Refused by cachectl before anything is sent (a usage error).
    let bad = env.daemon.ctl(&["app", "set", "muse", "/info/setting_0", "not json"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).to_lowercase().contains("json"), "{}", stderr(&bad));
    let missing = env.daemon.ctl(&["app", "set", "muse", "/nope/deeper", "1"]);
    refused(&missing, "invalid_argument", &["\"/nope\""]);
}

#[test]
fn app_add_refuses_bad_input_clearly() {
    let env = AppsEnv::start("");
    let good = env.place("sd_runner.enc", "sd/app_info_cache.enc");
    let good = good.display().to_string();

    let dir = env.home.join("sd").display().to_string();
    let out = app_add(&env, &["x", "--path", &dir, "--app-id", "sd_runner"]);
    refused(&out, "invalid_argument", &[&dir]);

    let outside = env.daemon.dir.path().join("outside.enc");
    fs::copy(&good, &outside).expect("copy");
    let link = env.home.join("link.enc");
    symlink(&outside, &link).expect("symlink");
    let link = link.display().to_string();
    let out = app_add(&env, &["x", "--path", &link, "--app-id", "sd_runner"]);
    // A symlink is never followed, wherever it points. Kept on wording: that the path is a
    // symbolic link is the reason, and no kind or field says so.
    refused(&out, "invalid_argument", &[&link, "symbolic link"]);

    let empty = env.home.join("empty.enc");
    fs::write(&empty, b"").expect("empty");
    let empty = empty.display().to_string();
    let out = app_add(&env, &["x", "--path", &empty, "--app-id", "sd_runner"]);
    refused(&out, "invalid_argument", &[&empty, "(0 bytes)"]);

    let huge = env.home.join("huge.enc");
    fs::write(&huge, [0x80, 0, 0, 0, 1, 2, 3]).expect("huge prefix");
    let out = app_add(&env, &["x", "--path", &huge.display().to_string(), "--app-id", "sd_runner"]);
    // The 2 GB length prefix is named.
    refused(&out, "corrupt", &[&(0x8000_0000u64).to_string()]);

    // sd_runner's file with muse's keys: the tag does not verify.
    let out = app_add(&env, &["x", "--path", &good, "--app-id", "muse"]);
    refused(&out, "corrupt", &[&good]);

    let out = app_add(&env, &["x", "--path", &good, "--strategy", "rot13"]);
    assert_eq!(out.status.code(), Some(2), "unknown strategy is a usage error");
    assert!(
        stderr(&out).contains("rot13") && stderr(&out).contains("standard"),
        "names the bad value and the good ones: {}",
        stderr(&out)
    );

    let out = app_add(&env, &["x", "--path", &good, "--app-id", "nobody"]);
    // Names the missing keyring entry.
    refused(&out, "unavailable", &["nobody__encryptor_type"]);

    env.daemon.ctl_ok(&["app", "add", "sd", "--path", &good, "--app-id", "sd_runner"]);
    let other = env.place("sd_runner.enc", "sd2/app_info_cache.enc");
    let out =
        app_add(&env, &["sd", "--path", &other.display().to_string(), "--app-id", "sd_runner"]);
    refused(&out, "invalid_argument", &["\"sd\""]);
    // Backup folders take the Cache Manager's form of the name: `SD` would list, prune and
    // restore the backups of `sd`, and `CacheMgrd` those of the daemon's own state.
    let third = env.place("sd_runner.enc", "sd3/app_info_cache.enc").display().to_string();
    for clash in ["SD", "CacheMgrd"] {
        let out = app_add(&env, &[clash, "--path", &third, "--app-id", "sd_runner"]);
        // Names the folder both would share.
        let folder = format!("folder \"{}\"", clash.to_lowercase());
        refused(&out, "invalid_argument", &[&format!("\"{clash}\""), &folder]);
    }
    let out = app_add(&env, &["../evil", "--path", &good]);
    refused(&out, "invalid_argument", &["\"../evil\""]);

    // Nothing was lost: the one good app is there and backs up.
    let list = env.daemon.ctl_json(&["app", "list"]);
    let names: Vec<&str> =
        list["apps"].as_array().expect("apps").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["cachemgrd", "sd"]);
    env.daemon.ctl_ok(&["backup", "create", "sd"]);
}

#[test]
fn quantum_and_plain_files_register() {
    let env = AppsEnv::start("");
    // A quantum key pair made by the independent Python implementation (kyber-py), and a
    // file it encrypted: the daemon must open both.
    let keys = env.keys.clone();
    let mut all: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&keys).expect("keys")).expect("json");
    let quantum_keys = env.daemon.dir.path().join("quantum-keys.json");
    cachemgr_e2e::apps::python_checker(&[
        "keygen",
        "--type",
        "quantum",
        "--app",
        "weidr",
        "--out",
        &quantum_keys.display().to_string(),
    ]);
    let generated: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&quantum_keys).expect("q")).expect("json");
    for (user, value) in generated["entries"].as_object().expect("entries") {
        all["entries"][user] = value.clone();
    }
    fs::write(&keys, serde_json::to_vec(&all).expect("json")).expect("write keys");
    let plain = env.home.join("weidr.json");
    fs::write(&plain, br#"{"images": [1, 2, 3]}"#).expect("plain");
    let live = env.home.join("weidr/app_info_cache.enc");
    fs::create_dir_all(live.parent().expect("parent")).expect("dir");
    cachemgr_e2e::apps::python_checker(&[
        "encrypt",
        "--keys",
        &keys.display().to_string(),
        "--app",
        "weidr",
        &plain.display().to_string(),
        &live.display().to_string(),
    ]);
    let info = env.daemon.ctl_json(&["app", "add", "Weidr", "--path", &live.display().to_string()]);
    assert_eq!(info["strategy"], "quantum", "{info}");
    assert_eq!(info["app_id"], "weidr");
    let backup = env.daemon.ctl_json(&["backup", "create", "Weidr"]);
    assert!(backup["name"].as_str().expect("name").starts_with("weidr_"), "{backup}");

    let json = env.home.join("app_info_cache.json");
    fs::write(&json, br#"{"fallback": true}"#).expect("json");
    let info = env.daemon.ctl_json(&[
        "app",
        "add",
        "fallback",
        "--path",
        &json.display().to_string(),
        "--strategy",
        "none",
    ]);
    assert_eq!(info["strategy"], "none");
    fs::write(&json, b"{torn").expect("torn");
    let out = env.daemon.ctl(&["backup", "create", "fallback"]);
    refused(&out, "corrupt", &[&json.display().to_string()]);
}

#[test]
fn list_table_external_copies_scheduled_verification_and_remove() {
    let env = AppsEnv::start("verify_every = \"2s\"");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    let external = env.home.join("usb-drive");
    env.daemon.ctl_ok(&[
        "app",
        "add",
        "muse",
        "--path",
        &live.display().to_string(),
        "--external-dir",
        &external.display().to_string(),
        "--backup-every",
        "6h",
    ]);
    let backup = env.daemon.ctl_json(&["backup", "create", "muse"]);
    let name = backup["name"].as_str().expect("name");
    let copy = external.join(name);
    assert_eq!(fs::read(&copy).expect("external copy"), fs::read(&live).expect("live"));
    assert_eq!(backup["external_path"], copy.display().to_string());

    let table = env.daemon.ctl_ok(&["app", "list"]);
    for header in ["NAME", "STRATEGY", "BACKUPS", "NEXT", "STATE"] {
        assert!(table.contains(header), "{table}");
    }
    assert!(
        table.lines().any(|l| l.starts_with("muse") && l.contains("standard") && l.contains("ok")),
        "{table}"
    );

    // The re-verification runs on its own and shows in the app's record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let show = env.daemon.ctl_json(&["app", "show", "muse"]);
        if show["last_verify_unix_ms"].is_u64() {
            assert_eq!(show["last_verify_bad"], 0);
            assert!(show["next_backup_unix_ms"].is_u64(), "{show}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no scheduled verification: {show}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    env.daemon.ctl_ok(&["app", "remove", "muse"]);
    assert!(env.backup_dir("muse").join(name).exists(), "backups stay unless asked");
    let out = env.daemon.ctl(&["backup", "list", "muse"]);
    refused(&out, "invalid_argument", &["\"muse\""]);
    let out = env.daemon.ctl(&["app", "remove", "cachemgrd"]);
    refused(&out, "invalid_argument", &["\"cachemgrd\""]);
}

#[test]
fn a_symlink_swapped_in_after_add_is_refused() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &[]);
    env.daemon.ctl_ok(&["backup", "create", "muse"]);
    // A file the app's keys open, but outside the allowed directories.
    let outside = env.daemon.dir.path().join("outside.enc");
    fs::copy(cachemgr_e2e::vectors_dir().join("muse-flag0.enc"), &outside).expect("outside");
    fs::remove_file(&live).expect("remove");
    symlink(&outside, &live).expect("symlink");
    for args in [
        &["backup", "create", "muse"][..],
        &["app", "inspect", "muse"],
        &["backup", "restore", "muse", "--latest"],
        &["app", "migrate", "muse", "--new-keys"],
    ] {
        let out = env.daemon.ctl(args);
        // Kept on wording, as above: the symbolic link is the reason.
        refused(&out, "invalid_argument", &[&live.display().to_string(), "symbolic link"]);
    }
    let list = env.daemon.ctl_json(&["backup", "list", "muse"]);
    assert_eq!(list["backups"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(fs::read_link(&live).expect("still the symlink"), outside);
    let show = env.daemon.ctl_json(&["app", "show", "muse"]);
    assert_eq!(show["health"], "file_unreadable", "{show}");
}

#[test]
fn app_edit_moves_the_file_checks_the_strategy_and_sets_the_external_dir() {
    let env = AppsEnv::start("");
    let first = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &first, &[]);
    let moved = env.place("muse-flag0.enc", "muse-new/app_info_cache.enc");
    env.daemon.ctl_ok(&["app", "edit", "muse", "--path", &moved.display().to_string()]);
    let made = env.daemon.ctl_json(&["backup", "create", "muse"]);
    let file = env.backup_dir("muse").join(made["name"].as_str().expect("name"));
    assert_eq!(fs::read(&file).expect("backup"), fs::read(&moved).expect("moved"));

    // A strategy the file does not open with is refused; nothing changes.
    let out = env.daemon.ctl(&["app", "edit", "muse", "--strategy", "none"]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.daemon.ctl_json(&["app", "show", "muse"])["strategy"], "standard");

    let ext = env.home.join("external");
    env.daemon.ctl_ok(&["app", "edit", "muse", "--external-dir", &ext.display().to_string()]);
    let copied = env.daemon.ctl_json(&["backup", "create", "muse", "--pin"]);
    let name = copied["name"].as_str().expect("name");
    assert_eq!(fs::read(ext.join(name)).expect("external copy"), fs::read(&moved).expect("live"));
    env.daemon.ctl_ok(&["app", "edit", "muse", "--no-external-dir"]);
    let local = env.daemon.ctl_json(&["backup", "create", "muse", "--pin"]);
    assert!(!ext.join(local["name"].as_str().expect("name")).exists(), "no copy any more");
    assert_eq!(fs::read_dir(&ext).expect("ext").count(), 1);
}
