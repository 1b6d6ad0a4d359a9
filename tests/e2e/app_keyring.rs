//! App keys in a real Secret Service (gnome-keyring under dbus-run-session), written by the
//! Python `keyring` package exactly as the apps write them: the daemon registers and backs up
//! with them, names a missing entry, and `app migrate` stores new keys that Python reads back
//! and that open the re-encrypted file in the independent checker.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cachemgr_e2e::apps::{python_decrypt_with, vector_json, SERVICE};
use cachemgr_e2e::python_keyring::{secret_service_session, write_keyring_helpers};
use cachemgr_e2e::{binary, vectors_dir, Daemon};
use serde_json::{json, Value};

#[test]
fn secret_service_keys_written_by_python_work_both_ways() {
    let daemon = Daemon::prepare("");
    let dir = daemon.dir.path().to_path_buf();
    let home = dir.join("apps");
    let live = home.join("sd/app_info_cache.enc");
    fs::create_dir_all(live.parent().expect("parent")).expect("dir");
    fs::copy(vectors_dir().join("sd_runner.enc"), &live).expect("vector");
    fs::write(
        &daemon.config,
        format!("[apps]\nallowed_dirs = [{:?}]\n", home.display().to_string()),
    )
    .expect("config");
    let helpers = write_keyring_helpers(&dir);
    let mut users: Vec<String> = [
        "encryptor_type",
        "passphrase",
        "salt",
        "nonce",
        "tag",
        "encrypted_priv__count",
        "public_key__count",
        "encrypted_priv",
        "public_key",
        "key_rotated_at",
    ]
    .iter()
    .map(|p| format!("sd_runner__{p}"))
    .collect();
    for i in 1..12 {
        users.push(format!("sd_runner__encrypted_priv__{i}"));
        users.push(format!("sd_runner__public_key__{i}"));
    }
    let script = format!(
        "\"$LOAD\" \"$JSON\" >/dev/null\n\
         \"$CACHEMGRD\" --socket \"$SOCKET\" --state-dir \"$DIR/state\" --config \"$CONFIG\" --log-level debug 2>>\"$DIR/daemon.log\" &\n\
         echo $! > \"$DIR/daemon.pid\"\n\
         while [ ! -e \"$DIR/go\" ]; do sleep 0.1; done\n\
         \"$GET\" --json {SERVICE} {} > \"$DIR/after.json\"\n\
         kill $(cat \"$DIR/daemon.pid\")\nwait\n",
        users.join(" ")
    );
    let mut session = secret_service_session(&dir, &script)
        .env("LOAD", &helpers.load)
        .env("GET", &helpers.get)
        .env("JSON", vectors_dir().join("keyring.json"))
        .env("CACHEMGRD", binary("cachemgrd"))
        .env("SOCKET", &daemon.socket)
        .env("CONFIG", &daemon.config)
        .env_remove("MYPERSONALAPPLICATIONSSERVICE_PASSPHRASE")
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("session.log")).expect("log"))
        .spawn()
        .expect("start the session");
    let report = || {
        format!(
            "session:\n{}\ndaemon:\n{}",
            fs::read_to_string(dir.join("session.log")).unwrap_or_default(),
            fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !daemon.ctl(&["ping"]).status.success() {
        assert!(session.try_wait().expect("wait").is_none(), "session ended early: {}", report());
        assert!(Instant::now() < deadline, "daemon not up: {}", report());
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = daemon.ctl(&[
        "app",
        "add",
        "nobody",
        "--path",
        &live.display().to_string(),
        "--app-id",
        "nobody",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nobody__encryptor_type"), "names the missing entry: {err}");
    let info = daemon.ctl_json(&[
        "app",
        "add",
        "sd-runner",
        "--path",
        &live.display().to_string(),
        "--app-id",
        "sd_runner",
    ]);
    assert_eq!(info["strategy"], "standard", "{info}\n{}", report());
    daemon.ctl_ok(&["backup", "create", "sd-runner"]);
    let migrated = daemon.ctl_json(&["app", "migrate", "sd-runner", "--new-keys"]);
    assert_eq!(migrated["backups"], 1, "{migrated}");
    fs::write(dir.join("go"), b"").expect("go");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = session.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "session did not end: {}", report());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "session failed: {}", report());

    // What Python's keyring now returns is the new key set, and it opens the live file.
    let after: Value =
        serde_json::from_slice(&fs::read(dir.join("after.json")).expect("after.json"))
            .expect("json");
    let entries: serde_json::Map<String, Value> = after
        .as_object()
        .expect("object")
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(entries.contains_key("sd_runner__key_rotated_at"), "{after}");
    let original: Value =
        serde_json::from_slice(&fs::read(vectors_dir().join("keyring.json")).expect("vector"))
            .expect("json");
    assert_ne!(
        entries["sd_runner__public_key"], original["entries"]["sd_runner__public_key"],
        "new keys in the keyring"
    );
    let keys = dir.join("python-view.json");
    fs::write(
        &keys,
        serde_json::to_vec(&json!({"service": SERVICE, "entries": entries})).expect("json"),
    )
    .expect("keys");
    let plain = python_decrypt_with(&keys, "sd_runner", &live)
        .expect("Python's keys open the migrated file");
    assert_eq!(serde_json::from_str::<Value>(&plain).expect("json"), vector_json("sd_runner.json"));
}
