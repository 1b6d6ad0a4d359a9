//! Someone with write access to the database file: a value moved to another key, a flipped
//! byte, a file that is not a database at all. Each is caught, counted and survived.

use std::path::Path;
use std::time::Duration;

use cachemgr_e2e::Daemon;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use crate::durability::persistent_daemon;

const CONFIG: &str = "[namespaces.safe]\ntier = \"disk\"\ndurability = \"fsync\"\n";

/// The master key of [`crate::durability::TEST_KEY`] (its base64 decodes to bytes 0..32).
fn test_master() -> cachemgrd::keys::MasterKey {
    cachemgrd::keys::MasterKey::from_bytes(std::array::from_fn(|i| i as u8))
}

/// The value table of `ns`: named by the namespace's keyed hash, never its name.
fn table(ns: &str) -> String {
    let names = cachemgrd::store::disk::names::DiskNames::new(&test_master());
    format!("d/{}", names.tag(ns))
}

/// Where `key` of `ns` is stored (its keyed hash).
fn slot(ns: &str, key: &str) -> String {
    cachemgrd::store::disk::names::DiskNames::new(&test_master()).slots(ns).slot(key)
}

/// The key id (record bytes 3..7) of every value of `ns` in a stopped daemon's file.
pub fn key_ids_in_file(path: &Path, ns: &str) -> Vec<u32> {
    let db = redb::Database::open(path).expect("open the daemon's database");
    let txn = db.begin_read().expect("read");
    let name = table(ns);
    let data = txn.open_table(TableDefinition::<&str, &[u8]>::new(&name)).expect("table");
    data.iter()
        .expect("iter")
        .map(|item| {
            let (_, value) = item.expect("item");
            let v = value.value();
            u32::from_be_bytes([v[3], v[4], v[5], v[6]])
        })
        .collect()
}

/// Rewrites one stored record of `ns` with `change(record of from)` under key `to`.
fn rewrite(path: &Path, ns: &str, from: &str, to: &str, change: impl Fn(&mut Vec<u8>)) {
    let db = redb::Database::open(path).expect("open the daemon's database");
    let txn = db.begin_write().expect("write");
    {
        let name = table(ns);
        let mut data = txn.open_table(TableDefinition::<&str, &[u8]>::new(&name)).expect("table");
        let (from, to) = (slot(ns, from), slot(ns, to));
        let mut record =
            data.get(from.as_str()).expect("get").expect("record exists").value().to_vec();
        change(&mut record);
        data.insert(to.as_str(), &record[..]).expect("insert");
    }
    txn.commit().expect("commit");
}

fn stop(daemon: &mut Daemon) {
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0), "{}", daemon.log_text());
}

fn corrupt_count(daemon: &Daemon) -> u64 {
    let stats: serde_json::Value = daemon.ctl_json(&["stats", "safe"]);
    stats["namespaces"][0]["stats"]["corrupt"].as_u64().expect("corrupt counter")
}

#[test]
fn a_value_copied_to_another_key_is_refused_counted_and_dropped() {
    let mut daemon = persistent_daemon(CONFIG);
    daemon.ctl_ok(&["set", "safe", "alice", "alice's secret"]);
    daemon.ctl_ok(&["set", "safe", "bob", "bob's data"]);
    stop(&mut daemon);
    let file = daemon.state_dir().join("cache.redb");
    rewrite(&file, "safe", "alice", "bob", |_| {});
    daemon.spawn();
    assert_eq!(daemon.ctl(&["get", "safe", "bob"]).status.code(), Some(1), "moved value refused");
    assert_eq!(daemon.ctl(&["get", "safe", "alice"]).stdout, b"alice's secret");
    assert_eq!(corrupt_count(&daemon), 1);
    let log = daemon.wait_for_log("does not open", Duration::from_secs(5));
    let warned = log.lines().find(|l| l.contains("WARN") && l.contains("does not open"));
    let warned = warned.unwrap_or_else(|| panic!("a warn line: {log}"));
    assert!(warned.contains("namespace=safe"), "{warned}");
    assert!(!warned.contains("bob"), "no key name at the default level: {warned}");
    let debug = log.lines().find(|l| l.contains("DEBUG") && l.contains("does not open"));
    assert!(debug.is_some_and(|l| l.contains("key=bob")), "the key at debug level: {log}");
    assert!(!log.contains("alice's secret"), "the log never shows values");
    assert_eq!(daemon.ctl(&["get", "safe", "bob"]).status.code(), Some(1));
    assert_eq!(corrupt_count(&daemon), 1, "the damaged value was deleted, not counted twice");
}

#[test]
fn a_flipped_byte_in_a_stored_value_is_caught() {
    let mut daemon = persistent_daemon(CONFIG);
    daemon.ctl_ok(&["set", "safe", "k", "some value that will rot"]);
    daemon.ctl_ok(&["set", "safe", "other", "fine"]);
    stop(&mut daemon);
    let file = daemon.state_dir().join("cache.redb");
    rewrite(&file, "safe", "k", "k", |record| {
        let at = record.len() - 20;
        record[at] ^= 0x01;
    });
    daemon.spawn();
    assert_eq!(daemon.ctl(&["get", "safe", "k"]).status.code(), Some(1));
    assert_eq!(daemon.ctl(&["get", "safe", "other"]).stdout, b"fine");
    assert_eq!(corrupt_count(&daemon), 1);
}

#[test]
fn a_database_that_cannot_be_opened_is_moved_aside_and_reported() {
    let mut daemon = persistent_daemon(CONFIG);
    daemon.ctl_ok(&["set", "safe", "k", "v"]);
    stop(&mut daemon);
    let file = daemon.state_dir().join("cache.redb");
    std::fs::write(&file, b"this is not a redb database, it is garbage".repeat(100))
        .expect("write");
    daemon.spawn();
    let info: serde_json::Value = daemon.ctl_json(&["info"]);
    let notices = info["notices"].to_string();
    assert!(notices.contains("moved aside"), "info says so: {info}");
    let aside: Vec<_> = std::fs::read_dir(daemon.state_dir())
        .expect("state dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("cache.redb.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept");
    daemon.ctl_ok(&["set", "safe", "k", "fresh"]);
    assert_eq!(daemon.ctl(&["get", "safe", "k"]).stdout, b"fresh");
}
