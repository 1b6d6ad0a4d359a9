//! The pressure monitor through the real binaries, acting on the machine's real readings:
//! each test reads the current usage first, then sets a high mark just below it (so the
//! monitor must act) and checks what it did through `cachectl pressure` and the stats.

use std::fs;
use std::time::{Duration, Instant};

use cachemgr_e2e::Daemon;
use serde_json::Value;

/// Marks no machine reaches: the monitor stays quiet while a test fills the cache.
const QUIET: &str = "memory_high = 99.9\nmemory_low = 99.8\ndisk_high = 99.9\ndisk_low = 99.8\n";

const NAMESPACES: &str = r#"
[namespaces.big]
eviction = "lru"

[namespaces.second]
clear_on_pressure = true
priority = 5

[namespaces.first]
clear_on_pressure = true
priority = 1

[namespaces.kept]
clear_on_pressure = false

[namespaces.ondisk]
tier = "disk"
clear_on_pressure = true
"#;

fn config(pressure: &str, check_every: &str) -> String {
    format!("[pressure]\ncheck_every = \"{check_every}\"\n{pressure}{NAMESPACES}")
}

/// Rewrites the config and reloads it.
fn reconfigure(daemon: &Daemon, text: &str) {
    fs::write(&daemon.config, text).expect("write config");
    daemon.ctl_ok(&["reload"]);
}

/// A high mark below `used` (percent) and a low mark well below it. Far enough below that
/// another process freeing memory between the reading and the check cannot take usage under
/// the mark, and the low mark stays under any usage this machine can have.
fn marks_below(used: f64) -> (f64, f64) {
    let high = (used * 0.3).max(0.1);
    (high, high / 2.0)
}

fn fill(daemon: &Daemon, ns: &str, count: usize) {
    let value = "x".repeat(1000);
    let pairs: Vec<String> = (0..count).map(|i| format!("k{i}={value}")).collect();
    let mut args = vec!["mset", ns];
    args.extend(pairs.iter().map(String::as_str));
    daemon.ctl_ok(&args);
}

fn bytes_used(daemon: &Daemon, ns: &str) -> u64 {
    let stats = daemon.ctl_json(&["stats", ns]);
    stats["namespaces"][0]["stats"]["bytes_used"].as_u64().expect("bytes_used")
}

fn entries(daemon: &Daemon, ns: &str) -> u64 {
    let stats = daemon.ctl_json(&["stats", ns]);
    stats["namespaces"][0]["stats"]["entries"].as_u64().expect("entries")
}

fn actions(info: &Value) -> Vec<Value> {
    info["actions"].as_array().cloned().unwrap_or_default()
}

fn cleared_namespaces(actions: &[Value], trigger: &str) -> Vec<String> {
    actions
        .iter()
        .filter(|a| a["trigger"] == trigger && a["stage"] == "clear_namespace")
        .map(|a| a["ns"].as_str().expect("ns").to_owned())
        .collect()
}

