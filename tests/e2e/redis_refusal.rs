//! Redis refusing writes (at `maxmemory` with `noeviction`, or a read-only replica) while it
//! is reachable: every write kind fails with Redis's answer instead of being acknowledged
//! and kept locally, the two daemons never disagree, the refusals are counted, and `status`
//! reports them until Redis accepts writes again. A TTL Redis could not keep is refused
//! before it is sent.

use std::process::Output;
use std::time::{Duration, Instant};

use cachemgr_e2e::redis_server::RedisServer;
use cachemgr_e2e::Daemon;

use crate::redis::{start, wait_for_value};

/// cachectl's exit code for an error the daemon answered with.
const EXIT_DAEMON_ERROR: i32 = 4;

/// Runs a cachectl command that must fail with a daemon error of `kind` naming `answer`
/// (Redis's error code, or the value refused); returns its stderr.
fn refused(daemon: &Daemon, args: &[&str], kind: &str, answer: &str) -> String {
    let out: Output = daemon.ctl(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(EXIT_DAEMON_ERROR), "{args:?} must fail: {stderr}");
    assert!(stderr.starts_with(&format!("error ({kind}): ")), "{args:?}: {stderr}");
    assert!(stderr.contains(answer), "{args:?} must name {answer}: {stderr}");
    stderr
}

/// `status --json`, whatever its exit code, with that code.
fn status(daemon: &Daemon) -> (Option<i32>, serde_json::Value) {
    let out = daemon.ctl(&["--json", "status"]);
    let json = serde_json::from_slice(&out.stdout).expect("status --json prints JSON");
    (out.status.code(), json)
}

/// Polls `status` until it is healthy again (the write probe saw Redis accept writes).
fn wait_healthy(daemon: &Daemon) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, json) = status(daemon);
        if code == Some(0) {
            return json;
        }
        assert!(Instant::now() < deadline, "status never recovered: {json}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `RedisStatus.refused`, and the same count from the Prometheus exposition.
fn refused_count(daemon: &Daemon) -> u64 {
    let (_, json) = status(daemon);
    let count = json["redis"]["refused"].as_u64().expect("redis.refused");
    let exposition = daemon.ctl_ok(&["stats", "--format", "prometheus"]);
    let metric = exposition
        .lines()
        .find_map(|line| line.strip_prefix("cachemgr_redis_refused_total "))
        .unwrap_or_else(|| panic!("no cachemgr_redis_refused_total in:\n{exposition}"));
    assert_eq!(metric.trim().parse::<u64>().ok(), Some(count), "{exposition}");
    count
}

/// Both daemons read `want` (None: not found) for `ns`/`key`.
fn both_read(a: &Daemon, b: &Daemon, ns: &str, key: &str, want: Option<&str>) {
    for (name, daemon) in [("A", a), ("B", b)] {
        let out = daemon.ctl(&["get", ns, key]);
        let seen = out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned());
        assert_eq!(seen.as_deref(), want, "{name} reads {ns}/{key}");
    }
}

/// `len` characters of xorshift noise (seeded by `seed`), which sealing cannot compress away.
fn incompressible(len: usize, seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(ALPHABET[(state % 64) as usize])
        })
        .collect()
}

/// Redis holds `keys` keys, none of them with an expiry (the daemons' local copies may
/// carry `redis.local_max_age` as theirs).
fn assert_no_expiry_in_redis(redis: &RedisServer, keys: usize) {
    let all = redis.all_keys();
    assert_eq!(all.len(), keys, "{all:?}");
    for key in &all {
        assert_eq!(redis.cli(&["PTTL", key]).as_deref().map(str::trim), Some("-1"), "{key}");
    }
}

fn used_memory(redis: &RedisServer) -> u64 {
    let info = redis.cli(&["INFO", "memory"]).expect("INFO memory");
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in {info}"))
}

