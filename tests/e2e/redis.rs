//! The Redis layer through the real binaries and a real redis-server: what Redis is given
//! (sealed values, hashed names, expiry), and two daemons sharing namespaces through it.

use std::time::{Duration, Instant};

use cachemgr_e2e::redis_server::RedisServer;
use cachemgr_e2e::Daemon;

/// One master key for every daemon of a test (sharing needs the same key).
pub const SHARED_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A daemon config with a `memory+redis` namespace `shared` and a `memory+disk+redis`
/// namespace `durable`; memory copies are kept long, so only invalidations can refresh them.
pub fn redis_config(url: &str, extra: &str) -> String {
    // Generous unless the test is about timeouts: a loaded CI machine must not make a
    // healthy Redis look dead (the write would then stay local and the test would wait).
    let timeout = if extra.contains("timeout") { "" } else { "timeout = \"2s\"\n" };
    format!(
        "[redis]\nurl = \"{url}\"\nlocal_max_age = \"10m\"\n{timeout}{extra}\n\
         [namespaces.shared]\ntier = \"memory+redis\"\n\
         [namespaces.durable]\ntier = \"memory+disk+redis\"\n"
    )
}

/// A daemon on the shared key.
pub fn start(url: &str, extra: &str) -> Daemon {
    Daemon::start_with_env(&redis_config(url, extra), &[("CACHEMGR_KEY", SHARED_KEY)])
}

/// Polls `get` on `daemon` until it prints `want` (or says not found, for `None`).
pub fn wait_for_value(daemon: &Daemon, ns: &str, key: &str, want: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = daemon.ctl(&["get", ns, key]);
        let seen = out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned());
        if seen.as_deref() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{ns}/{key}: still {seen:?} after 5 s, want {want:?}; log:\n{}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn redis_sees_only_sealed_values_and_hashed_names_with_real_expiry() {
    let redis = RedisServer::start();
    let daemon = start(&redis.unix_url(), "");
    daemon.ctl_ok(&[
        "set",
        "shared",
        "user:alice-secret-name",
        "plaintext-value-42",
        "--ttl",
        "90s",
    ]);
    daemon.ctl_ok(&["set", "durable", "forever", "another-plain-value"]);
    let keys = redis.all_keys();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert!(key.starts_with("cachemgr:{"), "{key}");
        for clear in ["alice", "user", "shared", "durable", "forever"] {
            assert!(!key.contains(clear), "{clear} visible in {key}");
        }
        let raw = redis.cli(&["--no-raw", "GET", key]).expect("GET");
        assert!(!raw.contains("plaintext") && !raw.contains("plain-value"), "{raw}");
    }
    let ttls: Vec<i64> = keys
        .iter()
        .map(|key| redis.cli(&["PTTL", key]).expect("PTTL").trim().parse().expect("number"))
        .collect();
    assert!(ttls.contains(&-1), "the value without TTL must not expire in Redis: {ttls:?}");
    assert!(
        ttls.iter().any(|ms| (60_000..=90_000).contains(ms)),
        "the 90 s TTL must map to Redis expiry: {ttls:?}"
    );
    assert_eq!(daemon.ctl_ok(&["get", "shared", "user:alice-secret-name"]), "plaintext-value-42");
    assert_eq!(daemon.ctl_ok(&["keys", "shared"]).trim(), "user:alice-secret-name");
}