#[test]
fn memory_pressure_shrinks_then_clears_by_priority_and_waits_to_rearm() {
    let daemon = Daemon::start_with_config(&config(QUIET, "1h"));
    fill(&daemon, "big", 200);
    for ns in ["first", "second", "kept"] {
        fill(&daemon, ns, 10);
    }
    let before = bytes_used(&daemon, "big");
    let reading = daemon.ctl_json(&["pressure", "check"]);
    assert!(actions(&reading).is_empty(), "quiet marks: no action yet: {reading}");
    assert_eq!(reading["memory"]["state"], "armed");
    let used = reading["memory"]["used_percent"].as_f64().expect("memory reading");
    assert!(used > 0.0 && used <= 100.0, "a real reading: {reading}");
    let (high, low) = marks_below(used);
    let low_marks =
        format!("memory_high = {high}\nmemory_low = {low}\ndisk_high = 99.9\ndisk_low = 99.8\n");
    reconfigure(&daemon, &config(&low_marks, "1h"));

    let info = daemon.ctl_json(&["pressure", "check"]);
    assert_eq!(info["memory"]["state"], "triggered", "{info}");
    let taken = actions(&info);
    let shrink = taken.iter().find(|a| a["stage"] == "shrink_memory").expect("stage (a) ran");
    assert_eq!(shrink["trigger"], "memory");
    assert!(shrink["bytes"].as_u64().unwrap() > 0 && shrink["entries"].as_u64().unwrap() > 0);
    let after = bytes_used(&daemon, "big");
    assert!(after * 10 <= before * 6, "stage (a) shrank big from {before} to {after} bytes");
    // Usage stays above the low mark (a cache this small cannot bring it down), so stage (b)
    // clears every clear_on_pressure namespace, lowest priority first.
    assert_eq!(cleared_namespaces(&taken, "memory"), ["first", "second"], "{info}");
    // Stage (a) halved every namespace (10 equal entries -> 5), then (b) cleared the rest.
    let first = taken.iter().find(|a| a["ns"] == "first").expect("first cleared");
    assert_eq!(first["entries"], 5, "what clearing `first` freed: {first}");
    assert_eq!(first["bytes"], 5 * (2 + 1000 + 56), "{first}");
    assert_eq!(entries(&daemon, "first"), 0);
    assert_eq!(entries(&daemon, "second"), 0);
    assert_eq!(entries(&daemon, "kept"), 5, "shrunk by (a), not cleared: not clear_on_pressure");
    let text = daemon.ctl_ok(&["pressure"]);
    assert!(text.contains("clear_namespace first: 5 entries"), "{text}");
    // The journal has it too, as fields: the stage and what the action above says it freed.
    let freed = format!("bytes={} ", shrink["bytes"]);
    daemon.wait_for_log_line(Duration::from_secs(5), |l| {
        l.contains(" WARN ") && l.contains("stage=\"shrink_memory\"") && l.contains(&freed)
    });

    // Hysteresis: still above the low mark, so further checks do not act again.
    fill(&daemon, "first", 3);
    let again = daemon.ctl_json(&["pressure", "check"]);
    assert_eq!(again["memory"]["state"], "triggered");
    assert_eq!(actions(&again).len(), taken.len(), "no new action before re-arming: {again}");
    assert_eq!(entries(&daemon, "first"), 3);

    // Below the (raised) low mark it re-arms; with the low marks back, it acts again.
    reconfigure(&daemon, &config(QUIET, "1h"));
    let rearmed = daemon.ctl_json(&["pressure", "check"]);
    assert_eq!(rearmed["memory"]["state"], "armed", "{rearmed}");
    reconfigure(&daemon, &config(&low_marks, "1h"));
    let fired = daemon.ctl_json(&["pressure", "check"]);
    assert_eq!(fired["memory"]["state"], "triggered");
    assert!(actions(&fired).len() > taken.len(), "acted again after re-arming: {fired}");
    assert_eq!(entries(&daemon, "first"), 0);
}

#[test]
fn disk_pressure_clears_disk_namespaces_only() {
    let daemon = Daemon::start_with_config(&config(QUIET, "1h"));
    daemon.ctl_ok(&["set", "ondisk", "k", "on disk"]);
    daemon.ctl_ok(&["set", "first", "k", "in memory"]);
    let reading = daemon.ctl_json(&["pressure", "check"]);
    let filesystems = reading["disk"]["filesystems"].as_array().expect("filesystems");
    let state_dir = daemon.state_dir().display().to_string();
    assert!(
        filesystems.iter().any(|fs| fs["paths"].to_string().contains(&state_dir)),
        "the state dir is watched: {reading}"
    );
    let used = filesystems[0]["used_percent"].as_f64().expect("disk reading");
    let (high, low) = marks_below(used);
    let marks =
        format!("memory_high = 99.9\nmemory_low = 99.8\ndisk_high = {high}\ndisk_low = {low}\n");
    reconfigure(&daemon, &config(&marks, "1h"));

    let info = daemon.ctl_json(&["pressure", "check"]);
    assert_eq!(info["disk"]["state"], "triggered", "{info}");
    assert_eq!(info["memory"]["state"], "armed", "{info}");
    let taken = actions(&info);
    assert_eq!(cleared_namespaces(&taken, "disk"), ["ondisk"], "{info}");
    assert!(taken.iter().all(|a| a["trigger"] == "disk"), "{info}");
    assert_eq!(daemon.ctl(&["get", "ondisk", "k"]).status.code(), Some(1), "cleared");
    assert_eq!(daemon.ctl(&["get", "first", "k"]).stdout, b"in memory", "memory tier untouched");
}

