//! The client library's conveniences against the real daemon: the blocking wrapper, typed
//! values, `get_or_compute` and a blocking subscription.

use std::cell::Cell;
use std::time::{Duration, Instant};

use cachectl::blocking::Client;
use cachectl::{ClientError, EventKind, Notice, SubscribeOptions};
use cachemgr_e2e::{deadline_in, poll_until, Daemon};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    langs: Vec<String>,
    score: f64,
}

#[test]
fn the_blocking_client_stores_typed_values_and_computes_once() {
    let daemon = Daemon::start();
    let client = Client::connect(&daemon.socket, "e2e-blocking").expect("connect");
    client.ping().expect("ping");
    client.set("plain", "k", b"v".to_vec(), None).expect("set");
    assert_eq!(client.get("plain", "k").expect("get").as_deref(), Some(&b"v"[..]));

    let profile = Profile { name: "ada".into(), langs: vec!["rust".into()], score: 9.5 };
    client.set_value("people", "ada", &profile, None).expect("set_value");
    assert_eq!(client.get_value::<Profile>("people", "ada").expect("get_value"), Some(profile));
    // The value is plain MessagePack with field names: any msgpack reader sees a map.
    let raw = client.get("people", "ada").expect("get").expect("stored");
    assert_eq!(raw[0] & 0xf0, 0x80, "a fixmap of 3 fields");
    // Something else under the key is an error naming it, not a panic or garbage.
    match client.get_value::<Profile>("plain", "k") {
        Err(ClientError::Value { ns, key, .. }) => {
            assert_eq!((ns.as_str(), key.as_str()), ("plain", "k"))
        }
        other => panic!("expected a value error, got {other:?}"),
    }

    let calls = Cell::new(0);
    let compute = || {
        calls.set(calls.get() + 1);
        vec![1u32, 2, 3]
    };
    let ttl = Duration::from_millis(400);
    // The value is stored after this instant, so its TTL may not run out before 400 ms.
    let before_compute = Instant::now();
    for _ in 0..3 {
        let got: Vec<u32> = client.get_or_compute("memo", "list", ttl, compute).expect("compute");
        assert_eq!(got, [1, 2, 3]);
    }
    assert_eq!(calls.get(), 1, "computed once, then read from the cache");
    // `exists` counts no hit or miss, so the hit count checked below stays get_or_compute's.
    let expired = poll_until(deadline_in(Duration::from_secs(10)), || {
        let present = client.run(|c| c.exists("memo", "list")).expect("exists");
        (!present).then(|| before_compute.elapsed())
    });
    let expired = expired.unwrap_or_else(|| panic!("the computed value never expired"));
    assert!(expired >= ttl, "a 400 ms TTL ran out after {expired:?}");
    let _: Vec<u32> = client.get_or_compute("memo", "list", ttl, compute).expect("compute");
    assert_eq!(calls.get(), 2, "computed again after the TTL");
    // A value that does not decode as the type asked for counts as missing and is replaced.
    let replaced: Profile = client
        .get_or_compute("plain", "k", ttl, || Profile {
            name: "x".into(),
            langs: vec![],
            score: 0.0,
        })
        .expect("compute over a foreign value");
    assert_eq!(client.get_value::<Profile>("plain", "k").expect("get"), Some(replaced));

    // `compute` runs outside the handle's runtime: it may use a blocking client itself.
    let other = Client::connect(&daemon.socket, "e2e-nested").expect("connect");
    other.set("plain", "source", b"nested".to_vec(), None).expect("set");
    let nested: Vec<u8> = client
        .get_or_compute("memo", "nested", ttl, || {
            other.get("plain", "source").expect("get inside compute").expect("stored")
        })
        .expect("compute with a blocking client inside");
    assert_eq!(nested, b"nested");

    let stats = client.stats(Some("memo")).expect("stats");
    assert!(stats.total.hits >= 2, "{stats:?}");
    let keys = client.keys("people").expect("keys");
    assert_eq!(keys, ["ada"]);
}

#[test]
fn a_blocking_subscription_iterates_changes() {
    let daemon = Daemon::start();
    let client = Client::connect(&daemon.socket, "e2e-blocking").expect("connect");
    let what =
        SubscribeOptions { ns: Some("news".into()), values: true, ..SubscribeOptions::default() };
    let mut changes = client.subscribe(what).expect("subscribe");
    assert_eq!(changes.next_within(Duration::from_millis(100)).expect("quiet"), None);
    client.set("news", "headline", b"rust 2.0".to_vec(), None).expect("set");
    client.delete("news", &["headline"]).expect("delete");
    let mut seen = Vec::new();
    for notice in changes.by_ref().take(2) {
        match notice.expect("notice") {
            Notice::Event(event) => seen.push((event.kind, event.value.map(|v| v.into_vec()))),
            Notice::Missed(count) => panic!("missed {count}"),
        }
    }
    assert_eq!(seen, [(EventKind::Set, Some(b"rust 2.0".to_vec())), (EventKind::Delete, None)]);
    // Once the daemon stops, the stream says so (and is not mistaken for a quiet moment).
    client.run(|c| c.shutdown()).expect("shutdown");
    let end = changes.next_within(Duration::from_secs(10));
    assert!(matches!(end, Err(ClientError::Disconnected { .. })), "{end:?}");
    assert!(changes.next().is_none(), "the iterator has ended");
}
