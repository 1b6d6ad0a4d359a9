//! Keys an app rotates behind the daemon's back (as the Python app and its Cache Manager do):
//! the daemon notices without a restart and re-encrypts its backups for the new keys while it
//! still holds the old ones; a `kill -9` in the middle loses no backup (each opens with the old
//! or the new keys, and the next start finishes the job); a backup that opens with neither is
//! quarantined, listed with why, and never pruned.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cachemgr_e2e::apps::{python_decrypt_with, python_rotate, swap_key_file, vector_json, AppsEnv};
use serde_json::Value;

const BACKUPS: usize = 5;

/// Polls `ready` every 50 ms until it holds or `secs` pass.
fn wait_until(secs: u64, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Registers the sd_runner vector as app `sd` and takes `BACKUPS` backups of it (while the
/// watcher may add change backups, these are the ones checked).
fn register_with_backups(env: &AppsEnv) -> (PathBuf, Vec<String>) {
    let live = env.place("sd_runner.enc", "sd/app_info_cache.enc");
    // No schedule: the backups are exactly the ones taken here.
    env.add_app("sd", &live, &["--app-id", "sd_runner", "--backup-every", "0"]);
    let names = (0..BACKUPS)
        .map(|_| {
            let backup = env.daemon.ctl_json(&["backup", "create", "sd"]);
            backup["name"].as_str().expect("name").to_owned()
        })
        .collect();
    (live, names)
}

/// Whether `file` opens with the keys in `keys`, with the vector's content.
fn opens_with(keys: &Path, file: &Path) -> bool {
    python_decrypt_with(keys, "sd_runner", file).is_ok_and(|plain| {
        serde_json::from_str::<Value>(&plain).ok() == Some(vector_json("sd_runner.json"))
    })
}

#[test]
fn kill_9_during_the_re_encryption_after_a_key_change_loses_no_backup() {
    let mut env = AppsEnv::prepare("key_check_every = \"200ms\"");
    env.daemon.env.push(("CACHEMGRD_TEST_HOLD_REKEY_AFTER".to_owned(), "2".to_owned()));
    env.daemon.spawn();
    let (live, backups) = register_with_backups(&env);
    let dir = env.daemon.dir.path().to_path_buf();
    let old_keys = dir.join("old-keys.json");
    fs::copy(&env.keys, &old_keys).expect("keep the old keys");
    let new_keys = dir.join("new-keys.json");

    // The app rotates: new entries in the key store, its live file re-encrypted.
    python_rotate(&env.keys, &new_keys, "sd_runner", &live);
    swap_key_file(&new_keys, &env.keys);

    // The key check notices and starts re-encrypting; the hook stops it after two files.
    let rekeying = env.daemon.state_dir().join("rekeying");
    wait_until(30, "the re-encryption to reach the hook", || rekeying.join("held").exists());
    env.daemon.kill_hard();

    let backup_dir = env.backup_dir("sd");
    let (mut under_new, mut under_old) = (0, 0);
    for name in &backups {
        let file = backup_dir.join(name);
        if opens_with(&new_keys, &file) {
            under_new += 1;
        } else {
            assert!(opens_with(&old_keys, &file), "{name} opens with neither key");
            under_old += 1;
        }
    }
    assert_eq!((under_new, under_old), (2, BACKUPS - 2), "killed midway");
    let journals = fs::read_dir(&rekeying).expect("journal dir").flatten();
    assert_eq!(
        journals.filter(|e| e.path().extension().is_some_and(|x| x == "json")).count(),
        1,
        "the journal survives the kill"
    );

    // The next start finishes the job from the journal: every backup opens with the new keys.
    env.daemon.env.clear();
    env.daemon.spawn();
    let journal = rekeying.join("sd.json");
    wait_until(60, "the interrupted re-encryption to finish", || !journal.exists());
    for name in &backups {
        assert!(opens_with(&new_keys, &backup_dir.join(name)), "{name} under the new keys");
    }
    let verify = env.daemon.ctl_json(&["backup", "verify", "sd"]);
    assert_eq!(verify["checked"], BACKUPS as u64, "{verify}");
    assert_eq!(verify["bad"].as_array().map(Vec::len), Some(0), "{verify}");
    let list = env.daemon.ctl_json(&["backup", "list", "sd"]);
    let listed: Vec<&Value> = list["backups"].as_array().expect("backups").iter().collect();
    assert_eq!(listed.len(), BACKUPS, "{list}");
    assert!(listed.iter().all(|b| b["verified"] == true && b.get("quarantined").is_none()));
    let made = env.daemon.ctl_json(&["backup", "create", "sd"]);
    assert!(opens_with(&new_keys, &backup_dir.join(made["name"].as_str().expect("name"))));
}

/// `backup verify sd`, which finds damaged backups: exit status 4, the report on stdout.
fn verify_damaged(env: &AppsEnv) -> Value {
    let out = env.daemon.ctl(&["--json", "backup", "verify", "sd"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the report")
}

#[test]
fn a_backup_that_opens_with_no_key_is_quarantined_listed_and_never_pruned() {
    // Keys rotated while the daemon was down: its old key is gone, so its old backups cannot
    // be re-encrypted; they must stay, in quarantine, until an operator decides.
    let mut env = AppsEnv::start("");
    let (live, backups) = register_with_backups(&env);
    let dir = env.daemon.dir.path().to_path_buf();
    let new_keys = dir.join("new-keys.json");
    env.daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(env.daemon.wait_exit(Duration::from_secs(10)), Some(0));
    python_rotate(&env.keys, &new_keys, "sd_runner", &live);
    swap_key_file(&new_keys, &env.keys);
    env.daemon.spawn();

    let verify = verify_damaged(&env);
    let bad = verify["bad"].as_array().expect("bad");
    assert_eq!(bad.len(), BACKUPS, "{verify}");
    let backup_dir = env.backup_dir("sd");
    let quarantine = backup_dir.join("quarantine");
    for name in &backups {
        assert!(quarantine.join(name).exists(), "{name} moved to quarantine");
        assert!(!backup_dir.join(name).exists(), "{name} no longer among the backups");
    }
    let list = env.daemon.ctl_json(&["backup", "list", "sd"]);
    for backup in list["backups"].as_array().expect("backups") {
        let why = backup["quarantined"].as_str().expect("quarantined with a reason");
        assert!(!why.is_empty(), "{backup}");
        assert_eq!(backup["verified"], false);
        let path = backup["path"].as_str().expect("path");
        assert!(Path::new(path).starts_with(&quarantine), "{path}");
    }
    let status = env.daemon.ctl_json(&["app", "show", "sd"]);
    assert_eq!(status["health"], "backup_damaged", "{status}");

    // New backups under the new keys push nothing out: keep 1, take 3, prune.
    env.daemon.ctl_ok(&["app", "edit", "sd", "--keep-last", "1"]);
    for _ in 0..3 {
        env.daemon.ctl_json(&["backup", "create", "sd"]);
    }
    let pruned = env.daemon.ctl_json(&["backup", "prune", "sd"]);
    let removed: Vec<&str> = pruned["removed"]
        .as_array()
        .expect("removed")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert!(backups.iter().all(|b| !removed.contains(&b.as_str())), "{pruned}");
    for name in &backups {
        assert!(quarantine.join(name).exists(), "{name} still kept after prune");
    }
    let list = env.daemon.ctl_json(&["backup", "list", "sd"]);
    let quarantined =
        list["backups"].as_array().expect("list").iter().filter(|b| b["quarantined"].is_string());
    assert_eq!(quarantined.count(), BACKUPS, "{list}");

    // The operator's way to delete one: remove its file from quarantine; verification then
    // forgets it.
    fs::remove_file(quarantine.join(&backups[0])).expect("operator removes one");
    verify_damaged(&env);
    let list = env.daemon.ctl_json(&["backup", "list", "sd"]);
    let names: Vec<&str> = list["backups"]
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert!(!names.contains(&backups[0].as_str()), "{list}");
    assert_eq!(names.iter().filter(|n| backups.iter().any(|b| b == *n)).count(), BACKUPS - 1);
}