#[test]
fn redis_at_maxmemory_refuses_writes_and_nobody_is_told_stored() {
    let redis = RedisServer::start();
    let a = start(&redis.unix_url(), "");
    let b = start(&redis.tcp_url(), "");
    for ns in ["shared", "durable"] {
        a.ctl_ok(&["set", ns, "k", "old"]);
        // B holds a memory copy from now on, refreshed only by invalidations.
        assert_eq!(b.ctl_ok(&["get", ns, "k"]), "old");
    }

    let limit = used_memory(&redis) + 1024 * 1024;
    redis.cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]).expect("policy");
    redis.cli(&["CONFIG", "SET", "maxmemory", &limit.to_string()]).expect("maxmemory");
    // Fill Redis through the daemon until it refuses: 64 KiB values that do not compress,
    // a few MiB at most.
    let mut stored = 0;
    let fill_error = loop {
        let key = format!("fill:{stored}");
        let out = a.ctl(&["set", "shared", &key, &incompressible(64 * 1024, stored)]);
        if !out.status.success() {
            break (key, out);
        }
        stored += 1;
        assert!(stored < 200, "Redis never refused a write past its maxmemory");
    };
    let (full_key, out) = fill_error;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_DAEMON_ERROR), "{stderr}");
    assert!(stderr.starts_with("error (storage): ") && stderr.contains("OOM"), "{stderr}");
    assert!(stored > 0, "Redis refused the first write already");
    // The refused value is nowhere: not in A's memory, not in B's.
    both_read(&a, &b, "shared", &full_key, None);
    // At the edge Redis still takes a write small enough to fit under the limit (the
    // refused 64 KiB request itself weighed in); keep it full for what follows, as a busy
    // Redis would be: the limit goes just under what it uses now.
    let full = used_memory(&redis).saturating_sub(512 * 1024);
    redis.cli(&["CONFIG", "SET", "maxmemory", &full.to_string()]).expect("maxmemory");

    // A refused overwrite keeps the old value on both daemons, for every Redis tier.
    for ns in ["shared", "durable"] {
        refused(&a, &["set", ns, "k", "refused"], "storage", "OOM");
        both_read(&a, &b, ns, "k", Some("old"));
        refused(&a, &["set", ns, "k", "refused", "--nx"], "storage", "OOM");
        both_read(&a, &b, ns, "k", Some("old"));
    }
    let stderr = refused(&a, &["mset", "shared", "k=refused", "new=refused"], "storage", "OOM");
    assert!(!stderr.contains("part of the change"), "all of it was refused: {stderr}");
    both_read(&a, &b, "shared", "k", Some("old"));
    both_read(&a, &b, "shared", "new", None);

    // Refusals are counted and make the daemon unhealthy, naming Redis's answer.
    let count = refused_count(&a);
    assert!(count >= 6, "{count} refusals counted");
    let (code, json) = status(&a);
    assert_eq!(code, Some(1), "status must fail while Redis refuses writes: {json}");
    assert_eq!(json["healthy"], false, "{json}");
    let problems = json["problems"].to_string();
    assert!(problems.contains("refusing writes") && problems.contains("OOM"), "{json}");
    assert_eq!(json["redis"]["breaker"], "closed", "a refusal is not an outage: {json}");
    assert_eq!(json["redis"]["degraded"], 0, "nothing was served locally instead: {json}");

    // Redis at maxmemory still deletes: that is accepted, on both daemons, and does not make
    // status healthy while SETs are refused.
    a.ctl_ok(&["del", "shared", "fill:0"]);
    both_read(&a, &b, "shared", "fill:0", None);
    assert_eq!(status(&a).0, Some(1), "deletes pass at maxmemory; writes are still refused");

    // Redis accepts writes again: status recovers without any client write, writes flow.
    redis.cli(&["CONFIG", "SET", "maxmemory", "0"]).expect("maxmemory 0");
    let json = wait_healthy(&a);
    assert!(json["problems"].as_array().is_none_or(|p| p.is_empty()), "{json}");
    assert_eq!(json["redis"]["refused"].as_u64(), Some(count), "{json}");
    a.ctl_ok(&["set", "shared", "k", "new"]);
    wait_for_value(&b, "shared", "k", Some("new"));
    assert_eq!(a.ctl_ok(&["get", "shared", "k"]), "new");
}

#[test]
fn a_read_only_redis_refuses_every_write_kind_and_no_daemon_diverges() {
    let redis = RedisServer::start();
    let a = start(&redis.unix_url(), "");
    let b = start(&redis.tcp_url(), "");
    for key in ["k", "page:1", "page:2"] {
        a.ctl_ok(&["set", "shared", key, "old"]);
        assert_eq!(b.ctl_ok(&["get", "shared", key]), "old");
    }
    a.ctl_ok(&["set", "durable", "k", "old"]);
    assert_eq!(b.ctl_ok(&["get", "durable", "k"]), "old");

    // A replica of a master that does not exist: it keeps its data and serves reads, and
    // answers every write with READONLY (as during a failover).
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = nowhere.local_addr().expect("addr").port().to_string();
    drop(nowhere);
    redis.cli(&["REPLICAOF", "127.0.0.1", &port]).expect("REPLICAOF");

    // Not-now answers are `unavailable`: the caller may retry once the failover is over.
    let kind = "unavailable";
    refused(&a, &["set", "shared", "k", "refused"], kind, "READONLY");
    refused(&a, &["set", "durable", "k", "refused"], kind, "READONLY");
    refused(&a, &["mset", "shared", "k=refused", "page:1=refused"], kind, "READONLY");
    refused(&a, &["del", "shared", "k"], kind, "READONLY");
    refused(&a, &["del", "durable", "k"], kind, "READONLY");
    refused(&a, &["expire", "shared", "k", "1s"], kind, "READONLY");
    refused(&a, &["del-pattern", "shared", "page:*"], kind, "READONLY");
    refused(&a, &["expire-pattern", "shared", "page:*", "1s"], kind, "READONLY");
    refused(&a, &["clear", "shared"], kind, "READONLY");
    // Nothing changed anywhere: the old values, without expiry, on both daemons.
    for key in ["k", "page:1", "page:2"] {
        both_read(&a, &b, "shared", key, Some("old"));
    }
    both_read(&a, &b, "durable", "k", Some("old"));
    assert_no_expiry_in_redis(&redis, 4);
    assert!(refused_count(&a) >= 9);
    let (code, json) = status(&a);
    assert_eq!(code, Some(1), "{json}");
    assert!(json["problems"].to_string().contains("READONLY"), "{json}");

    redis.cli(&["REPLICAOF", "NO", "ONE"]).expect("REPLICAOF NO ONE");
    wait_healthy(&a);
    a.ctl_ok(&["del", "shared", "k"]);
    wait_for_value(&b, "shared", "k", None);
    a.ctl_ok(&["del-pattern", "shared", "page:*"]);
    wait_for_value(&b, "shared", "page:2", None);
}

