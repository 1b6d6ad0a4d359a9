//! Names at rest: no namespace or key name sits in the disk layer's file in the clear, while
//! `keys` with patterns, `del-pattern`, dump/restore and key rotation (which all read names
//! back) keep working; a file of the older layout (names in the clear) is dropped at start
//! with a notice, and nothing else the daemon keeps is touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cachemgr_e2e::Daemon;
use redb::TableDefinition;

use crate::durability::persistent_daemon;

/// A string in every namespace name, and nowhere else.
const MARKER: &str = "qzvmarkerqz";
/// A string in every key name, and nowhere else.
const KEY_MARKER: &str = "kqmarkerkq";

/// Where the daemon mirrors the namespace settings of its config file (to notice changes
/// across restarts): configuration, not cache data, named as in the operator's config file.
const SETTINGS_MIRROR: &str = "namespace_settings.json";

/// Asserts no file under the state dir holds a key name, and none but the settings mirror a
/// namespace name.
fn assert_no_name_in_clear(state_dir: &Path) {
    for (path, bytes) in &files_under(state_dir) {
        let shown = path.display();
        assert!(!contains(bytes, KEY_MARKER.as_bytes()), "{shown} holds a key name in the clear");
        if path.file_name().is_some_and(|n| n == SETTINGS_MIRROR) {
            continue;
        }
        assert!(!contains(bytes, MARKER.as_bytes()), "{shown} holds a namespace name in the clear");
    }
}

fn config() -> String {
    format!(
        "[namespaces.{MARKER}-ns]\ntier = \"disk\"\ndurability = \"fsync\"\n\
         [namespaces.{MARKER}-both]\ntier = \"memory+disk\"\n"
    )
}

