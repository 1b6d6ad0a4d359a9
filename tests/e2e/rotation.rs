//! `key status`, `key rotate --clear`, and what an ephemeral key means for disk tiers.

use std::time::Duration;

use cachemgr_e2e::Daemon;

use crate::durability::{persistent_daemon, TEST_KEY};

const CONFIG: &str = "[namespaces.d]\ntier = \"disk\"\n[namespaces.m]\ntier = \"memory\"\n";

#[test]
fn key_status_names_the_source_and_key_ids_never_the_key() {
    let daemon = persistent_daemon(CONFIG);
    daemon.ctl_ok(&["set", "d", "k", "v"]);
    let text = daemon.ctl_ok(&["key", "status"]);
    assert!(text.contains("CACHEMGR_KEY"), "{text}");
    assert!(!text.contains(TEST_KEY) && !daemon.log_text().contains(TEST_KEY), "no key shown");
    let status = daemon.ctl_json(&["key", "status"]);
    assert_eq!(status["persistent"], true, "{status}");
    let d = status["namespaces"].as_array().expect("rows").iter().find(|r| r["ns"] == "d");
    assert_eq!(d.expect("d row")["key_id"].as_u64(), Some(1));
}

#[test]
fn rotate_with_clear_drops_the_data_and_moves_to_a_new_key() {
    let daemon = persistent_daemon(CONFIG);
    for i in 0..100 {
        daemon.ctl_ok(&["set", "d", &format!("k{i}"), "v"]);
    }
    let rotated = daemon.ctl_json(&["key", "rotate", "d", "--clear"]);
    let row = &rotated["namespaces"][0];
    assert_eq!(row["cleared"].as_u64(), Some(100), "{rotated}");
    assert_eq!(row["new_key_id"].as_u64(), Some(2), "{rotated}");
    assert!(daemon.ctl_ok(&["keys", "d"]).trim().is_empty(), "data dropped");
    daemon.ctl_ok(&["set", "d", "after", "v2"]);
    assert_eq!(daemon.ctl(&["get", "d", "after"]).stdout, b"v2");
    let memory_only = daemon.ctl(&["key", "rotate", "m"]);
    assert_eq!(memory_only.status.code(), Some(4), "a memory namespace has no key to rotate");
}

#[test]
fn an_ephemeral_key_wipes_disk_tiers_at_start_and_says_so() {
    let mut daemon = Daemon::start_with_config(CONFIG);
    assert_eq!(daemon.ctl_json(&["key", "status"])["persistent"], false);
    daemon.ctl_ok(&["set", "d", "k", "v"]);
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    daemon.spawn();
    assert_eq!(daemon.ctl(&["get", "d", "k"]).status.code(), Some(1), "nothing could read it");
    assert_eq!(daemon.ctl_json(&["key", "status"])["persistent"], false, "still ephemeral");
    // `info` carries it from the start (the wipe happens before the socket listens): one
    // notice naming the wiped file.
    let info = daemon.ctl_json(&["info"]);
    let file = daemon.state_dir().join("cache.redb").display().to_string();
    let notices = info["notices"].as_array().expect("notices");
    let wiped = notices.iter().filter_map(|n| n.as_str()).find(|n| n.contains(&file));
    assert!(wiped.is_some_and(|n| n.contains("wiped")), "{info}");
}
