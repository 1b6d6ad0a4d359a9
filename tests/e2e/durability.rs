//! What must survive: acknowledged `fsync` writes through `kill -9`, disk namespaces and
//! their TTLs through a restart, and a key rotation under load with nothing lost or wrong.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cachemgr_e2e::{wait_for_instant, Daemon};

/// A fixed persistent master key for these tests (base64 of 32 bytes).
pub const TEST_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

const CONFIG: &str = r#"
[defaults]
tier = "disk"

[namespaces.safe]
tier = "disk"
durability = "fsync"

[namespaces.both]
tier = "memory+disk"
durability = "fsync"
"#;

/// A daemon with a persistent key.
pub fn persistent_daemon(config: &str) -> Daemon {
    Daemon::start_with_env(config, &[("CACHEMGR_KEY", TEST_KEY)])
}

#[test]
fn restart_keeps_disk_namespaces_values_and_ttls() {
    let mut daemon = persistent_daemon(CONFIG);
    for ns in ["safe", "both", "auto"] {
        daemon.ctl_ok(&["set", ns, "forever", "kept"]);
        daemon.ctl_ok(&["set", ns, "hour", "kept too", "--ttl", "1h"]);
        daemon.ctl_ok(&["set", ns, "brief", "gone", "--ttl", "500ms"]);
    }
    // Every `brief` TTL has run out 500 ms after the last set returned.
    let briefs_end = Instant::now() + Duration::from_millis(500);
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    // They must run out while the daemon is down, where there is nothing to watch: wait for
    // that moment by the test's own clock (a known deadline, not a guessed pause).
    wait_for_instant(briefs_end);
    daemon.spawn();
    for ns in ["safe", "both", "auto"] {
        assert_eq!(daemon.ctl(&["get", ns, "forever"]).stdout, b"kept", "{ns}");
        assert_eq!(daemon.ctl(&["get", ns, "hour"]).stdout, b"kept too", "{ns}");
        let ttl = daemon.ctl_json(&["ttl", ns, "hour"]);
        let left = ttl["ttl_ms"].as_u64().expect("has a ttl");
        assert!(left > 3_500_000 && left <= 3_600_000, "{ns}: TTL kept across restart: {left}");
        assert_eq!(daemon.ctl(&["get", ns, "brief"]).status.code(), Some(1), "{ns}: expired");
    }
    let stats: serde_json::Value = daemon.ctl_json(&["stats"]);
    let rows = stats["namespaces"].as_array().expect("rows");
    let auto = rows.iter().find(|r| r["ns"] == "auto").expect("auto-created ns is back");
    assert_eq!(auto["tier"], "disk");
    assert!(auto["stats"]["entries"].as_u64() >= Some(2), "entries on disk: {auto}");
    let both = rows.iter().find(|r| r["ns"] == "both").expect("both");
    let layers: Vec<&str> = both["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["layer"].as_str())
        .collect();
    assert_eq!(layers, ["memory", "disk"], "{both}");
}

#[test]
fn acknowledged_fsync_writes_survive_kill_9() {
    let mut daemon = persistent_daemon(CONFIG);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut acked: HashMap<String, String> = HashMap::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..20 {
        let socket = daemon.socket.clone();
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer_log = log.clone();
        let writer = runtime.spawn(async move {
            let Ok(client) = cachectl::Client::connect(&socket, "crash-test").await else {
                return;
            };
            let tasks = (0..8).map(|lane| {
                let (client, log) = (client.clone(), writer_log.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        let key = format!("r{round}:l{lane}:{i}");
                        let value = format!("value of {key} {}", "x".repeat(i % 300));
                        let ns = if lane % 2 == 0 { "safe" } else { "both" };
                        match client.set(ns, &key, value.as_bytes(), None, Default::default()).await
                        {
                            Ok(true) => log.lock().expect("log").push((ns, key, value)),
                            _ => return,
                        }
                    }
                })
            });
            for task in tasks.collect::<Vec<_>>() {
                let _ = task.await;
            }
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(30 + seed % 120));
        daemon.kill_hard();
        let _ = runtime.block_on(writer);
        let written = std::mem::take(&mut *log.lock().expect("log"));
        assert!(round > 0 || !written.is_empty(), "the writer got acknowledgements");
        for (ns, key, value) in written {
            acked.insert(format!("{ns}\u{0}{key}"), value);
        }
        daemon.spawn();
        let start = Instant::now();
        let client = runtime.block_on(daemon.client());
        for (id, value) in &acked {
            let (ns, key) = id.split_once('\u{0}').expect("id");
            let got = runtime.block_on(client.get(ns, key)).expect("get");
            assert_eq!(got.as_deref(), Some(value.as_bytes()), "round {round}: {ns}/{key} lost");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "verification took too long");
    }
    assert!(acked.len() > 100, "enough writes were acknowledged: {}", acked.len());
}