#[test]
fn a_ttl_redis_cannot_keep_is_refused_before_anything_is_stored() {
    let redis = RedisServer::start();
    let a = start(&redis.unix_url(), "");
    let b = start(&redis.tcp_url(), "");
    a.ctl_ok(&["set", "shared", "k", "old"]);
    assert_eq!(b.ctl_ok(&["get", "shared", "k"]), "old");
    // u64::MAX seconds (saturates to u64::MAX ms), and i64::MAX ms: now + TTL overflows
    // Redis's expiry time.
    // The refusal names the limit: the longest TTL a Redis tier keeps, in ms.
    let ms = &(i64::MAX / 2).to_string();
    for ttl in ["18446744073709551615", "9223372036854775"] {
        let bad = "invalid_argument";
        refused(&a, &["set", "shared", "k", "refused", "--ttl", ttl], bad, ms);
        refused(&a, &["mset", "shared", "k=refused", "--ttl", ttl], bad, ms);
        refused(&a, &["expire", "shared", "k", ttl], bad, ms);
        refused(&a, &["expire-pattern", "shared", "*", ttl], bad, ms);
        both_read(&a, &b, "shared", "k", Some("old"));
        assert_no_expiry_in_redis(&redis, 1);
    }
    // Checked before Redis was asked: nothing refused, nothing wrong with Redis.
    assert_eq!(refused_count(&a), 0);
    assert_eq!(status(&a).0, Some(0));
    // The longest TTL Redis keeps still works, on both daemons.
    a.ctl_ok(&["set", "shared", "k", "long", "--ttl", "100000000000000"]);
    wait_for_value(&b, "shared", "k", Some("long"));
}

#[test]
fn a_bulk_write_redis_refuses_in_part_leaves_every_daemon_reading_what_redis_holds() {
    let redis = RedisServer::start();
    let a = start(&redis.unix_url(), "");
    let b = start(&redis.tcp_url(), "");
    a.ctl_ok(&["set", "shared", "open", "old"]);
    let open_key = redis.all_keys().pop().expect("the Redis key of `open`");
    a.ctl_ok(&["set", "shared", "closed", "old"]);
    for key in ["open", "closed"] {
        assert_eq!(b.ctl_ok(&["get", "shared", key]), "old");
    }
    // Every key stays readable; only `open`'s may be written: one bulk write is refused in
    // part, after Redis applied the rest.
    let acl = ["ACL", "SETUSER", "default", "resetkeys", "%R~*"];
    let write_open = format!("%W~{open_key}");
    redis.cli(&[&acl[..], &[write_open.as_str()]].concat()).expect("ACL SETUSER");

    let stderr = refused(&a, &["mset", "shared", "open=new", "closed=new"], "storage", "NOPERM");
    assert!(stderr.contains("part of the change"), "{stderr}");
    // What Redis holds, on both daemons: B was told to drop its copies.
    assert_eq!(a.ctl_ok(&["get", "shared", "open"]), "new");
    wait_for_value(&b, "shared", "open", Some("new"));
    both_read(&a, &b, "shared", "closed", Some("old"));
    assert_eq!(refused_count(&a), 1);
    let (code, json) = status(&a);
    assert_eq!(code, Some(1), "{json}");
    assert!(json["problems"].to_string().contains("NOPERM"), "{json}");

    redis.cli(&["ACL", "SETUSER", "default", "allkeys"]).expect("ACL SETUSER");
    wait_healthy(&a);
    a.ctl_ok(&["mset", "shared", "open=newer", "closed=newer"]);
    for key in ["open", "closed"] {
        wait_for_value(&b, "shared", key, Some("newer"));
    }
}
