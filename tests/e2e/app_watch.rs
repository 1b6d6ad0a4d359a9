//! Watching: a writer rewrites the watched file in place, slowly, in chunks (as the apps do);
//! no backup taken meanwhile may be undecryptable, and the final state is backed up once the
//! writes stop. A deleted file is reported, and watching resumes when it comes back.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use cachemgr_e2e::apps::AppsEnv;
use cachemgr_e2e::vectors_dir;
use serde_json::Value;

fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

/// Rewrites `path` in place with `bytes`: truncate, then chunks with pauses (torn meanwhile).
fn slow_rewrite(path: &Path, bytes: &[u8], chunk: usize, pause: Duration) {
    let mut file =
        OpenOptions::new().write(true).truncate(true).open(path).expect("open for rewrite");
    for part in bytes.chunks(chunk) {
        file.write_all(part).expect("write chunk");
        file.flush().expect("flush");
        std::thread::sleep(pause);
    }
}

fn backups(env: &AppsEnv, app: &str) -> Vec<Value> {
    env.daemon.ctl_json(&["backup", "list", app])["backups"].as_array().expect("backups").clone()
}

fn wait_for(what: &str, env: &AppsEnv, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            env.daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn torn_writes_are_never_kept_and_the_final_state_is_backed_up() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.daemon.ctl_ok(&["app", "add", "muse", "--path", &live.display().to_string()]);
    let versions = [
        fs::read(vectors_dir().join("muse-flag0.enc")).expect("v1"),
        fs::read(vectors_dir().join("muse.enc")).expect("v2"),
    ];
    // Rewrites with pauses both shorter and longer than the 300 ms debounce, so some
    // debounced backups start while a rewrite is half done.
    for round in 0..8 {
        let bytes = &versions[round % 2];
        slow_rewrite(&live, bytes, 400, Duration::from_millis(60));
        std::thread::sleep(Duration::from_millis(if round % 3 == 0 { 450 } else { 100 }));
    }
    // The last rewrite wrote versions[1]; wait for a backup of exactly that content.
    let final_sha = sha256_hex(&live);
    wait_for("a backup of the final state", &env, || {
        backups(&env, "muse").iter().any(|b| b["sha256"] == final_sha.as_str())
    });
    let list = backups(&env, "muse");
    assert!(list.iter().any(|b| b["source"] == "change"), "{list:?}");
    for backup in &list {
        let file = env.backup_dir("muse").join(backup["name"].as_str().expect("name"));
        env.python_decrypt("muse", &file)
            .unwrap_or_else(|e| panic!("backup {} does not decrypt: {e}", backup["name"]));
    }
    let verify = env.daemon.ctl_json(&["backup", "verify", "muse"]);
    assert_eq!(verify["bad"].as_array().map(Vec::len), Some(0), "{verify}");
}

#[test]
fn an_undecryptable_change_is_counted_and_not_kept() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.daemon.ctl_ok(&["app", "add", "muse", "--path", &live.display().to_string()]);
    env.daemon.ctl_ok(&["backup", "create", "muse"]);
    let mut bytes = fs::read(&live).expect("live");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&live, &bytes).expect("damage");
    wait_for("the bad read to be counted", &env, || {
        let show = env.daemon.ctl_json(&["app", "show", "muse"]);
        show["bad_reads"].as_u64().unwrap_or(0) > 0 && show["health"] == "file_unreadable"
    });
    assert_eq!(backups(&env, "muse").len(), 1, "the damaged file was not kept");

    fs::remove_file(&live).expect("delete");
    wait_for("the deletion to be reported", &env, || {
        env.daemon.ctl_json(&["app", "show", "muse"])["health"] == "file_missing"
    });
    fs::copy(vectors_dir().join("muse-flag0.enc"), &live).expect("comes back");
    wait_for("a backup after the file came back", &env, || backups(&env, "muse").len() == 2);
    assert_eq!(env.daemon.ctl_json(&["app", "show", "muse"])["health"], "ok");
}
