//! Every key/value operation through the real `cachectl` binary.

use cachemgr_e2e::Daemon;

#[test]
fn ping_info_and_namespaces() {
    let daemon = Daemon::start();
    assert!(daemon.ctl_ok(&["ping"]).to_lowercase().contains("pong"));
    let info: serde_json::Value =
        serde_json::from_str(&daemon.ctl_ok(&["--json", "info"])).expect("info json");
    assert_eq!(info["pid"].as_u64(), Some(u64::from(daemon.pid())));
    assert_eq!(info["protocol"].as_u64(), Some(1));
    assert_eq!(info["socket"].as_str(), daemon.socket.to_str());
    daemon.ctl_ok(&["set", "alpha", "k", "v"]);
    daemon.ctl_ok(&["set", "beta", "k", "v"]);
    let list = daemon.ctl_ok(&["ns", "list"]);
    assert!(list.contains("alpha") && list.contains("beta"), "{list}");
}

#[test]
fn set_get_delete_exists_round_trip() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["set", "app", "greeting", "hello world"]);
    assert_eq!(daemon.ctl(&["get", "app", "greeting"]).stdout, b"hello world");
    assert_eq!(daemon.ctl(&["exists", "app", "greeting"]).status.code(), Some(0));
    let deleted = daemon.ctl_ok(&["del", "app", "greeting", "nope"]);
    assert!(deleted.contains('1'), "one of two keys existed: {deleted}");
    let missing = daemon.ctl(&["get", "app", "greeting"]);
    assert_eq!(missing.status.code(), Some(1), "missing key exits 1");
    assert!(missing.stdout.is_empty());
    assert_eq!(daemon.ctl(&["exists", "app", "greeting"]).status.code(), Some(1));
}

#[test]
fn binary_values_through_stdin_file_and_out() {
    let daemon = Daemon::start();
    let value: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let out = daemon.ctl_with_stdin(&["set", "bin", "blob"], Some(&value));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(daemon.ctl(&["get", "bin", "blob"]).stdout, value, "stdin round trip");

    let file = daemon.dir.path().join("in.bin");
    std::fs::write(&file, &value[..1000]).expect("write");
    daemon.ctl_ok(&["set", "bin", "fromfile", "--file", file.to_str().expect("utf8")]);
    let out_file = daemon.dir.path().join("out.bin");
    daemon.ctl_ok(&["get", "bin", "fromfile", "--out", out_file.to_str().expect("utf8")]);
    assert_eq!(std::fs::read(&out_file).expect("read"), &value[..1000]);
}

#[test]
fn conditional_sets() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["set", "c", "k", "first", "--nx"]);
    daemon.ctl(&["set", "c", "k", "second", "--nx"]);
    assert_eq!(daemon.ctl(&["get", "c", "k"]).stdout, b"first", "--nx keeps the old value");
    daemon.ctl(&["set", "c", "absent", "x", "--xx"]);
    assert_eq!(
        daemon.ctl(&["exists", "c", "absent"]).status.code(),
        Some(1),
        "--xx on a missing key"
    );
    daemon.ctl_ok(&["set", "c", "k", "third", "--xx"]);
    assert_eq!(daemon.ctl(&["get", "c", "k"]).stdout, b"third");
}

#[test]
fn mget_mset() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["mset", "m", "a=1", "b=2", "c=3"]);
    let out = daemon.ctl_ok(&["mget", "m", "a", "zz", "c"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["1", "(nil)", "3"]);
    let json: serde_json::Value =
        serde_json::from_str(&daemon.ctl_ok(&["--json", "mget", "m", "b", "zz"])).expect("json");
    assert!(json.to_string().contains("null"), "{json}");
    assert_eq!(
        daemon.ctl(&["mset", "m", "novalue"]).status.code(),
        Some(2),
        "bad KEY=VALUE is a usage error"
    );
}

#[test]
fn clear_namespace_and_all_report_what_they_freed() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["mset", "one", "a=1", "b=2"]);
    daemon.ctl_ok(&["mset", "two", "a=1"]);
    let cleared = daemon.ctl_ok(&["--json", "clear", "one"]);
    let json: serde_json::Value = serde_json::from_str(&cleared).expect("json");
    assert_eq!(json["entries"].as_u64(), Some(2), "{cleared}");
    assert!(json["bytes"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        daemon.ctl(&["exists", "two", "a"]).status.code(),
        Some(0),
        "other namespace untouched"
    );
    daemon.ctl_ok(&["clear", "--all"]);
    assert_eq!(daemon.ctl(&["exists", "two", "a"]).status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_hits_misses_sets_deletes() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    for i in 0..10 {
        client.set("s", &format!("k{i}"), b"v", None, Default::default()).await.expect("set");
    }
    for i in 0..15 {
        client.get("s", &format!("k{i}")).await.expect("get");
    }
    client.delete("s", &["k0", "k1", "missing"]).await.expect("del");
    let report = client.stats(Some("s")).await.expect("stats");
    let stats = report.namespaces[0].stats;
    assert_eq!((stats.sets, stats.hits, stats.misses, stats.deletes), (10, 10, 5, 2));
    assert_eq!(stats.entries, 8);
    assert!(stats.bytes_used > 0 && stats.bytes_used <= stats.bytes_limit);
    let text = daemon.ctl_ok(&["stats", "s"]);
    assert!(text.contains("66.7") || text.contains("66.6"), "hit rate shown: {text}");
    let missing = daemon.ctl(&["stats", "nope"]);
    assert_eq!(missing.status.code(), Some(4), "unknown namespace is a daemon error");
}

#[test]
fn unreachable_daemon_exits_3_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(cachemgr_e2e::binary("cachectl"))
        .arg("--socket")
        .arg(dir.path().join("none.sock"))
        .arg("ping")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cachemgrd"), "message says how to start it: {err}");
}
