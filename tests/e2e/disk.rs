//! The disk tiers through the real binaries: every operation on `disk` and `memory+disk`
//! namespaces, paging, patterns, clears.

use std::time::{Duration, Instant};

use cachemgr_e2e::{deadline_in, poll_until, Daemon};

const TIERS: &str = r#"
[namespaces.d]
tier = "disk"
durability = "fsync"

[namespaces.md]
tier = "memory+disk"
"#;

#[test]
fn every_operation_on_both_disk_tiers() {
    let daemon = Daemon::start_with_config(TIERS);
    for ns in ["d", "md"] {
        daemon.ctl_ok(&["set", ns, "greeting", "hello"]);
        assert_eq!(daemon.ctl(&["get", ns, "greeting"]).stdout, b"hello", "{ns}");
        assert_eq!(daemon.ctl(&["exists", ns, "greeting"]).status.code(), Some(0));
        daemon.ctl_ok(&["set", ns, "short", "v", "--ttl", "1h"]);
        let ttl = daemon.ctl_ok(&["ttl", ns, "short"]);
        assert!(ttl.contains("59m") || ttl.contains("1h"), "{ns}: {ttl}");
        daemon.ctl_ok(&["expire", ns, "short", "2h"]);
        let ttl = daemon.ctl_ok(&["ttl", ns, "short"]);
        assert!(ttl.contains("1h 59m") || ttl.contains("2h"), "{ns}: {ttl}");
        let big: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        let out = daemon.ctl_with_stdin(&["set", ns, "big"], Some(&big));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(daemon.ctl(&["get", ns, "big"]).stdout, big, "{ns}: big value round trip");
        let deleted = daemon.ctl_ok(&["del", ns, "greeting", "nope"]);
        assert!(deleted.contains('1'), "{ns}: {deleted}");
        assert_eq!(daemon.ctl(&["get", ns, "greeting"]).status.code(), Some(1), "{ns}");
        assert_eq!(daemon.ctl(&["set", ns, "big", "x", "--nx"]).status.code(), Some(1), "{ns}");
        daemon.ctl_ok(&["set", ns, "fresh", "y", "--nx"]);
        assert_eq!(daemon.ctl(&["get", ns, "fresh"]).stdout, b"y", "{ns}");
    }
}

#[test]
fn short_ttls_expire_on_disk_lazily_and_by_the_sweeper() {
    let daemon = Daemon::start_with_config(TIERS);
    // Every 300 ms TTL below starts after this instant, so none may run out before 300 ms.
    let before_sets = Instant::now();
    for ns in ["d", "md"] {
        for i in 0..50 {
            daemon.ctl_ok(&["set", ns, &format!("k{i}"), "v", "--ttl", "300ms"]);
        }
        daemon.ctl_ok(&["set", ns, "keep", "v"]);
    }
    let wait = || deadline_in(Duration::from_secs(10));
    for ns in ["d", "md"] {
        let gone = poll_until(wait(), || {
            let missing = daemon.ctl(&["get", ns, "k0"]).status.code() == Some(1);
            missing.then(|| before_sets.elapsed())
        });
        let gone = gone.unwrap_or_else(|| panic!("{ns}: k0 never expired"));
        assert!(gone >= Duration::from_millis(300), "{ns}: a 300 ms TTL ran out after {gone:?}");
        let left = poll_until(wait(), || {
            Some(daemon.ctl_ok(&["keys", ns])).filter(|k| k.trim() == "keep")
        });
        assert!(
            left.is_some(),
            "{ns}: only the key without TTL is left: {}",
            daemon.ctl_ok(&["keys", ns])
        );
    }
    let expired = |stats: &serde_json::Value| stats["namespaces"][0]["stats"]["expired"].as_u64();
    let counted = poll_until(wait(), || {
        Some(daemon.ctl_json(&["stats", "d"])).filter(|s| expired(s) == Some(50))
    });
    assert!(counted.is_some(), "sweeper counted 50 expiries: {}", daemon.ctl_json(&["stats", "d"]));
}

#[test]
fn paging_patterns_and_clear_on_disk() {
    let daemon = Daemon::start_with_config(TIERS);
    for ns in ["d", "md"] {
        let users = (0..3000).map(|i| format!("user:{i:05}=v{i}"));
        let sessions = (0..500).map(|i| format!("sess:{i:05}=v{i}"));
        let pairs: Vec<String> = users.chain(sessions).collect();
        for chunk in pairs.chunks(500) {
            let mut args = vec!["mset", ns];
            args.extend(chunk.iter().map(String::as_str));
            daemon.ctl_ok(&args);
        }
        let listed = daemon.ctl_ok(&["keys", ns, "user:*"]);
        let mut keys: Vec<&str> = listed.lines().collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 3000, "{ns}: every user key exactly once");
        let count = daemon.ctl_ok(&["count", ns, "sess:*"]);
        assert!(count.contains("500"), "{ns}: {count}");
        let deleted = daemon.ctl_ok(&["del-pattern", ns, "sess:*"]);
        assert!(deleted.contains("500"), "{ns}: {deleted}");
        assert_eq!(daemon.ctl(&["get", ns, "sess:00001"]).status.code(), Some(1), "{ns}");
        let cleared = daemon.ctl_ok(&["clear", ns]);
        assert!(cleared.contains("3000"), "{ns}: {cleared}");
        assert!(daemon.ctl_ok(&["keys", ns]).trim().is_empty(), "{ns}: empty after clear");
    }
}