#[test]
fn two_daemons_see_each_others_writes_and_deletes() {
    let redis = RedisServer::start();
    // One over the unix socket, one over TCP: both URL forms in one test.
    let a = start(&redis.unix_url(), "");
    let b = start(&redis.tcp_url(), "");
    for (ns, key) in [("shared", "greeting"), ("durable", "setting")] {
        a.ctl_ok(&["set", ns, key, "v1"]);
        assert_eq!(b.ctl_ok(&["get", ns, key]), "v1", "{ns}");
        // B now holds a memory copy; a change on A must reach it through pub/sub.
        assert_eq!(b.ctl_ok(&["get", ns, key]), "v1");
        a.ctl_ok(&["set", ns, key, "v2"]);
        wait_for_value(&b, ns, key, Some("v2"));
        a.ctl_ok(&["del", ns, key]);
        wait_for_value(&b, ns, key, None);
    }
    // Writes from B reach A the same way; bulk and pattern operations too.
    for n in 0..20 {
        b.ctl_ok(&["set", "shared", &format!("page:{n}"), &format!("p{n}")]);
    }
    b.ctl_ok(&["set", "shared", "keep", "k"]);
    // Bulk writes and reads: one pipeline each way; A's memory copy of m1 is replaced too.
    assert_eq!(a.ctl_ok(&["mset", "shared", "m1=x", "m2=y"]).trim(), "OK (2 stored)");
    assert_eq!(b.ctl_ok(&["mget", "shared", "m1", "m2", "nope"]), "x\ny\n(nil)\n");
    b.ctl_ok(&["mset", "shared", "m1=z"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.ctl_ok(&["mget", "shared", "m1", "m2"]) != "z\ny\n" {
        assert!(Instant::now() < deadline, "A kept serving its old copy of m1");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(a.ctl_ok(&["get", "shared", "page:7"]), "p7");
    let mut listed: Vec<String> =
        a.ctl_ok(&["keys", "shared", "page:*"]).lines().map(str::to_owned).collect();
    listed.sort();
    assert_eq!(listed.len(), 20, "{listed:?}");
    a.ctl_ok(&["del-pattern", "shared", "page:*"]);
    wait_for_value(&b, "shared", "page:7", None);
    assert_eq!(b.ctl_ok(&["get", "shared", "keep"]), "k");
    b.ctl_ok(&["clear", "shared"]);
    wait_for_value(&a, "shared", "keep", None);
    let status = a.ctl_json(&["status"]);
    assert_eq!(status["redis"]["breaker"], "closed", "{status}");
    assert_eq!(status["redis"]["invalidations_live"], true, "{status}");
}

#[test]
fn a_redis_tier_without_a_url_is_refused_at_start() {
    let daemon = Daemon::prepare("[namespaces.shared]\ntier = \"memory+redis\"\n");
    let status = daemon.command().status().expect("run cachemgrd");
    assert_eq!(status.code(), Some(1));
    let log = daemon.log_text();
    assert!(log.contains("namespaces.shared.tier") && log.contains("[redis] url"), "{log}");
}

#[test]
fn rediss_with_a_client_certificate_shares_with_a_plain_unix_client() {
    let redis = RedisServer::start_tls();
    let file = |name: &str| redis.dir().join(name).display().to_string();
    let tls = format!(
        "tls_ca_file = \"{}\"\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        file("ca.crt"),
        file("client.crt"),
        file("client.key")
    );
    let over_tls = start(&redis.tls_url(), &tls);
    let over_unix = start(&redis.unix_url(), "");
    over_tls.ctl_ok(&["set", "shared", "k", "through TLS"]);
    assert_eq!(over_unix.ctl_ok(&["get", "shared", "k"]), "through TLS");
    assert_eq!(over_tls.ctl_json(&["status"])["redis"]["breaker"], "closed");
    // Without the CA the server's certificate is not trusted: served locally, never wrong.
    // A timeout long enough for the handshake to fail on its own, even on a loaded machine.
    let untrusted = start(&redis.tls_url(), "timeout = \"5s\"\nbreaker_failures = 1\n");
    untrusted.ctl_ok(&["set", "shared", "k", "local only"]);
    assert_eq!(untrusted.ctl_ok(&["get", "shared", "k"]), "local only");
    assert_eq!(over_unix.ctl_ok(&["get", "shared", "k"]), "through TLS");
    let out = untrusted.ctl(&["--json", "status"]);
    assert_eq!(out.status.code(), Some(1), "unhealthy while Redis is out of reach");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(status["redis"]["breaker"], "open", "{status}");
    let error = status["redis"]["last_error"].as_str().unwrap_or_default().to_lowercase();
    assert!(error.contains("certificate") || error.contains("tls"), "{status}");
}

#[test]
fn memory_pressure_drops_local_copies_only_never_the_shared_values() {
    let redis = RedisServer::start();
    let url = redis.unix_url();
    let config = |high: f64, low: f64| {
        format!(
            "[redis]\nurl = \"{url}\"\ntimeout = \"2s\"\n[pressure]\ncheck_every = \"1h\"\nmemory_high = {high}\n\
             memory_low = {low}\n[namespaces.shared]\ntier = \"memory+redis\"\n\
             clear_on_pressure = true\n"
        )
    };
    let key = [("CACHEMGR_KEY", SHARED_KEY)];
    let pressed = Daemon::start_with_env(&config(99.9, 99.8), &key);
    let other = start(&url, "");
    for n in 0..20 {
        pressed.ctl_ok(&["set", "shared", &format!("k{n}"), "kept in Redis"]);
    }
    // Marks below any real reading: the next check must act.
    std::fs::write(&pressed.config, config(0.1, 0.05)).expect("rewrite config");
    pressed.ctl_ok(&["reload"]);
    let info = pressed.ctl_json(&["pressure", "check"]);
    let cleared = info["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["stage"] == "clear_namespace" && a["ns"] == "shared"))
        .cloned()
        .unwrap_or_else(|| panic!("stage (b) cleared the local copies: {info}"));
    assert!(cleared["entries"].as_u64() > Some(0), "{cleared}");
    let stats = pressed.ctl_json(&["stats", "shared"]);
    assert_eq!(stats["namespaces"][0]["stats"]["entries"], 0, "local copies gone: {stats}");
    assert_eq!(redis.all_keys().len(), 20, "Redis keeps every value");
    assert_eq!(other.ctl_ok(&["get", "shared", "k7"]), "kept in Redis");
    assert_eq!(pressed.ctl_ok(&["get", "shared", "k7"]), "kept in Redis");
}

#[test]
fn walking_a_namespace_of_big_values_holds_one_batch_not_the_page() {
    let redis = RedisServer::start();
    // The writer fills Redis; the reader never held these values, so its peak is its own.
    let writer = start(&redis.unix_url(), "");
    let daemon = start(&redis.unix_url(), "");
    // Incompressible, or the sealed values would be a few bytes each.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let big: Vec<u8> = (0..3 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    for i in 0..40 {
        let out = writer.ctl_with_stdin(&["set", "shared", &format!("big-{i:03}")], Some(&big));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let peak_before = peak_rss_kib(daemon.pid());
    // One page asks Redis for every key: the names come back, the values are read a few
    // MiB at a time and dropped, not 120 MiB at once.
    let listed = daemon.ctl_ok(&["keys", "shared"]);
    assert_eq!(listed.lines().count(), 40, "{listed}");
    let counted = daemon.ctl_ok(&["count", "shared", "big-*"]);
    assert_eq!(counted.trim(), "40");
    let grown_mib = (peak_rss_kib(daemon.pid()) - peak_before) / 1024;
    assert!(
        grown_mib < 48,
        "listing 120 MiB of values grew the daemon's peak RSS by {grown_mib} MiB"
    );
}

fn peak_rss_kib(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("kib")
}
