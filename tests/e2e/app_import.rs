//! `app import-cache-manager`: the Python Cache Manager's encrypted app list (app id
//! `cache_manager`, made here by the independent Python checker) and its backups with
//! `{name}_backups.json` metadata become registered apps with their history.

use std::fs;

use cachemgr_e2e::apps::{python_checker, AppsEnv};
use cachemgr_e2e::vectors_dir;
use serde_json::{json, Value};

#[test]
fn the_cache_managers_apps_and_backups_are_adopted() {
    let env = AppsEnv::start("");
    // The Cache Manager's own keys, added to the key store as the Python module would.
    let cm_keys = env.daemon.dir.path().join("cm-keys.json");
    python_checker(&[
        "keygen",
        "--type",
        "standard",
        "--app",
        "cache_manager",
        "--out",
        &cm_keys.display().to_string(),
    ]);
    let mut keys: Value =
        serde_json::from_slice(&fs::read(&env.keys).expect("keys")).expect("json");
    let generated: Value =
        serde_json::from_slice(&fs::read(&cm_keys).expect("cm keys")).expect("json");
    for (user, value) in generated["entries"].as_object().expect("entries") {
        keys["entries"][user] = value.clone();
    }
    fs::write(&env.keys, serde_json::to_vec(&keys).expect("json")).expect("keys");

    let muse = env.place("muse.enc", "muse/app_info_cache.enc");
    let sd = env.place("sd_runner.enc", "sd/app_info_cache.enc");
    let cm_backups = env.home.join("cm-backups");
    fs::create_dir_all(cm_backups.join("muse")).expect("backup dir");
    fs::copy(
        vectors_dir().join("muse-flag0.enc"),
        cm_backups.join("muse/muse_20260101_120000.enc"),
    )
    .expect("b1");
    fs::copy(vectors_dir().join("muse.enc"), cm_backups.join("muse/muse_20260102_120000.enc"))
        .expect("b2");
    let torn = fs::read(vectors_dir().join("muse.enc")).expect("muse");
    fs::write(cm_backups.join("muse/muse_20260103_120000.enc"), &torn[..torn.len() / 2])
        .expect("torn");
    fs::write(
        cm_backups.join("muse/muse_backups.json"),
        serde_json::to_vec(&json!([
            {"filename": "muse_20260101_120000.enc", "timestamp": "2026-01-01T12:00:00", "note": "before the big update"},
            {"filename": "muse_20260102_120000.enc", "timestamp": "2026-01-02T09:30:00", "pinned": true}
        ])).expect("json"),
    )
    .expect("metadata");
    let list = json!({
        "applications": [
            {"name": "muse", "service_name": "MyPersonalApplicationsService", "app_identifier": "muse",
             "cache_location": muse.display().to_string(), "encryption_strategy": "standard"},
            {"name": "SD Runner", "service_name": "MyPersonalApplicationsService", "app_identifier": "sd_runner",
             "cache_location": sd.display().to_string(), "encryption_strategy": "oqs"},
            {"name": "gone", "service_name": "MyPersonalApplicationsService", "app_identifier": "gone",
             "cache_location": env.home.join("gone.enc").display().to_string(), "encryption_strategy": "unknown"}
        ],
        "external_backup_dir": cm_backups.display().to_string()
    });
    let plain = env.home.join("cm.json");
    fs::write(&plain, serde_json::to_vec(&list).expect("json")).expect("plain");
    let cache = env.home.join("cache_manager/app_info_cache.enc");
    fs::create_dir_all(cache.parent().expect("parent")).expect("dir");
    python_checker(&[
        "encrypt",
        "--keys",
        &env.keys.display().to_string(),
        "--app",
        "cache_manager",
        &plain.display().to_string(),
        &cache.display().to_string(),
    ]);

    let report = env.daemon.ctl_json(&[
        "app",
        "import-cache-manager",
        "--cache",
        &cache.display().to_string(),
    ]);
    let apps: Vec<&str> =
        report["apps"].as_array().expect("apps").iter().filter_map(Value::as_str).collect();
    assert_eq!(apps, ["muse", "SD Runner"], "{report}");
    assert_eq!(report["backups"], 2, "{report}");
    let skipped: Vec<&str> =
        report["skipped"].as_array().expect("skipped").iter().filter_map(Value::as_str).collect();
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("muse_20260103_120000.enc") && s.contains("does not decrypt")),
        "{skipped:?}"
    );
    assert!(skipped.iter().any(|s| s.starts_with("gone:")), "{skipped:?}");

    let backups = env.daemon.ctl_json(&["backup", "list", "muse"]);
    let list = backups["backups"].as_array().expect("backups");
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|b| b["source"] == "imported"));
    let first = list
        .iter()
        .find(|b| b["name"] == "muse_20260101_120000.enc")
        .expect("adopted under its name");
    assert_eq!(first["note"], "before the big update");
    assert_eq!(first["pinned"], false);
    // The metadata's time and pin are adopted (the time is local: within a day of UTC noon).
    let noon_utc = 1_767_268_800_000_i64;
    let created = first["created_unix_ms"].as_i64().expect("time");
    assert!((created - noon_utc).abs() <= 14 * 3_600_000, "{first}");
    let second = list.iter().find(|b| b["name"] == "muse_20260102_120000.enc").expect("second");
    assert_eq!(second["pinned"], true, "{second}");
    let second_created = second["created_unix_ms"].as_i64().expect("time");
    assert_eq!(
        second_created - created,
        21 * 3_600_000 + 30 * 60_000,
        "from the metadata, not the name"
    );
    assert_eq!(
        env.daemon.ctl_json(&["app", "show", "SD Runner"])["strategy"],
        "standard",
        "the keyring's type, not the label"
    );
    // The originals stay where they were.
    assert!(cm_backups.join("muse/muse_20260101_120000.enc").exists());
    // Importing again adds nothing twice.
    let again = env.daemon.ctl_json(&[
        "app",
        "import-cache-manager",
        "--cache",
        &cache.display().to_string(),
    ]);
    assert_eq!(again["backups"], 0, "{again}");

    // `--backups DIR` reads the backups from another directory (one folder per app).
    let moved = env.home.join("cm-backups-moved");
    fs::create_dir_all(moved.join("sd_runner")).expect("dir");
    fs::copy(
        vectors_dir().join("sd_runner-flag0.enc"),
        moved.join("sd_runner/sd_runner_20260105_120000.enc"),
    )
    .expect("sd backup");
    let cache_arg = cache.display().to_string();
    let moved_arg = moved.display().to_string();
    let args = ["app", "import-cache-manager", "--cache", &cache_arg, "--backups", &moved_arg];
    let from_moved = env.daemon.ctl_json(&args);
    assert_eq!(from_moved["backups"], 1, "{from_moved}");
    let sd_backups = env.daemon.ctl_json(&["backup", "list", "SD Runner"]);
    assert_eq!(sd_backups["backups"][0]["name"], "sd_runner_20260105_120000.enc", "{sd_backups}");
    assert_eq!(env.daemon.ctl_json(&args)["backups"], 0, "nothing adopted twice");
}
