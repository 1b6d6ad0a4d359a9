//! Disposable cache directories through the real binaries: trims delete only files inside the
//! registered directory (oldest first, until under the limit, and every file past the age),
//! never through a symlink and never the directory itself; `dir add` refuses dangerous paths;
//! the registry survives a restart; the scheduled trim runs; every `clear` says what it freed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cachemgr_e2e::Daemon;
use rustix::fs::{AtFlags, Timespec, Timestamps, CWD};

const HOUR: u64 = 3600;

/// Writes `len` bytes to `path` (creating its parents) and dates it `age_s` seconds back.
fn aged_file(path: &Path, len: usize, age_s: u64) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, vec![b'x'; len]).expect("write");
    let file = fs::File::options().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(age_s)).expect("set mtime");
}

/// Dates the symlink itself (not its target) `age_s` seconds back.
fn age_symlink(link: &Path, age_s: u64) {
    let when = SystemTime::now() - Duration::from_secs(age_s);
    let secs = when.duration_since(UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    let stamp = Timespec { tv_sec: secs, tv_nsec: 0 };
    let times = Timestamps { last_access: stamp, last_modification: stamp };
    rustix::fs::utimensat(CWD, link, &times, AtFlags::SYMLINK_NOFOLLOW).expect("utimensat");
}

/// A cache directory with nested files of known ages and symlinks pointing outside it, and
/// the outside directory they point to (whose files are all older than anything inside).
struct Tree {
    cache: PathBuf,
    outside: PathBuf,
}

fn tree(base: &Path) -> Tree {
    let cache = base.join("cache");
    let outside = base.join("outside");
    aged_file(&cache.join("a-oldest.bin"), 1000, 50 * HOUR);
    aged_file(&cache.join("sub/deep/b-older.bin"), 1000, 40 * HOUR);
    aged_file(&cache.join("sub/c-middle.bin"), 1000, 30 * HOUR);
    aged_file(&cache.join("d-new.bin"), 1000, HOUR);
    aged_file(&outside.join("secret.txt"), 500, 100 * HOUR);
    aged_file(&outside.join("dir/x.bin"), 800, 100 * HOUR);
    std::os::unix::fs::symlink(outside.join("secret.txt"), cache.join("link-file"))
        .expect("symlink to a file");
    std::os::unix::fs::symlink(outside.join("dir"), cache.join("link-dir"))
        .expect("symlink to a directory");
    Tree { cache: fs::canonicalize(cache).expect("canonical"), outside }
}

fn assert_outside_untouched(tree: &Tree) {
    assert_eq!(fs::metadata(tree.outside.join("secret.txt")).expect("secret").len(), 500);
    assert_eq!(fs::metadata(tree.outside.join("dir/x.bin")).expect("x.bin").len(), 800);
}

fn link_size(link: &Path) -> u64 {
    fs::symlink_metadata(link).expect("link").len()
}

fn stderr_of(daemon: &Daemon, args: &[&str]) -> String {
    let out = daemon.ctl(args);
    assert_eq!(out.status.code(), Some(4), "{args:?} must be refused by the daemon");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dirs_trim_oldest_first_inside_only_and_never_through_symlinks() {
    let daemon = Daemon::start();
    let tree = tree(daemon.dir.path());
    let cache = tree.cache.to_str().expect("utf-8");
    let links = link_size(&tree.cache.join("link-file")) + link_size(&tree.cache.join("link-dir"));

    let added = daemon.ctl_ok(&["dir", "add", cache, "--max-size", "2500"]);
    assert!(added.contains(&format!("registered {cache}")), "{added}");
    let list = daemon.ctl_json(&["dir", "list"]);
    assert_eq!(list[0]["path"], cache);
    assert_eq!(list[0]["files"], 6, "4 files and 2 symlinks: {list}");
    assert_eq!(list[0]["size_bytes"].as_u64(), Some(4000 + links), "links count as themselves");
    let table = daemon.ctl_ok(&["dir", "list"]);
    for cell in ["PATH", "LAST TRIM", cache, "2.4 KiB", "never", "2d"] {
        assert!(table.contains(cell), "{cell} missing from:\n{table}");
    }

    // A dry run says what would go and deletes nothing.
    let dry = daemon.ctl_ok(&["dir", "trim", cache, "--dry-run"]);
    assert_eq!(dry, format!("would trim 2 files (2.0 KiB) from {cache}\n"));
    assert!(tree.cache.join("a-oldest.bin").exists() && tree.cache.join("sub/deep").exists());

    // Oldest first until under 2500 bytes: the two oldest files go, nothing else.
    let done = daemon.ctl_json(&["dir", "trim", cache]);
    assert_eq!((done["files"].as_u64(), done["bytes"].as_u64()), (Some(2), Some(2000)), "{done}");
    assert!(!tree.cache.join("a-oldest.bin").exists());
    assert!(!tree.cache.join("sub/deep").exists(), "the emptied subdirectory goes");
    for kept in ["sub/c-middle.bin", "d-new.bin", "link-file", "link-dir"] {
        assert!(fs::symlink_metadata(tree.cache.join(kept)).is_ok(), "{kept} was deleted");
    }
    assert_outside_untouched(&tree);
    let again = daemon.ctl_json(&["dir", "trim", cache]);
    assert_eq!(again["files"], 0, "already under the limit: {again}");

    // --max-age: every file older goes, including an old symlink (the link, not its target).
    age_symlink(&tree.cache.join("link-dir"), 100 * HOUR);
    daemon.ctl_ok(&["dir", "add", cache, "--max-age", "20h"]);
    let done = daemon.ctl_ok(&["dir", "trim"]);
    assert!(done.starts_with("trimmed 2 files ("), "{done}");
    assert!(!tree.cache.join("sub").exists(), "c-middle.bin (30h) went, and its directory");
    assert!(fs::symlink_metadata(tree.cache.join("link-dir")).is_err(), "the old link went");
    assert!(tree.cache.join("d-new.bin").exists() && tree.cache.join("link-file").exists());
    assert_outside_untouched(&tree);

    // clear --dir empties it (dry run first), keeps the directory, and says what it freed.
    let left = 1000 + link_size(&tree.cache.join("link-file"));
    let dry = daemon.ctl_json(&["clear", "--dir", cache, "--dry-run"]);
    assert_eq!((dry["dry_run"].as_bool(), dry["files"].as_u64()), (Some(true), Some(2)), "{dry}");
    assert_eq!(dry["bytes"].as_u64(), Some(left), "{dry}");
    let dry = daemon.ctl_ok(&["clear", "--dir", cache, "--dry-run"]);
    assert!(dry.starts_with("would clear 2 files ("), "{dry}");
    assert!(tree.cache.join("d-new.bin").exists(), "a dry run deletes nothing");
    let cleared = daemon.ctl_ok(&["clear", "--dir", cache]);
    assert_eq!(cleared, format!("cleared 2 files (1.0 KiB) from {cache}\n"));
    let json = daemon.ctl_json(&["dir", "list"]);
    assert_eq!(json[0]["files"], 0, "{json}");
    assert!(tree.cache.is_dir(), "the registered directory itself stays");
    assert_eq!(fs::read_dir(&tree.cache).expect("list").count(), 0);
    assert_outside_untouched(&tree);
    assert!(json[0]["last_trim_result"].as_str().is_some_and(|r| r.starts_with("ok: 2 files")));

    // remove forgets it; its files would stay.
    daemon.ctl_ok(&["dir", "remove", cache]);
    assert_eq!(daemon.ctl_json(&["dir", "list"]), serde_json::json!([]));
    for args in [&["dir", "trim", cache][..], &["clear", "--dir", cache]] {
        let gone = stderr_of(&daemon, args);
        assert!(gone.starts_with("error (invalid_argument): "), "{args:?}: {gone}");
        assert!(gone.contains(cache), "{args:?}: names the directory: {gone}");
    }
}

#[test]
fn dir_add_refuses_dangerous_paths_by_name() {
    let daemon = Daemon::start();
    let file = daemon.dir.path().join("plain-file");
    fs::write(&file, b"x").expect("file");
    let home = std::env::var("HOME").expect("HOME is set");
    let state = daemon.state_dir();
    let missing = daemon.dir.path().join("no-such-dir");
    fs::create_dir_all(state.join("backups")).expect("mkdir");
    let base = fs::canonicalize(daemon.dir.path()).expect("canonical");
    for (path, why) in [
        ("/".to_owned(), "refusing /: it is the root directory".to_owned()),
        ("/etc".to_owned(), "refusing /etc: it is under the system directory /etc".to_owned()),
        ("/usr/share".to_owned(), "under the system directory /usr".to_owned()),
        (home.clone(), format!("refusing {home}: ")),
        (file.display().to_string(), "is not a directory (it is a regular file)".to_owned()),
        (missing.display().to_string(), format!("{} does not exist", missing.display())),
        (state.display().to_string(), "it is the daemon's state directory".to_owned()),
        (base.display().to_string(), "it is the daemon's configuration directory".to_owned()),
        (base.join("run").display().to_string(), "it is the daemon's socket directory".to_owned()),
        (base.join("state/backups").display().to_string(), "inside the daemon's state".to_owned()),
    ] {
        let stderr = stderr_of(&daemon, &["dir", "add", &path]);
        assert!(stderr.starts_with("error (invalid_argument): "), "{path}: {stderr}");
        assert!(stderr.contains(&path), "{path}: the refusal names the path: {stderr}");
        // Kept on wording: which protected place the path is (the root, a system or the
        // daemon's own directory, not a directory...) is what the refusal tells, and no
        // kind or field carries it.
        assert!(stderr.contains(&why), "{path}: expected {why:?} in {stderr}");
    }
    assert_eq!(daemon.ctl_json(&["dir", "list"]), serde_json::json!([]), "nothing registered");
}

#[test]
fn registry_survives_a_restart_and_the_scheduled_trim_runs() {
    let mut daemon = Daemon::start_with_config("[dirs]\ntrim_every = \"1s\"\n");
    let cache = daemon.dir.path().join("cache");
    fs::create_dir_all(&cache).expect("mkdir");
    let cache = fs::canonicalize(cache).expect("canonical");
    let path = cache.to_str().expect("utf-8").to_owned();
    daemon.ctl_ok(&[
        "dir",
        "add",
        &path,
        "--max-age",
        "1h",
        "--clear-on-pressure",
        "--priority",
        "3",
    ]);

    daemon.ctl_ok(&["shutdown"]);
    daemon.wait_exit(Duration::from_secs(15));
    daemon.spawn();
    let list = daemon.ctl_json(&["dir", "list"]);
    assert_eq!(list[0]["path"], path.as_str(), "{list}");
    assert_eq!(list[0]["settings"]["max_age_ms"], 3_600_000);
    assert_eq!(list[0]["settings"]["clear_on_pressure"], true);
    assert_eq!(list[0]["settings"]["priority"], 3);

    // Made after the restart, so only the timer can delete it.
    aged_file(&cache.join("nested/old.bin"), 300, 2 * HOUR);
    aged_file(&cache.join("fresh.bin"), 300, 60);
    let deadline = Instant::now() + Duration::from_secs(15);
    while cache.join("nested/old.bin").exists() {
        assert!(Instant::now() < deadline, "the scheduled trim never ran:\n{}", daemon.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(cache.join("fresh.bin").exists(), "a fresh file stays");
    let list = daemon.ctl_json(&["dir", "list"]);
    assert!(list[0]["last_trim_unix_ms"].as_u64().is_some(), "{list}");
    assert_eq!(list[0]["files"], 1);
}

#[test]
fn every_clear_says_what_it_freed() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["mset", "web", "user:1=aaaa", "user:2=bbbb", "page:1=cccc"]);
    let out = daemon.ctl_ok(&["clear", "web", "--pattern", "user:*"]);
    // Keys and values: 2 x (6 + 4) bytes.
    assert_eq!(out, "cleared 2 entries (20 B)\n");
    assert_eq!(daemon.ctl(&["get", "web", "user:1"]).status.code(), Some(1));
    assert_eq!(daemon.ctl(&["get", "web", "page:1"]).stdout, b"cccc");
    let json = daemon.ctl_json(&["clear", "web", "--pattern", "^page", "--regex"]);
    assert_eq!(json, serde_json::json!({ "entries": 1, "bytes": 10 }));

    daemon.ctl_ok(&["set", "web", "k", "v"]);
    let out = daemon.ctl_ok(&["clear", "web"]);
    assert!(out.starts_with("cleared 1 entry ("), "{out}");
    daemon.ctl_ok(&["set", "a", "k", "v"]);
    daemon.ctl_ok(&["set", "b", "k", "v"]);
    let out = daemon.ctl_ok(&["clear", "--all"]);
    assert!(out.starts_with("cleared 2 entries ("), "{out}");
    let json = daemon.ctl_json(&["clear", "--all"]);
    assert_eq!(json, serde_json::json!({ "entries": 0, "bytes": 0 }));
    // del-pattern keeps printing the count alone.
    daemon.ctl_ok(&["set", "web", "x", "1"]);
    assert_eq!(daemon.ctl_ok(&["del-pattern", "web", "*"]), "1\n");
}