fn stop(daemon: &mut Daemon) {
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0), "{}", daemon.log_text());
}

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).expect("read dir").filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.is_file() {
                out.insert(path.clone(), std::fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn listed(daemon: &Daemon, args: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = daemon.ctl_ok(args).lines().map(str::to_owned).collect();
    keys.sort();
    keys
}

#[test]
fn no_name_is_stored_in_the_clear_and_name_reading_operations_still_work() {
    let mut daemon = persistent_daemon(&config());
    let ns = format!("{MARKER}-ns");
    let both = format!("{MARKER}-both");
    for space in [&ns, &both] {
        for i in 0..50 {
            daemon.ctl_ok(&["set", space, &format!("user:{KEY_MARKER}:{i:02}"), "v"]);
            daemon.ctl_ok(&[
                "set",
                space,
                &format!("sess:{KEY_MARKER}:{i:02}"),
                "v",
                "--ttl",
                "1h",
            ]);
        }
    }
    let users = listed(&daemon, &["keys", &ns, "user:*"]);
    assert_eq!(users.len(), 50, "a pattern over hashed names: {users:?}");
    assert!(users.iter().all(|k| k.starts_with(&format!("user:{KEY_MARKER}:"))), "{users:?}");
    let regex = listed(&daemon, &["keys", &ns, "--regex", "^user:.*:0[0-4]$"]);
    assert_eq!(regex.len(), 5, "{regex:?}");
    let paged = listed(&daemon, &["keys", &ns, "--limit", "7"]);
    assert_eq!(paged.len(), 7, "{paged:?}");
    let deleted = daemon.ctl_ok(&["del-pattern", &ns, "sess:*"]);
    assert!(deleted.contains("50"), "del-pattern over hashed names: {deleted}");
    assert!(listed(&daemon, &["keys", &ns, "sess:*"]).is_empty());

    // A rotation reads every name back to re-seal it.
    let rotated = daemon.ctl_json(&["key", "rotate", &ns]);
    assert_eq!(rotated["namespaces"][0]["resealed"].as_u64(), Some(50), "{rotated}");
    assert_eq!(listed(&daemon, &["keys", &ns, "user:*"]), users, "names survive rotation");
    let first = format!("user:{KEY_MARKER}:00");
    assert_eq!(daemon.ctl(&["get", &ns, &first]).stdout, b"v");

    // A dump reads names back; a restore writes them again (hashed).
    let dump = daemon.dir.path().join("all.dump");
    let dumped = daemon.ctl_json(&["dump", dump.to_str().expect("utf-8")]);
    assert_eq!(dumped["entries"].as_u64(), Some(150), "{dumped}");
    daemon.ctl_ok(&["clear", &ns]);
    assert!(listed(&daemon, &["keys", &ns]).is_empty());
    daemon.ctl_ok(&["restore", dump.to_str().expect("utf-8")]);
    assert_eq!(listed(&daemon, &["keys", &ns, "user:*"]), users, "restored under hashed names");

    stop(&mut daemon);
    let files = files_under(&daemon.state_dir());
    let cache = daemon.state_dir().join("cache.redb");
    assert!(files.contains_key(&cache), "the disk layer's file exists: {:?}", files.keys());
    assert_no_name_in_clear(&daemon.state_dir());
    // The names are still there, sealed: a restart lists the namespace and its keys.
    daemon.spawn();
    assert_eq!(listed(&daemon, &["keys", &ns, "user:*"]), users, "names read back after restart");
    assert_eq!(daemon.ctl(&["get", &ns, &first]).stdout, b"v");
}

/// Writes `cache.redb` as the previous layout did: a `meta` table with the master key's
/// fingerprint but no format entry, the namespace name in `ns_keys` and the table names, key
/// names as table keys.
fn write_old_format(path: &Path, fingerprint: &str) {
    let db = redb::Database::create(path).expect("create an old-format file");
    let txn = db.begin_write().expect("write");
    {
        let meta: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
        let mut meta = txn.open_table(meta).expect("meta");
        meta.insert("master_fingerprint", fingerprint.as_bytes()).expect("fingerprint");
        let keys: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("ns_keys");
        let mut keys = txn.open_table(keys).expect("ns_keys");
        keys.insert((format!("{MARKER}-ns").as_str(), 1), &[7u8; 32][..]).expect("salt");
        let name = format!("d/{MARKER}-ns");
        let data: TableDefinition<&str, &[u8]> = TableDefinition::new(&name);
        let mut data = txn.open_table(data).expect("data");
        data.insert(format!("old-{KEY_MARKER}-key").as_str(), &b"an old record"[..]).expect("put");
    }
    txn.commit().expect("commit");
}

#[test]
fn an_old_format_file_is_dropped_with_a_notice_and_nothing_else_is_touched() {
    let mut daemon = persistent_daemon(&config());
    let ns = format!("{MARKER}-ns");
    daemon.ctl_ok(&["set", &ns, "k", "v"]);
    stop(&mut daemon);
    let cache = daemon.state_dir().join("cache.redb");
    let mut kept = files_under(&daemon.state_dir());
    kept.remove(&cache);
    // A file the daemon moved aside earlier is kept for the operator: it must survive too.
    let aside = daemon.state_dir().join("cache.redb.damaged-1");
    std::fs::write(&aside, b"kept for the operator").expect("write aside file");
    kept.insert(aside, b"kept for the operator".to_vec());
    std::fs::remove_file(&cache).expect("remove the new-format file");
    let master = cachemgrd::keys::MasterKey::from_bytes(std::array::from_fn(|i| i as u8));
    write_old_format(&cache, &master.fingerprint());
    let old = std::fs::read(&cache).expect("read");
    assert!(contains(&old, MARKER.as_bytes()) && contains(&old, KEY_MARKER.as_bytes()));

    daemon.spawn();
    let info = daemon.ctl_json(&["info"]);
    let notices = info["notices"].to_string();
    assert!(notices.contains("older on-disk format"), "info says why: {info}");
    assert!(notices.contains("dropped"), "info says it was dropped: {info}");
    assert!(listed(&daemon, &["keys", &ns]).is_empty(), "the old values are gone");
    daemon.ctl_ok(&["set", &ns, "after", "fresh"]);
    assert_eq!(daemon.ctl(&["get", &ns, "after"]).stdout, b"fresh");
    stop(&mut daemon);

    let now = files_under(&daemon.state_dir());
    for (path, bytes) in &kept {
        assert_eq!(now.get(path), Some(bytes), "{} is kept unchanged", path.display());
    }
    assert_no_name_in_clear(&daemon.state_dir());
}