#[test]
fn rotation_under_load_loses_nothing_and_leaves_no_old_key() {
    let mut daemon = persistent_daemon(CONFIG);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = runtime.block_on(daemon.client());
    for ns in ["safe", "both"] {
        let entries: Vec<cachemgr_proto::Entry> = (0..3000)
            .map(|i| cachemgr_proto::Entry {
                key: format!("seed:{i}"),
                value: serde_bytes::ByteBuf::from(format!("seed value {i}").into_bytes()),
                ttl_ms: None,
            })
            .collect();
        runtime.block_on(client.set_many(ns, entries)).expect("seed");
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, stop) = (client.clone(), stop.clone());
        runtime.spawn(async move {
            let mut written = Vec::new();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ns = if i.is_multiple_of(2) { "safe" } else { "both" };
                let key = format!("live:{i}");
                let value = format!("live value {i}");
                let stored = client.set(ns, &key, value.as_bytes(), None, Default::default()).await;
                assert_eq!(stored.ok(), Some(true), "write {i} during rotation");
                let seed = format!("seed:{}", i % 3000);
                let read = client.get(ns, &seed).await.expect("read during rotation");
                assert_eq!(
                    read,
                    Some(format!("seed value {}", i % 3000).into_bytes()),
                    "{ns}/{seed}"
                );
                written.push((ns, key, value));
                i += 1;
            }
            written
        })
    };
    let rotated = daemon.ctl_json(&["key", "rotate"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = runtime.block_on(load).expect("load task");
    assert!(written.len() > 10, "writes went on during the rotation: {}", written.len());
    let safe = rotated["namespaces"].as_array().expect("rows").iter().find(|r| r["ns"] == "safe");
    let safe = safe.expect("safe rotated");
    assert_eq!(safe["new_key_id"].as_u64(), safe["old_key_id"].as_u64().map(|id| id + 1));
    assert!(safe["resealed"].as_u64() >= Some(3000), "{safe}");
    for (ns, key, value) in &written {
        let got = runtime.block_on(client.get(ns, key)).expect("get");
        assert_eq!(got.as_deref(), Some(value.as_bytes()), "{ns}/{key} after rotation");
    }
    let status: serde_json::Value = daemon.ctl_json(&["key", "status"]);
    let rows = status["namespaces"].as_array().expect("rows");
    let safe_row = rows.iter().find(|r| r["ns"] == "safe").expect("safe row");
    assert!(safe_row.get("rotation").is_none_or(serde_json::Value::is_null), "{safe_row}");
    let new_id = safe["new_key_id"].as_u64().expect("id") as u32;
    drop(client);
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    for ns in ["safe", "both"] {
        let ids = crate::tamper::key_ids_in_file(&daemon.state_dir().join("cache.redb"), ns);
        assert!(!ids.is_empty(), "{ns} has values");
        assert!(ids.iter().all(|id| *id == new_id), "{ns}: values still sealed with {ids:?}");
    }
}

#[test]
fn concurrent_first_writes_to_a_new_disk_namespace_survive_a_restart() {
    let mut daemon = persistent_daemon(CONFIG);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // One connection each: a connection's requests are served in order, so racing first
    // writes need many connections.
    let clients: Vec<_> = (0..64).map(|_| runtime.block_on(daemon.client())).collect();
    let writes = clients.into_iter().enumerate().map(|(i, client)| {
        runtime.spawn(async move {
            let ns = ["fresh", "both", "safe"][i % 3];
            let key = format!("k{i}");
            let stored = client.set(ns, &key, b"first", None, Default::default()).await;
            assert_eq!(stored.ok(), Some(true), "{ns}/{key}");
        })
    });
    for write in writes.collect::<Vec<_>>() {
        runtime.block_on(write).expect("writer");
    }
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    daemon.spawn();
    for i in 0..64 {
        let ns = ["fresh", "both", "safe"][i % 3];
        assert_eq!(daemon.ctl(&["get", ns, &format!("k{i}")]).stdout, b"first", "{ns}/k{i}");
    }
    let stats = daemon.ctl_ok(&["--json", "stats"]);
    assert!(!stats.contains("\"corrupt\":1"), "nothing failed to open: {stats}");
}
