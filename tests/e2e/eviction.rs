//! Each eviction policy evicting what it should under a small `max_bytes`, via the binaries.

use cachemgr_e2e::{names_numbers, Daemon};

/// Measures what one `kN` -> 10-byte entry is charged, then limits `ns` to `slots` of them.
fn limited_daemon(policy: &str, slots: u64) -> Daemon {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["set", "probe", "k0", "0123456789"]);
    let json: serde_json::Value =
        serde_json::from_str(&daemon.ctl_ok(&["--json", "stats", "probe"])).expect("json");
    let cost = json["namespaces"][0]["stats"]["bytes_used"].as_u64().expect("bytes_used");
    let config =
        format!("[namespaces.{policy}]\neviction = \"{policy}\"\nmax_bytes = {}\n", cost * slots);
    std::fs::write(&daemon.config, config).expect("config");
    daemon.ctl_ok(&["reload"]);
    daemon
}

fn present(daemon: &Daemon, ns: &str, key: &str) -> bool {
    daemon.ctl(&["exists", ns, key]).status.code() == Some(0)
}

fn set(daemon: &Daemon, ns: &str, key: &str) {
    daemon.ctl_ok(&["set", ns, key, "0123456789"]);
}

fn evictions(daemon: &Daemon, ns: &str) -> u64 {
    let json: serde_json::Value =
        serde_json::from_str(&daemon.ctl_ok(&["--json", "stats", ns])).expect("json");
    json["namespaces"][0]["stats"]["evictions"].as_u64().expect("evictions")
}

#[test]
fn lru_evicts_least_recently_used() {
    let daemon = limited_daemon("lru", 5);
    for i in 0..5 {
        set(&daemon, "lru", &format!("k{i}"));
    }
    daemon.ctl_ok(&["get", "lru", "k0"]);
    set(&daemon, "lru", "k5");
    assert!(present(&daemon, "lru", "k0"), "recently read k0 stays");
    assert!(!present(&daemon, "lru", "k1"), "k1 is least recently used");
    assert_eq!(evictions(&daemon, "lru"), 1);
}

#[test]
fn lfu_evicts_least_frequently_used() {
    let daemon = limited_daemon("lfu", 5);
    for i in 0..5 {
        set(&daemon, "lfu", &format!("k{i}"));
    }
    for key in ["k0", "k1", "k2", "k3", "k0", "k1", "k2", "k3"] {
        daemon.ctl_ok(&["get", "lfu", key]);
    }
    set(&daemon, "lfu", "k5");
    assert!(!present(&daemon, "lfu", "k4"), "k4 was never read");
    for key in ["k0", "k1", "k2", "k3", "k5"] {
        assert!(present(&daemon, "lfu", key), "{key} stays");
    }
}

#[test]
fn fifo_evicts_oldest_write_even_if_read() {
    let daemon = limited_daemon("fifo", 5);
    for i in 0..5 {
        set(&daemon, "fifo", &format!("k{i}"));
    }
    daemon.ctl_ok(&["get", "fifo", "k0"]);
    set(&daemon, "fifo", "k5");
    assert!(!present(&daemon, "fifo", "k0"), "reads do not protect under fifo");
    assert!(present(&daemon, "fifo", "k1"));
}

#[test]
fn oversized_value_is_refused_with_a_clear_error() {
    let daemon = limited_daemon("lru", 5);
    let big = vec![b'x'; 4096];
    let out = daemon.ctl_with_stdin(&["set", "lru", "big"], Some(&big));
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error (too_large): "), "{err}");
    let stats = daemon.ctl_json(&["stats", "lru"]);
    let limit = stats["namespaces"][0]["stats"]["bytes_limit"].as_u64().expect("bytes_limit");
    assert!(names_numbers(&err, &[limit]), "names the namespace limit {limit}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_cap_evicts_from_the_largest_namespace_first() {
    let daemon = Daemon::start_with_config(
        "[memory]\nmax_bytes = \"1MiB\"\n[defaults]\nmax_bytes = \"1MiB\"\n",
    );
    let client = daemon.client().await;
    let value = vec![7u8; 100_000];
    let ttl = Some(std::time::Duration::from_secs(3600));
    for i in 0..8 {
        client
            .set("big", &format!("b{i}"), value.clone(), ttl, Default::default())
            .await
            .expect("set");
    }
    for i in 0..4 {
        client
            .set("small", &format!("s{i}"), value.clone(), None, Default::default())
            .await
            .expect("set");
    }
    let report = client.stats(None).await.expect("stats");
    assert!(report.total.bytes_used <= 1 << 20, "{:?}", report.total);
    let of = |ns: &str| report.namespaces.iter().find(|row| row.ns == ns).expect("ns").stats;
    assert_eq!(of("small").entries, 4, "the namespace being written keeps its entries");
    // 12 entries of ~100 kB do not fit 1 MiB; 10 do: the two missing come out of `big`.
    assert_eq!(of("big").entries, 6, "the largest namespace paid");
    assert_eq!(of("big").evictions, 2);
    assert_eq!(of("big").evicted_before_expiry, 2, "they still had an hour to live");
    let too_big = client.set("small", "huge", vec![0u8; 2 << 20], None, Default::default()).await;
    let err = too_big.expect_err("over the global cap");
    assert_eq!(err.daemon_kind(), Some(cachectl::ErrorKind::TooLarge), "{err}");
    assert!(names_numbers(&err.to_string(), &[1 << 20]), "names the 1 MiB limit: {err}");
}
