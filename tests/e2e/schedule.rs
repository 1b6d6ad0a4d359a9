//! Scheduled clears and clears on an incompatible settings change, through the real binaries:
//! a short interval fires, a clear missed while the daemon was down runs at start, and a
//! reload (or a restart) that changes a namespace's tier or eviction policy clears it.

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cachemgr_e2e::{deadline_in, poll_until, Daemon};
use rustix::process::Signal;
use serde_json::Value;

use crate::durability::TEST_KEY;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64
}

fn wait_missing(daemon: &Daemon, ns: &str, key: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while daemon.ctl(&["get", ns, key]).status.code() != Some(1) {
        assert!(std::time::Instant::now() < deadline, "{ns}/{key} was never cleared");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(daemon: &mut Daemon) {
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn a_short_interval_clears_and_is_listed() {
    let config = r#"
[namespaces.often]
clear_every = "1s"

[namespaces.nightly]
clear_at = "03:00"

[namespaces.plain]
"#;
    let daemon = Daemon::start_with_config(config);
    daemon.ctl_ok(&["set", "often", "k", "v"]);
    daemon.ctl_ok(&["set", "plain", "k", "v"]);
    wait_missing(&daemon, "often", "k");
    assert_eq!(daemon.ctl(&["get", "plain", "k"]).stdout, b"v", "no schedule, not cleared");
    // The run is recorded once the clear is done: wait for the record.
    let often_ran = |rows: &Value| {
        let rows = rows.as_array().expect("rows");
        rows.iter().any(|r| r["ns"] == "often" && r["last_result"].is_string())
    };
    let rows = poll_until(deadline_in(Duration::from_secs(10)), || {
        Some(daemon.ctl_json(&["schedule", "list"])).filter(often_ran)
    });
    let rows = rows.unwrap_or_else(|| panic!("no scheduled clear was recorded"));
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let often = &rows.iter().find(|r| r["ns"] == "often").expect("often");
    assert_eq!(often["every_ms"], 1000);
    assert!(often["last_run_unix_ms"].as_u64().is_some(), "{often}");
    assert!(often["last_result"].as_str().unwrap().contains("entries"), "{often}");
    let nightly = &rows.iter().find(|r| r["ns"] == "nightly").expect("nightly");
    assert_eq!(nightly["at"], "03:00");
    assert_eq!(nightly["every_ms"], 86_400_000, "clear_at alone is daily");
    let next = nightly["next_run_unix_ms"].as_u64().unwrap();
    assert!(next > now_ms() && next <= now_ms() + 86_400_000, "{nightly}");
    let text = daemon.ctl_ok(&["schedule", "list"]);
    assert!(text.contains("nightly") && text.contains("03:00"), "{text}");
}

#[test]
fn a_clear_missed_while_down_runs_at_start() {
    let config = "[namespaces.p]\ntier = \"disk\"\nclear_every = \"1h\"\n";
    let mut daemon = Daemon::start_with_env(config, &[("CACHEMGR_KEY", TEST_KEY)]);
    daemon.ctl_ok(&["set", "p", "k", "kept on disk"]);
    stop(&mut daemon);
    // Two hours "pass": the last run (the first time the schedule was seen) goes back.
    let file = daemon.state_dir().join("clear_schedule.json");
    let mut state: Value = serde_json::from_slice(&fs::read(&file).expect("state file")).unwrap();
    state["namespaces"]["p"]["since_unix_ms"] = Value::from(now_ms() - 2 * 3_600_000);
    fs::write(&file, serde_json::to_vec(&state).unwrap()).unwrap();
    let restarted = now_ms();
    daemon.spawn();
    wait_missing(&daemon, "p", "k");
    // With a 1 h interval, a run recorded since the restart is the catch-up of the missed one.
    let rows = poll_until(deadline_in(Duration::from_secs(10)), || {
        let rows = daemon.ctl_json(&["schedule", "list"]);
        rows[0]["last_run_unix_ms"].as_u64().is_some_and(|last| last >= restarted).then_some(rows)
    });
    let rows = rows.unwrap_or_else(|| panic!("no catch-up run was recorded"));
    let last = rows[0]["last_run_unix_ms"].as_u64().expect("ran");
    assert!(last + 60_000 > now_ms(), "ran just now: {rows}");
}

#[test]
fn reload_with_a_new_eviction_policy_or_tier_clears_that_namespace() {
    let config = |policy: &str, tier: &str| {
        format!("[namespaces.e]\neviction = \"{policy}\"\n[namespaces.t]\ntier = \"{tier}\"\n[namespaces.u]\n")
    };
    let daemon = Daemon::start_with_env(&config("lru", "disk"), &[("CACHEMGR_KEY", TEST_KEY)]);
    for ns in ["e", "t", "u"] {
        daemon.ctl_ok(&["set", ns, "k", "v"]);
    }
    fs::write(&daemon.config, config("lfu", "disk")).unwrap();
    let out = daemon.ctl_ok(&["reload"]);
    assert!(out.contains("namespace e cleared (eviction lru -> lfu): 1 entries"), "{out}");
    assert!(!out.contains("namespace t") && !out.contains("namespace u"), "{out}");
    assert_eq!(daemon.ctl(&["get", "e", "k"]).status.code(), Some(1));
    assert_eq!(daemon.ctl(&["get", "u", "k"]).stdout, b"v");
    // Data dropped by a reload is also a warning in the journal, with the namespace, the
    // change and the count as fields.
    let warned = daemon.wait_for_log_line(Duration::from_secs(5), |l| {
        l.contains(" WARN ") && l.contains("namespace=e ") && l.contains("entries=1 ")
    });
    assert!(warned.contains("changed=eviction lru -> lfu"), "{warned}");

    // disk -> memory clears the disk data, so switching back finds nothing.
    fs::write(&daemon.config, config("lfu", "memory")).unwrap();
    let out = daemon.ctl_ok(&["reload"]);
    assert!(out.contains("namespace t cleared (tier disk -> memory)"), "{out}");
    assert_eq!(daemon.ctl(&["get", "t", "k"]).status.code(), Some(1));
    fs::write(&daemon.config, config("lfu", "disk")).unwrap();
    daemon.ctl_ok(&["reload"]);
    assert_eq!(daemon.ctl(&["get", "t", "k"]).status.code(), Some(1), "no orphan came back");
}

#[test]
fn a_change_made_while_down_clears_the_stored_data_at_start() {
    let mut daemon = Daemon::start_with_env(
        "[namespaces.t]\ntier = \"disk\"\n[namespaces.same]\ntier = \"disk\"\n",
        &[("CACHEMGR_KEY", TEST_KEY)],
    );
    daemon.ctl_ok(&["set", "t", "k", "v"]);
    daemon.ctl_ok(&["set", "same", "k", "v"]);
    stop(&mut daemon);
    let changed = "[namespaces.t]\ntier = \"disk\"\neviction = \"fifo\"\n[namespaces.same]\ntier = \"disk\"\n";
    fs::write(&daemon.config, changed).unwrap();
    daemon.spawn();
    assert_eq!(daemon.ctl(&["get", "t", "k"]).status.code(), Some(1), "cleared before serving");
    assert_eq!(daemon.ctl(&["get", "same", "k"]).stdout, b"v");
    let log = daemon.log_text();
    assert!(
        log.contains("settings changed while the daemon was down (eviction lru -> fifo)"),
        "{log}"
    );
    let info = daemon.ctl_json(&["info"]);
    assert!(info["notices"].to_string().contains("namespace t"), "{info}");
}

#[test]
fn an_orphan_cleared_once_is_not_reported_again() {
    let mut daemon =
        Daemon::start_with_env("[namespaces.t]\ntier = \"disk\"\n", &[("CACHEMGR_KEY", TEST_KEY)]);
    daemon.ctl_ok(&["set", "t", "k", "v"]);
    stop(&mut daemon);
    // The record is lost, so only the orphan rule can see the disk data.
    fs::remove_file(daemon.state_dir().join("namespace_settings.json")).unwrap();
    fs::write(&daemon.config, "[namespaces.t]\ntier = \"memory\"\n").unwrap();
    daemon.spawn();
    let info = daemon.ctl_json(&["info"]);
    assert!(info["notices"].to_string().contains("disk data left by an earlier tier"), "{info}");
    stop(&mut daemon);
    fs::write(&daemon.config, "[namespaces.t]\ntier = \"disk\"\n").unwrap();
    daemon.spawn();
    assert_eq!(daemon.ctl(&["get", "t", "k"]).status.code(), Some(1), "nothing came back");
    let info = daemon.ctl_json(&["info"]);
    assert!(!info["notices"].to_string().contains("namespace t"), "{info}");
}
