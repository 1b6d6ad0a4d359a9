//! TTLs: expiry on access, active expiry in the background, ttl/expire commands.

use std::time::{Duration, Instant};

use cachemgr_e2e::{deadline_in, poll_until_async, Daemon};

#[test]
fn ttl_and_expire_commands() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["set", "t", "k", "v", "--ttl", "1h"]);
    let ttl = daemon.ctl_ok(&["--json", "ttl", "t", "k"]);
    let json: serde_json::Value = serde_json::from_str(&ttl).expect("json");
    let ms = json["ttl_ms"].as_u64().expect("ttl_ms");
    assert!(ms > 3_500_000 && ms <= 3_600_000, "{ttl}");
    daemon.ctl_ok(&["expire", "t", "k", "10m"]);
    let json: serde_json::Value =
        serde_json::from_str(&daemon.ctl_ok(&["--json", "ttl", "t", "k"])).expect("json");
    assert!(json["ttl_ms"].as_u64().expect("ttl_ms") <= 600_000);
    daemon.ctl_ok(&["expire", "t", "k", "--persist"]);
    assert!(daemon.ctl_ok(&["ttl", "t", "k"]).contains("no expiry"));
    assert_eq!(daemon.ctl(&["ttl", "t", "missing"]).status.code(), Some(1));
    assert_eq!(daemon.ctl(&["expire", "t", "missing", "1m"]).status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_expire_on_access_and_in_the_background() {
    let daemon = Daemon::start();
    // Every 300 ms TTL below starts after this instant, so none may run out before 300 ms.
    let before_sets = Instant::now();
    daemon.ctl_ok(&["set", "t", "short", "v", "--ttl", "300ms"]);
    daemon.ctl_ok(&["set", "t", "long", "v", "--ttl", "1h"]);
    let client = daemon.client().await;
    for i in 0..50 {
        client
            .set("t", &format!("bg{i}"), b"v", Some(Duration::from_millis(300)), Default::default())
            .await
            .expect("set");
    }
    assert_eq!(daemon.ctl(&["get", "t", "short"]).stdout, b"v");
    // Nobody touches bg* (stats reads no key): only the background sweeper can remove them.
    let swept = poll_until_async(deadline_in(Duration::from_secs(10)), || async {
        let stats = client.stats(Some("t")).await.expect("stats").namespaces[0].stats;
        (stats.entries == 1).then(|| (stats, before_sets.elapsed()))
    })
    .await;
    let (stats, after) = swept.unwrap_or_else(|| panic!("the sweeper never left only the 1h key"));
    assert!(after >= Duration::from_millis(300), "300 ms TTLs ran out after {after:?}");
    assert_eq!(stats.expired, 51, "{stats:?}");
    assert_eq!(daemon.ctl(&["get", "t", "short"]).status.code(), Some(1));
    assert_eq!(daemon.ctl(&["get", "t", "long"]).stdout, b"v");
}

#[test]
fn namespace_default_ttl_applies_when_none_is_given() {
    let daemon = Daemon::start_with_config("[namespaces.sessions]\ndefault_ttl = \"30m\"\n");
    daemon.ctl_ok(&["set", "sessions", "s1", "v"]);
    let json: serde_json::Value =
        serde_json::from_str(&daemon.ctl_ok(&["--json", "ttl", "sessions", "s1"])).expect("json");
    let ms = json["ttl_ms"].as_u64().expect("has ttl");
    assert!(ms > 1_700_000 && ms <= 1_800_000, "{json}");
}
