//! `app migrate --new-keys`: new keys in the Python layout, the live file and every backup
//! re-encrypted (checked by the independent Python checker), and a failure in the middle
//! that leaves the old keys and files working.

use std::fs;

use cachemgr_e2e::apps::{vector_json, AppsEnv};
use serde_json::Value;

fn entries(env: &AppsEnv) -> serde_json::Map<String, Value> {
    let keys: Value = serde_json::from_slice(&fs::read(&env.keys).expect("keys")).expect("json");
    keys["entries"].as_object().expect("entries").clone()
}

fn register_with_backups(env: &AppsEnv) -> (std::path::PathBuf, Vec<String>) {
    let live = env.place("sd_runner.enc", "sd/app_info_cache.enc");
    env.add_app("sd", &live, &["--app-id", "sd_runner"]);
    let mut names = Vec::new();
    for _ in 0..2 {
        let backup = env.daemon.ctl_json(&["backup", "create", "sd"]);
        names.push(backup["name"].as_str().expect("name").to_owned());
    }
    (live, names)
}

#[test]
fn migrate_re_encrypts_the_file_and_every_backup() {
    let env = AppsEnv::start("");
    let (live, backups) = register_with_backups(&env);
    let old_keys = env.daemon.dir.path().join("old-keys.json");
    fs::copy(&env.keys, &old_keys).expect("keep the old keys");
    let before = entries(&env);

    let migrated = env.daemon.ctl_json(&["app", "migrate", "sd", "--new-keys"]);
    assert_eq!(migrated["strategy"], "standard");
    assert_eq!(migrated["backups"], 2);
    let after = entries(&env);
    assert_ne!(after["sd_runner__public_key"], before["sd_runner__public_key"], "new key pair");
    assert!(after.contains_key("sd_runner__key_rotated_at"), "rotation time recorded");
    assert_eq!(after["muse__public_key"], before["muse__public_key"], "other apps untouched");

    let expected = vector_json("sd_runner.json");
    let opened = env
        .python_decrypt("sd_runner", &live)
        .expect("Python opens the live file with the new keys");
    assert_eq!(serde_json::from_str::<Value>(&opened).expect("json"), expected);
    assert!(
        cachemgr_e2e::apps::python_decrypt_with(&old_keys, "sd_runner", &live).is_err(),
        "old keys no longer open it"
    );
    for name in &backups {
        let file = env.backup_dir("sd").join(name);
        let plain = env.python_decrypt("sd_runner", &file).expect("backup re-encrypted");
        assert_eq!(serde_json::from_str::<Value>(&plain).expect("json"), expected);
    }
    let verify = env.daemon.ctl_json(&["backup", "verify", "sd"]);
    assert_eq!(verify["bad"].as_array().map(Vec::len), Some(0), "{verify}");

    // And on to round-3 Kyber: the checker's kyber-py opens the result.
    let quantum =
        env.daemon.ctl_json(&["app", "migrate", "sd", "--new-keys", "--strategy", "quantum"]);
    assert_eq!(quantum["strategy"], "quantum");
    assert_eq!(entries(&env)["sd_runner__encryptor_type"], "quantum");
    let opened = env.python_decrypt("sd_runner", &live).expect("quantum file opens in Python");
    assert_eq!(serde_json::from_str::<Value>(&opened).expect("json"), expected);
    assert_eq!(env.daemon.ctl_json(&["app", "show", "sd"])["strategy"], "quantum");
}

#[test]
fn a_failure_midway_leaves_the_old_keys_and_files_usable() {
    let mut env = AppsEnv::prepare("");
    env.daemon.env.push(("CACHEMGRD_TEST_FAIL_MIGRATE_AFTER".to_owned(), "2".to_owned()));
    env.daemon.spawn();
    let (live, backups) = register_with_backups(&env);
    let before = entries(&env);
    let live_before = fs::read(&live).expect("live");

    let out = env.daemon.ctl(&["app", "migrate", "sd", "--new-keys"]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rolled back"), "{err}");

    assert_eq!(entries(&env), before, "the old keyring entries are back");
    assert_eq!(fs::read(&live).expect("live"), live_before, "the live file is the old one");
    for name in &backups {
        env.python_decrypt("sd_runner", &env.backup_dir("sd").join(name))
            .expect("old backups open with the old keys");
    }
    let verify = env.daemon.ctl_json(&["backup", "verify", "sd"]);
    assert_eq!(verify["bad"].as_array().map(Vec::len), Some(0), "{verify}");
    env.daemon.ctl_ok(&["backup", "create", "sd"]);
}

#[test]
fn a_crash_midway_is_rolled_back_at_the_next_start() {
    let mut env = AppsEnv::prepare("");
    env.daemon.env.push(("CACHEMGRD_TEST_FAIL_MIGRATE_AFTER".to_owned(), "2:crash".to_owned()));
    env.daemon.spawn();
    let (live, backups) = register_with_backups(&env);
    let before = entries(&env);
    let live_before = fs::read(&live).expect("live");
    let backups_before: Vec<Vec<u8>> =
        backups.iter().map(|n| fs::read(env.backup_dir("sd").join(n)).expect("backup")).collect();

    // The daemon aborts after replacing two files: the new keys are in the keyring, the
    // live file and one backup are re-encrypted, the other backup is not.
    let out = env.daemon.ctl(&["app", "migrate", "sd", "--new-keys"]);
    assert_ne!(out.status.code(), Some(0));
    let code = env.daemon.wait_exit(std::time::Duration::from_secs(10));
    assert_eq!(code, None, "the daemon died by a signal (SIGABRT), not an exit");
    assert_ne!(entries(&env), before, "the crash left new keys behind");
    let journal_dir = env.daemon.state_dir().join("migrating");
    assert!(journal_dir.join("sd.json").exists(), "the journal survived the crash");

    env.daemon.env.clear();
    // The roll-back runs before the socket listens, and `spawn` returns once a handshake
    // succeeded: everything is back already, before any request could see the crash's state.
    env.daemon.spawn();
    assert_eq!(entries(&env), before, "the old keyring entries are back, nothing kept extra");
    assert_eq!(fs::read(&live).expect("live"), live_before, "the live file is the old one");
    for (name, old) in backups.iter().zip(&backups_before) {
        assert_eq!(&fs::read(env.backup_dir("sd").join(name)).expect("backup"), old, "{name}");
        env.python_decrypt("sd_runner", &env.backup_dir("sd").join(name))
            .expect("old backups open with the old keys");
    }
    let left: Vec<_> = fs::read_dir(&journal_dir).expect("dir").flatten().collect();
    assert!(left.is_empty(), "journal and kept copies removed: {left:?}");
    let verify = env.daemon.ctl_json(&["backup", "verify", "sd"]);
    assert_eq!(verify["bad"].as_array().map(Vec::len), Some(0), "{verify}");
    assert_eq!(env.daemon.ctl_json(&["app", "show", "sd"])["health"], "ok");

    // And the migration can simply be run again.
    let migrated = env.daemon.ctl_json(&["app", "migrate", "sd", "--new-keys"]);
    assert_eq!(migrated["backups"], 2);
    env.python_decrypt("sd_runner", &live).expect("the new keys open the live file");
}
