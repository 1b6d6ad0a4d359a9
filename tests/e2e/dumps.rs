//! Dumps through the real binaries: round trip with TTLs, namespace filter, merge and
//! replace, refusal of a damaged dump before anything changes (also while the file is being
//! swapped), and the auto-dump schedule.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cachectl::{ClientError, Entry, ErrorKind, RestoreMode, SetCondition};
use cachemgr_e2e::{deadline_in, poll_until, Daemon};
use serde_bytes::ByteBuf;

use crate::durability::persistent_daemon;

const CONFIG: &str = "[namespaces.d]\ntier = \"disk\"\n[namespaces.md]\ntier = \"memory+disk\"\n";

#[test]
fn dump_and_restore_round_trip_with_ttls_filters_and_modes() {
    let daemon = Daemon::start_with_config(CONFIG);
    let file = daemon.dir.path().join("all.dump");
    let file = file.to_str().expect("utf-8 path");
    for ns in ["mem", "d", "md"] {
        daemon.ctl_ok(&["set", ns, "plain", &format!("{ns} value")]);
        daemon.ctl_ok(&["set", ns, "timed", "soon gone", "--ttl", "1h"]);
        daemon.ctl_ok(&["set", ns, "user:1", "one"]);
        daemon.ctl_ok(&["set", ns, "user:2", "two"]);
    }
    let dumped = daemon.ctl_json(&["dump", file]);
    assert_eq!(dumped["entries"].as_u64(), Some(12), "{dumped}");
    let users = daemon.dir.path().join("users.dump");
    let users = users.to_str().expect("utf-8");
    let partial = daemon.ctl_json(&["dump", users, "--ns", "d", "--pattern", "user:*"]);
    assert_eq!(partial["entries"].as_u64(), Some(2), "{partial}");
    assert!(!std::fs::read(file).expect("dump").windows(9).any(|w| w == b"mem value"), "encrypted");

    daemon.ctl_ok(&["clear", "--all"]);
    daemon.ctl_ok(&["set", "d", "extra", "kept by merge"]);
    let restored = daemon.ctl_json(&["restore", file]);
    assert_eq!(restored["entries"].as_u64(), Some(12), "{restored}");
    for ns in ["mem", "d", "md"] {
        assert_eq!(daemon.ctl(&["get", ns, "plain"]).stdout, format!("{ns} value").as_bytes());
        let ttl = daemon.ctl_json(&["ttl", ns, "timed"]);
        let left = ttl["ttl_ms"].as_u64().expect("ttl kept");
        assert!(left > 3_500_000 && left <= 3_600_000, "{ns}: {left}");
        assert_eq!(daemon.ctl_json(&["ttl", ns, "plain"])["ttl_ms"], serde_json::Value::Null);
    }
    assert_eq!(daemon.ctl(&["get", "d", "extra"]).stdout, b"kept by merge");

    let replaced = daemon.ctl_json(&["restore", users, "--replace"]);
    assert_eq!(replaced["entries"].as_u64(), Some(2), "{replaced}");
    assert_eq!(daemon.ctl(&["get", "d", "extra"]).status.code(), Some(1), "replace cleared d");
    assert_eq!(daemon.ctl(&["get", "d", "user:1"]).stdout, b"one");
    assert_eq!(daemon.ctl(&["get", "mem", "plain"]).stdout, b"mem value", "other ns untouched");

    let only = daemon.ctl_json(&["restore", file, "--ns", "mem"]);
    assert_eq!(only["entries"].as_u64(), Some(4), "{only}");
}

#[test]
fn a_truncated_or_damaged_dump_is_refused_before_anything_changes() {
    let daemon = Daemon::start_with_config(CONFIG);
    let file = daemon.dir.path().join("x.dump");
    let path = file.to_str().expect("utf-8");
    for i in 0..200 {
        daemon.ctl_ok(&["set", "d", &format!("k{i}"), &format!("original {i}")]);
    }
    daemon.ctl_ok(&["dump", path]);
    let bytes = std::fs::read(&file).expect("dump");
    for i in 0..200 {
        daemon.ctl_ok(&["set", "d", &format!("k{i}"), "changed"]);
    }
    std::fs::write(&file, &bytes[..bytes.len() - 10]).expect("truncate");
    // `corrupt` is the kind that promises nothing was changed; the data below shows it.
    let refused_as_corrupt = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(4), "daemon error");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error (corrupt): "), "{stderr}");
        assert!(stderr.contains(path), "names the dump: {stderr}");
        assert_eq!(daemon.ctl(&["get", "d", "k7"]).stdout, b"changed", "nothing was restored");
        assert_eq!(daemon.ctl(&["keys", "d"]).stdout.iter().filter(|b| **b == b'\n').count(), 200);
    };
    refused_as_corrupt(daemon.ctl(&["restore", path, "--replace"]));
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    std::fs::write(&file, &flipped).expect("flip");
    refused_as_corrupt(daemon.ctl(&["restore", path]));
}

