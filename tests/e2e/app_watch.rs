//! Watching: a writer rewrites the watched file in place, slowly, in chunks (as the apps do);
//! no backup taken meanwhile may be undecryptable, and the final state is backed up once the
//! writes stop. A deleted file is reported, and watching resumes when it comes back.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use cachemgr_e2e::apps::{python_checker, AppsEnv};
use cachemgr_e2e::vectors_dir;
use serde_json::Value;

fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

/// The apps' way of saving, in a process of its own: open with truncation, then write in
/// chunks with pauses (the file is torn meanwhile).
const SLOW_WRITER: &str = r#"
import sys, time
path, source, chunk, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
data = open(source, "rb").read()
with open(path, "wb") as out:
    for start in range(0, len(data), chunk):
        out.write(data[start:start + chunk])
        out.flush()
        time.sleep(pause)
"#;

/// Rewrites `path` in place with the bytes of `source` through [`SLOW_WRITER`].
fn slow_rewrite(path: &Path, source: &Path, chunk: usize, pause: Duration) {
    let status = std::process::Command::new(cachemgr_e2e::python())
        .args(["-c", SLOW_WRITER])
        .arg(path)
        .arg(source)
        .arg(chunk.to_string())
        .arg(pause.as_secs_f64().to_string())
        .status()
        .expect("run the writer");
    assert!(status.success(), "the writer failed");
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
    // A third content no earlier round wrote, made by the independent checker: only a
    // backup taken after the last rewrite can hold it.
    let mut doc = cachemgr_e2e::apps::vector_json("muse.json");
    doc["written_by"] = Value::from("the last round of the torn-writes test");
    let plain = env.home.join("final.json");
    fs::write(&plain, serde_json::to_vec(&doc).expect("json")).expect("final json");
    let final_version = env.home.join("final.enc");
    let (keys, plain_arg, out_arg) = (
        env.keys.display().to_string(),
        plain.display().to_string(),
        final_version.display().to_string(),
    );
    python_checker(&["encrypt", "--keys", &keys, "--app", "muse", &plain_arg, &out_arg]);
    let versions = [vectors_dir().join("muse-flag0.enc"), vectors_dir().join("muse.enc")];
    // Rewrites with pauses both shorter and longer than the 300 ms debounce, so some
    // debounced backups start while a rewrite is half done.
    for round in 0..8 {
        let source = if round == 7 { &final_version } else { &versions[round % 2] };
        slow_rewrite(&live, source, 400, Duration::from_millis(60));
        std::thread::sleep(Duration::from_millis(if round % 3 == 0 { 450 } else { 100 }));
    }
    let final_sha = sha256_hex(&live);
    assert_eq!(final_sha, sha256_hex(&final_version));
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

    // Saved again with the same content: seen, and no second backup of it.
    let seen_same = "changed back to the content of the last backup";
    let before = env.daemon.log_text().matches(seen_same).count();
    slow_rewrite(&live, &final_version, 4096, Duration::from_millis(1));
    wait_for("the unchanged save to be seen", &env, || {
        env.daemon.log_text().matches(seen_same).count() > before
    });
    let same = backups(&env, "muse").iter().filter(|b| b["sha256"] == final_sha.as_str()).count();
    assert_eq!(same, 1, "unchanged content is not backed up twice");

    // Replaced by a rename (a new inode): the directory watch still sees it.
    let temp = live.with_extension("tmp");
    fs::copy(&versions[0], &temp).expect("temp");
    fs::rename(&temp, &live).expect("rename over the live file");
    let renamed_sha = sha256_hex(&live);
    wait_for("a backup of the renamed-in file", &env, || {
        backups(&env, "muse")
            .iter()
            .max_by_key(|b| b["created_unix_ms"].as_u64())
            .is_some_and(|b| b["sha256"] == renamed_sha.as_str())
    });
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
