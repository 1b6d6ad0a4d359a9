//! `max_bytes` (or `disk_max_bytes`) holds on disk: a disk namespace written far past its
//! limit stays under it, evicting by its own policy; a value that alone exceeds the limit is
//! refused.

use cachemgr_e2e::Daemon;
use cachemgr_proto::{ErrorKind, RequestBody, ResponseBody, SetCondition};

use crate::disk_full::call;
use crate::durability::TEST_KEY;

const LIMIT: u64 = 1 << 20;

const CONFIG: &str = r#"
[namespaces.lru]
tier = "disk"
max_bytes = "1MiB"
eviction = "lru"

[namespaces.fifo]
tier = "disk"
max_bytes = "1MiB"
eviction = "fifo"

[namespaces.lfu]
tier = "disk"
max_bytes = "1MiB"
eviction = "lfu"

[namespaces.both]
tier = "memory+disk"
max_bytes = "256KiB"
disk_max_bytes = "1MiB"
eviction = "lru"
"#;

fn set(ns: &str, key: &str, value: Vec<u8>) -> RequestBody {
    RequestBody::Set {
        ns: ns.into(),
        key: key.into(),
        value: serde_bytes::ByteBuf::from(value),
        ttl_ms: None,
        condition: SetCondition::Always,
    }
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The disk layer's stats of `ns`.
fn disk_stats(daemon: &Daemon, ns: &str) -> serde_json::Value {
    let stats = daemon.ctl_json(&["stats", ns]);
    let layers = stats["namespaces"][0]["layers"].as_array().expect("layers").clone();
    layers.into_iter().find(|l| l["layer"] == "disk").expect("a disk layer")["stats"].clone()
}

#[test]
fn disk_namespaces_stay_under_max_bytes_and_evict_by_their_policy() {
    let mut daemon = Daemon::start_with_env(CONFIG, &[("CACHEMGR_KEY", TEST_KEY)]);
    let mut conn = daemon.raw();
    conn.handshake();
    let mut id = 1;
    let get = |ns: &str, key: &str| RequestBody::Get { ns: ns.into(), key: key.into() };
    for ns in ["lru", "fifo", "lfu", "both"] {
        let stored = call(&mut conn, &mut id, set(ns, "hot", noise(0, 8192)));
        assert!(matches!(stored, Some(ResponseBody::Stored { stored: true })), "{ns}");
        // 8 MiB through a 1 MiB namespace, reading `hot` all along.
        for i in 0..512u64 {
            let stored =
                call(&mut conn, &mut id, set(ns, &format!("k{i:04}"), noise(i + 1, 16384)));
            assert!(matches!(stored, Some(ResponseBody::Stored { stored: true })), "{ns} {i}");
            let read = call(&mut conn, &mut id, get(ns, "hot"));
            assert!(matches!(read, Some(ResponseBody::Value { .. })), "{ns}: {read:?}");
        }
        let stats = disk_stats(&daemon, ns);
        let used = stats["bytes_used"].as_u64().expect("bytes_used");
        assert!(used <= LIMIT, "{ns}: {used} bytes on disk, limit {LIMIT}: {stats}");
        assert!(used > LIMIT / 2, "{ns}: the disk holds up to its limit: {stats}");
        assert_eq!(stats["bytes_limit"].as_u64(), Some(LIMIT), "{ns}: {stats}");
        assert!(stats["evictions"].as_u64().unwrap_or(0) > 400, "{ns}: {stats}");
        let newest = call(&mut conn, &mut id, get(ns, "k0511"));
        assert!(
            matches!(&newest, Some(ResponseBody::Value { value: Some(_) })),
            "{ns}: the last write stays"
        );
        let oldest = call(&mut conn, &mut id, get(ns, "k0000"));
        assert!(
            matches!(&oldest, Some(ResponseBody::Value { value: None })),
            "{ns}: an old write went: {oldest:?}"
        );
    }
    // Under LRU and LFU the key read all along survives; under FIFO it went first (asked
    // after a restart, so only the disk layer answers).
    drop(conn);
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(std::time::Duration::from_secs(10)), Some(0));
    daemon.spawn();
    for (ns, survives) in [("lru", true), ("lfu", true), ("fifo", false)] {
        let out = daemon.ctl(&["get", ns, "hot"]);
        assert_eq!(out.status.success(), survives, "{ns}: hot key survived = {survives}");
    }
    for ns in ["lru", "fifo", "lfu", "both"] {
        let used = disk_stats(&daemon, ns)["bytes_used"].as_u64().expect("bytes_used");
        assert!(used <= LIMIT, "{ns} after a restart: {used}");
    }
    // The file itself stays bounded (redb reuses the pages of evicted values).
    let file = std::fs::metadata(daemon.state_dir().join("cache.redb")).expect("file").len();
    // (Below the 32 MiB written; how far below depends on how writes were batched.)
    assert!(file < 24 * LIMIT, "32 MiB written through 4 MiB of limits, file {file} bytes");

    // A lower limit applies at once on reload, not only at the next write.
    let lowered = CONFIG.replacen("max_bytes = \"1MiB\"", "max_bytes = \"256KiB\"", 1);
    std::fs::write(&daemon.config, lowered).expect("config");
    daemon.ctl_ok(&["reload"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stats = disk_stats(&daemon, "lru");
        let used = stats["bytes_used"].as_u64().expect("bytes_used");
        if used <= LIMIT / 4 && stats["bytes_limit"].as_u64() == Some(LIMIT / 4) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not trimmed: {stats}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let mut conn = daemon.raw();
    conn.handshake();
    match call(&mut conn, &mut id, set("lru", "huge", noise(9, 2 << 20))) {
        Some(ResponseBody::Error { kind: ErrorKind::TooLarge, message }) => {
            assert!(message.contains("262144"), "names the limit: {message}")
        }
        other => panic!("a value over max_bytes is refused: {other:?}"),
    }
}