#[test]
fn autodump_runs_on_schedule_survives_restart_and_keeps_the_last_good_dump() {
    let mut daemon = persistent_daemon(CONFIG);
    let file = daemon.dir.path().join("auto.dump");
    let path = file.to_str().expect("utf-8");
    daemon.ctl_ok(&["set", "d", "k", "v"]);
    let started = daemon.ctl_json(&["autodump", "start", "--every", "1s", "--to", path]);
    assert_eq!(started["enabled"], true, "{started}");
    // The run is recorded once its dump is written: wait for the record, not for the file.
    let status = poll_until(deadline_in(Duration::from_secs(10)), || {
        let status = daemon.ctl_json(&["autodump", "status"]);
        status["last_result"].is_string().then_some(status)
    });
    let status = status.unwrap_or_else(|| panic!("the first run never happened"));
    assert!(file.exists(), "the first run wrote the dump");
    assert!(status["last_result"].as_str().is_some_and(|r| r.starts_with("ok")), "{status}");
    assert!(status["next_run_unix_ms"].as_u64() > status["last_run_unix_ms"].as_u64());

    let good = std::fs::read(&file).expect("good dump");
    daemon.ctl_json(&["autodump", "start", "--every", "1s", "--to", path, "--ns", "missing"]);
    // A run started before the change may still succeed; the first failed one is this one.
    let status = poll_until(deadline_in(Duration::from_secs(10)), || {
        let status = daemon.ctl_json(&["autodump", "status"]);
        let failed = status["last_result"].as_str().is_some_and(|r| r.starts_with("failed"));
        failed.then_some(status)
    });
    let status = status.unwrap_or_else(|| {
        panic!(
            "no run failed on the missing namespace: {}",
            daemon.ctl_json(&["autodump", "status"])
        )
    });
    // The result names the namespace that is not there.
    assert!(status["last_result"].as_str().is_some_and(|r| r.contains("missing")), "{status}");
    assert_eq!(std::fs::read(&file).expect("dump"), good, "a failed run keeps the last good dump");

    daemon.ctl_json(&["autodump", "start", "--every", "1s", "--to", path]);
    let changed = daemon.ctl_json(&["autodump", "change", "--every", "1h"]);
    assert_eq!(changed["every_ms"].as_u64(), Some(3_600_000), "{changed}");
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    daemon.spawn();
    let status = daemon.ctl_json(&["autodump", "status"]);
    assert_eq!(status["enabled"], true, "the schedule survived the restart: {status}");
    assert_eq!(status["every_ms"].as_u64(), Some(3_600_000));
    daemon.ctl_ok(&["clear", "d"]);
    daemon.ctl_ok(&["restore", path]);
    assert_eq!(daemon.ctl(&["get", "d", "k"]).stdout, b"v", "the auto-dump restores");
    let stopped = daemon.ctl_json(&["autodump", "stop"]);
    assert_eq!(stopped["enabled"], false, "{stopped}");
}

/// Keys in the dump the swap test restores.
const SWAP_KEYS: usize = 3000;
/// Its namespace (in memory: 120 rounds of 3000 keys stay quick).
const NS: &str = "swapped";

/// Puts `source` at `target` by one rename (through a hard link, so `source` stays).
fn swap_in(source: &Path, target: &Path) {
    let staging = target.with_extension("staging");
    let _ = std::fs::remove_file(&staging);
    std::fs::hard_link(source, &staging).expect("link");
    std::fs::rename(&staging, target).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_swapped_for_a_damaged_one_mid_restore_never_changes_the_cache_and_says_nothing_changed(
) {
    let daemon = Daemon::start_with_config(CONFIG);
    let client = daemon.client().await;
    let dir = daemon.dir.path();
    let entries: Vec<Entry> = (0..SWAP_KEYS)
        .map(|i| Entry {
            key: format!("k{i:05}"),
            value: ByteBuf::from(format!("value {i} {}", "x".repeat(200)).into_bytes()),
            ttl_ms: Some(0),
        })
        .collect();
    for batch in entries.chunks(500) {
        client.set_many(NS, batch.to_vec()).await.expect("fill");
    }
    let good = dir.join("good.dump");
    client.dump(&good, Some(NS), None).await.expect("dump");
    // The damaged twin fails late (its last data chunk), after most records would have loaded.
    let mut bytes = std::fs::read(&good).expect("dump");
    let near_end = bytes.len() - 200;
    bytes[near_end] ^= 0x01;
    let bad = dir.join("bad.dump");
    std::fs::write(&bad, &bytes).expect("bad dump");
    let target = dir.join("swapped.dump");
    swap_in(&good, &target);

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps, target) = (stop.clone(), swaps.clone(), target.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                swap_in(&bad, &target);
                swap_in(&good, &target);
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let (mut restored, mut refused) = (0, 0);
    for round in 0..120u32 {
        client.clear(NS).await.expect("clear");
        let marker = round.to_string();
        client.set(NS, "marker", marker.clone(), None, SetCondition::Always).await.expect("set");
        let result = client.restore(&target, Some(NS), RestoreMode::Replace).await;
        let keys = client.keys(NS, None).await.expect("keys");
        match result {
            Ok(report) => {
                assert_eq!(report.entries, SWAP_KEYS as u64, "round {round}");
                assert_eq!(keys.len(), SWAP_KEYS, "round {round}: the dump replaced the namespace");
                assert!(!keys.iter().any(|k| k == "marker"), "round {round}: replace cleared it");
                restored += 1;
            }
            Err(ClientError::Daemon { kind: ErrorKind::Corrupt, message }) => {
                // `corrupt` promises nothing changed: the namespace still holds exactly the marker.
                assert!(
                    keys == ["marker"],
                    "round {round}: {} keys after a `corrupt` answer: {message}",
                    keys.len()
                );
                let value = client.get(NS, "marker").await.expect("get");
                assert_eq!(value.as_deref(), Some(marker.as_bytes()), "round {round}");
                refused += 1;
            }
            Err(other) => panic!("round {round}: unexpected answer {other:?}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().expect("swapper");
    assert!(swaps.load(Ordering::Relaxed) > 0, "the file was swapped");
    // Both files were met: the race was really run, not one side of it.
    assert!(restored > 0 && refused > 0, "restored {restored}, refused {refused}");
}