#[test]
fn the_timer_checks_and_acts_on_its_own() {
    let daemon = Daemon::start_with_config(&config(QUIET, "200ms"));
    fill(&daemon, "first", 5);
    let reading = daemon.ctl_json(&["pressure"]);
    let used = reading["memory"]["used_percent"].as_f64().expect("the start-up check read memory");
    let (high, low) = marks_below(used);
    let marks =
        format!("memory_high = {high}\nmemory_low = {low}\ndisk_high = 99.9\ndisk_low = 99.8\n");
    reconfigure(&daemon, &config(&marks, "200ms"));
    // No `pressure check`: only the timer can act.
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        let info = daemon.ctl_json(&["pressure"]);
        if !cleared_namespaces(&actions(&info), "memory").is_empty()
            && info["checks"].as_u64().unwrap_or(0) >= 3
        {
            break info;
        }
        assert!(Instant::now() < deadline, "the timer never acted: {info}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(info["memory"]["state"], "triggered");
    assert_eq!(entries(&daemon, "first"), 0);
}

#[test]
fn thresholds_are_validated() {
    let daemon = Daemon::start_with_config(&config(QUIET, "1h"));
    fs::write(&daemon.config, config("memory_high = 50\nmemory_low = 60\n", "1h")).unwrap();
    let out = daemon.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error (invalid_argument): "), "{err}");
    // Names both settings and both values.
    assert!(err.contains("pressure.memory_low") && err.contains("memory_high"), "{err}");
    assert!(cachemgr_e2e::names_numbers(&err, &[60, 50]), "{err}");
}

#[test]
fn stage_c_trims_registered_directories_and_empties_the_marked_ones() {
    let daemon = Daemon::start_with_config(&config(QUIET, "1h"));
    let root = tempfile::tempdir().expect("tempdir");
    let (marked, limited) = (root.path().join("marked"), root.path().join("limited"));
    for dir in [&marked, &limited] {
        fs::create_dir(dir).expect("mkdir");
        for n in 0..3 {
            fs::write(dir.join(format!("f{n}")), vec![b'x'; 1000]).expect("write");
        }
    }
    let (marked_s, limited_s) = (marked.display().to_string(), limited.display().to_string());
    daemon.ctl_ok(&["dir", "add", &marked_s, "--clear-on-pressure"]);
    daemon.ctl_ok(&["dir", "add", &limited_s, "--max-size", "1500B"]);
    let reading = daemon.ctl_json(&["pressure", "check"]);
    assert!(
        reading["disk"]["filesystems"].to_string().contains(&limited_s),
        "a registered directory's file system is watched: {reading}"
    );
    let used = reading["memory"]["used_percent"].as_f64().expect("memory reading");
    let (high, low) = marks_below(used);
    let marks =
        format!("memory_high = {high}\nmemory_low = {low}\ndisk_high = 99.9\ndisk_low = 99.8\n");
    reconfigure(&daemon, &config(&marks, "1h"));

    let info = daemon.ctl_json(&["pressure", "check"]);
    let trim = actions(&info)
        .into_iter()
        .find(|a| a["stage"] == "trim_dirs")
        .unwrap_or_else(|| panic!("stage (c) ran: {info}"));
    // `limited` down to one file (under 1500 bytes), `marked` emptied: 5 files, 5000 bytes.
    assert_eq!(trim["files"], 5, "{trim}");
    assert_eq!(trim["bytes"], 5000, "{trim}");
    assert_eq!(fs::read_dir(&marked).expect("marked stays").count(), 0);
    assert_eq!(fs::read_dir(&limited).expect("limited stays").count(), 1);
}
