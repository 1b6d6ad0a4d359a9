//! App keys in a real Secret Service (gnome-keyring under dbus-run-session), written by the
//! Python `keyring` package exactly as the apps write them: the daemon registers and backs up
//! with them, names a missing entry, and `app migrate` stores new keys that Python reads back
//! and that open the re-encrypted file in the independent checker.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cachemgr_e2e::apps::{python_decrypt_with, python_rotate, vector_json, SERVICE};
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

/// Keys rotated in the real Secret Service by Python `keyring` while the daemon runs (as the
/// Python app does): the next backup finds the live file sealed for keys it does not hold,
/// reads the keyring again without a restart, re-encrypts the old backups for the new keys
/// (Python opens them with what its keyring now holds), and the backup it was taking is made.
/// A backup that opens with neither key is quarantined, listed with why, and never pruned.
#[test]
fn keys_rotated_in_the_secret_service_are_noticed_without_a_restart() {
    let daemon = Daemon::prepare("");
    let dir = daemon.dir.path().to_path_buf();
    let home = dir.join("apps");
    let live = home.join("sd/app_info_cache.enc");
    fs::create_dir_all(live.parent().expect("parent")).expect("dir");
    fs::copy(vectors_dir().join("sd_runner.enc"), &live).expect("vector");
    // No timer help: the file that stops verifying is what makes the daemon look again.
    fs::write(
        &daemon.config,
        format!(
            "[apps]\nallowed_dirs = [{:?}]\nkey_check_every = \"1h\"\n",
            home.display().to_string()
        ),
    )
    .expect("config");
    // What the Python app will write when it rotates: new keys under the same passphrase,
    // and its live file re-encrypted for them (staged beside it until the rotation).
    let old_keys = vectors_dir().join("keyring.json");
    let new_keys = dir.join("rotated-keyring.json");
    let staged = dir.join("rotated-live.enc");
    fs::copy(&live, &staged).expect("stage");
    python_rotate(&old_keys, &new_keys, "sd_runner", &staged);

    let helpers = write_keyring_helpers(&dir);
    let script = "\"$LOAD\" \"$JSON\" >/dev/null\n\
         \"$CACHEMGRD\" --socket \"$SOCKET\" --state-dir \"$DIR/state\" --config \"$CONFIG\" --log-level debug 2>>\"$DIR/daemon.log\" &\n\
         echo $! > \"$DIR/daemon.pid\"\n\
         while [ ! -e \"$DIR/rotate\" ]; do sleep 0.1; done\n\
         \"$LOAD\" \"$NEW_JSON\" >/dev/null\n\
         touch \"$DIR/rotated\"\n\
         while [ ! -e \"$DIR/go\" ]; do sleep 0.1; done\n\
         kill $(cat \"$DIR/daemon.pid\")\nwait\n";
    let mut session = secret_service_session(&dir, script)
        .env("LOAD", &helpers.load)
        .env("JSON", &old_keys)
        .env("NEW_JSON", &new_keys)
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
    let wait_for = |what: &str, ready: &dyn Fn() -> bool, session: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready() {
            assert!(
                session.try_wait().expect("wait").is_none(),
                "session ended early: {}",
                report()
            );
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {}", report());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("the daemon", &|| daemon.ctl(&["ping"]).status.success(), &mut session);

    let path = live.display().to_string();
    let add = ["app", "add", "sd-runner", "--path", &path, "--app-id", "sd_runner"];
    daemon.ctl_json(&[&add[..], &["--backup-every", "0"]].concat());
    let backups: Vec<String> = (0..3)
        .map(|_| {
            let made = daemon.ctl_json(&["backup", "create", "sd-runner"]);
            made["name"].as_str().expect("name").to_owned()
        })
        .collect();
    let backup_dir = daemon.state_dir().join("backups/sd-runner");
    // One backup is damaged on disk: it opens with no key at all.
    let damaged = backup_dir.join(&backups[0]);
    let mut bytes = fs::read(&damaged).expect("backup");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&damaged, &bytes).expect("damage it");

    // The Python app rotates: its keyring entries, then its file.
    fs::write(dir.join("rotate"), b"").expect("rotate");
    wait_for("the rotation", &|| dir.join("rotated").exists(), &mut session);
    fs::rename(&staged, &live).expect("the app writes its file with the new keys");

    let made = daemon.ctl_json(&["backup", "create", "sd-runner"]);
    let newest = backup_dir.join(made["name"].as_str().expect("name"));
    let expected = vector_json("sd_runner.json");
    let opens = |file: &std::path::Path| {
        python_decrypt_with(&new_keys, "sd_runner", file)
            .is_ok_and(|plain| serde_json::from_str::<Value>(&plain).ok() == Some(expected.clone()))
    };
    assert!(opens(&newest), "the new backup is sealed for the new keys: {}", report());
    for name in &backups[1..] {
        assert!(opens(&backup_dir.join(name)), "{name} re-encrypted for the new keys");
    }

    let out = daemon.ctl(&["--json", "backup", "verify", "sd-runner"]);
    assert_eq!(out.status.code(), Some(4), "one backup is damaged: {}", report());
    let verify: Value = serde_json::from_slice(&out.stdout).expect("report");
    let bad: Vec<&str> = verify["bad"]
        .as_array()
        .expect("bad")
        .iter()
        .map(|b| b["backup"].as_str().expect("name"))
        .collect();
    assert_eq!(bad, [backups[0].as_str()], "{verify}");
    let quarantined = backup_dir.join("quarantine").join(&backups[0]);
    assert!(quarantined.exists() && !damaged.exists(), "moved to quarantine");
    daemon.ctl_json(&["app", "edit", "sd-runner", "--keep-last", "1"]);
    daemon.ctl_json(&["backup", "prune", "sd-runner"]);
    assert!(quarantined.exists(), "never pruned");
    let list = daemon.ctl_json(&["backup", "list", "sd-runner"]);
    let entry = list["backups"]
        .as_array()
        .expect("backups")
        .iter()
        .find(|b| b["name"] == backups[0].as_str())
        .expect("still listed")
        .clone();
    assert!(entry["quarantined"].as_str().is_some_and(|why| !why.is_empty()), "{entry}");
    // `status` says something needs an operator (exit 1) and names the backup.
    let out = daemon.ctl(&["--json", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).expect("status");
    assert_eq!(status["healthy"], false, "{status}");
    let problems = status["problems"].as_array().expect("problems");
    assert!(problems.iter().any(|p| p.as_str().is_some_and(|p| p.contains(&backups[0]))));

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
}
