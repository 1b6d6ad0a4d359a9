//! Change notifications through the real daemon: the client library's subscription (event
//! order per kind, a slow subscriber told what it missed while others are served) and
//! `cachectl watch` (text and JSON lines, filters, backup events).

use std::process::Command;
use std::time::Duration;

use cachectl::{Entry, EventKind, Notice, SetCondition, SubscribeOptions, Subscription};
use cachemgr_e2e::apps::AppsEnv;
use cachemgr_e2e::watcher::LineReader;
use cachemgr_e2e::{binary, Daemon};
use serde_bytes::ByteBuf;

const WAIT: Duration = Duration::from_secs(10);

/// The next notice, failing the test when none comes in time.
async fn next(subscription: &mut Subscription) -> Notice {
    match tokio::time::timeout(WAIT, subscription.next()).await {
        Ok(Ok(Some(notice))) => notice,
        other => panic!("no notice within {WAIT:?}: {other:?}"),
    }
}

/// The next event as (kind, key, count).
async fn next_event(subscription: &mut Subscription) -> (EventKind, Option<String>, Option<u64>) {
    match next(subscription).await {
        Notice::Event(event) => (event.kind, event.key, event.count),
        Notice::Missed(count) => panic!("missed {count} events on a quiet stream"),
    }
}

fn key(name: &str) -> Option<String> {
    Some(name.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_in_order_for_set_delete_evict_expire_and_clear() {
    // Room for two 100-byte entries (2-byte key + value + 56 overhead = 158 bytes each).
    let daemon = Daemon::start_with_config("[namespaces.tiny]\nmax_bytes = 400\n");
    let client = daemon.client().await;
    let what = SubscribeOptions { ns: Some("tiny".into()), ..SubscribeOptions::default() };
    let mut events = client.subscribe(what).await.expect("subscribe");
    assert_eq!(events.queue(), 1024, "the daemon's default queue");
    let metrics = client.metrics().await.expect("metrics");
    assert!(metrics.lines().any(|line| line == "cachemgr_subscribers 1"), "{metrics}");
    client.set("other", "k1", vec![1; 100], None, SetCondition::Always).await.expect("set");

    let value = vec![7u8; 100];
    for name in ["k1", "k2", "k3"] {
        client.set("tiny", name, value.clone(), None, SetCondition::Always).await.expect("set");
    }
    assert_eq!(client.delete("tiny", &["k2", "never-there"]).await.expect("delete"), 1);
    let ttl = Some(Duration::from_millis(50));
    client.set("tiny", "t1", value.clone(), ttl, SetCondition::Always).await.expect("set ttl");

    let mut seen = Vec::new();
    for _ in 0..7 {
        seen.push(next_event(&mut events).await);
    }
    assert_eq!(
        seen,
        vec![
            (EventKind::Set, key("k1"), None),
            (EventKind::Set, key("k2"), None),
            // The write of k3 made room by evicting k1 (least recently used) first.
            (EventKind::Evict, key("k1"), None),
            (EventKind::Set, key("k3"), None),
            (EventKind::Delete, key("k2"), None),
            (EventKind::Set, key("t1"), None),
            (EventKind::Expire, key("t1"), None),
        ],
        "another namespace's write and the delete of a missing key make no event here"
    );
    let (entries, _) = client.clear("tiny").await.expect("clear");
    assert_eq!(entries, 1, "only k3 was left");
    assert_eq!(next_event(&mut events).await, (EventKind::Clear, None, Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_told_how_many_it_missed_and_slows_no_one() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let what = SubscribeOptions {
        ns: Some("flood".into()),
        queue: Some(8),
        ..SubscribeOptions::default()
    };
    let mut stalled = client.subscribe(what).await.expect("subscribe");
    assert_eq!(stalled.queue(), 8);

    // 20,000 writes while the subscriber reads nothing: far more than its queue and the
    // socket's buffer hold. Every write completes, and other traffic is answered.
    const BATCHES: usize = 20;
    const PER_BATCH: usize = 1000;
    for batch in 0..BATCHES {
        let entries = (0..PER_BATCH)
            .map(|i| Entry {
                key: format!("k{:06}", batch * PER_BATCH + i),
                value: ByteBuf::from(vec![b'v'; 64]),
                ttl_ms: None,
            })
            .collect();
        assert_eq!(client.set_many("flood", entries).await.expect("set_many"), PER_BATCH as u64);
        client
            .set("calm", "k", b"still served".to_vec(), None, SetCondition::Always)
            .await
            .unwrap();
        assert_eq!(client.get("calm", "k").await.unwrap().as_deref(), Some(&b"still served"[..]));
    }

    let total = (BATCHES * PER_BATCH) as u64;
    let (mut delivered, mut missed) = (0u64, 0u64);
    let mut last_key = String::new();
    let mut last_seq = 0;
    let mut ended_with_missed = false;
    while delivered + missed < total {
        let notice = next(&mut stalled).await;
        ended_with_missed = matches!(notice, Notice::Missed(_));
        match notice {
            Notice::Event(event) => {
                assert_eq!(event.kind, EventKind::Set);
                let key = event.key.expect("key");
                assert!(key > last_key, "events in write order: {key} after {last_key}");
                assert!(event.seq > last_seq);
                (last_key, last_seq) = (key, event.seq);
                delivered += 1;
            }
            Notice::Missed(count) => {
                assert!(count > 0);
                missed += count;
            }
        }
    }
    assert_eq!(delivered + missed, total, "every write is delivered or counted as missed");
    assert!(missed > 0, "a stalled subscriber must have missed some");
    assert!(delivered >= 8, "at least its queue was delivered ({delivered})");
    assert!(ended_with_missed, "the newest writes were dropped: the stream ends with the count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_connection_refuses_other_requests_and_bad_filters() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let bad = SubscribeOptions {
        pattern: Some(cachectl::KeyPattern::regex("(")),
        ..SubscribeOptions::default()
    };
    let err = client.subscribe(bad).await.expect_err("a bad regex");
    assert_eq!(err.daemon_kind(), Some(cachectl::ErrorKind::InvalidArgument), "{err}");
    let unknown =
        SubscribeOptions { kinds: Some(vec![EventKind::Unknown]), ..SubscribeOptions::default() };
    let err = client.subscribe(unknown).await.expect_err("an unknown kind");
    assert_eq!(err.daemon_kind(), Some(cachectl::ErrorKind::InvalidArgument), "{err}");
    let known = EventKind::ALL.map(EventKind::as_str);
    assert!(known.iter().all(|kind| err.to_string().contains(kind)), "names {known:?}: {err}");
    let zero = SubscribeOptions { queue: Some(0), ..SubscribeOptions::default() };
    let err = client.subscribe(zero).await.expect_err("queue 0");
    assert_eq!(err.daemon_kind(), Some(cachectl::ErrorKind::InvalidArgument), "{err}");
    assert!(err.to_string().contains("queue"), "names the field: {err}");

    let mut raw = daemon.raw();
    raw.handshake();
    let subscribe = cachemgr_proto::RequestBody::Subscribe {
        ns: None,
        pattern: None,
        kinds: Some(vec![EventKind::Clear]),
        values: false,
        queue: None,
    };
    raw.send(&cachemgr_proto::Request { id: 5, body: subscribe });
    let answer = raw.recv().expect("subscribed");
    assert!(matches!(answer.body, cachemgr_proto::ResponseBody::Subscribed { queue: 1024 }));
    raw.send(&cachemgr_proto::Request { id: 6, body: cachemgr_proto::RequestBody::Ping {} });
    let refusal = raw.recv().expect("answer to ping");
    assert_eq!(refusal.id, 6);
    match refusal.body {
        cachemgr_proto::ResponseBody::Error { kind, message } => {
            assert_eq!(kind, cachectl::ErrorKind::InvalidArgument);
            assert!(message.contains("ping"), "names the request refused: {message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // The stream goes on: a clear (the only kind asked for) arrives under the subscribe's id.
    client.set("web", "a", b"1".to_vec(), None, SetCondition::Always).await.unwrap();
    client.clear("web").await.unwrap();
    let event = raw.recv().expect("event");
    assert_eq!(event.id, 5);
    match event.body {
        cachemgr_proto::ResponseBody::Event { event } => {
            assert_eq!(
                (event.kind, event.ns.as_deref(), event.count),
                (EventKind::Clear, Some("web"), Some(1))
            );
        }
        other => panic!("expected an event, got {other:?}"),
    }
}

fn watch(daemon: &Daemon, args: &[&str]) -> LineReader {
    let mut command = Command::new(binary("cachectl"));
    command.arg("--socket").arg(&daemon.socket).args(args).env_remove("CACHEMGR_SOCKET");
    LineReader::spawn(command)
}

#[test]
fn cachectl_watch_prints_json_lines_through_its_filters() {
    let daemon = Daemon::start();
    let watcher = watch(&daemon, &["--json", "watch", "web", "--pattern", "a*", "--values"]);
    let probe: serde_json::Value = serde_json::from_str(&watcher.first_line_after(|| {
        daemon.ctl_ok(&["set", "web", "a-probe", "probe"]);
    }))
    .expect("json line");
    assert_eq!(probe["kind"], "set");
    assert_eq!(probe["value"], "probe");
    watcher.drain();

    daemon.ctl_ok(&["set", "web", "b1", "not matched"]);
    daemon.ctl_ok(&["set", "api", "a1", "other namespace"]);
    daemon.ctl_ok(&["set", "web", "a1", "hello"]);
    daemon.ctl_ok(&["del", "web", "a1"]);
    daemon.ctl_ok(&["del-pattern", "web", "a*"]);
    let lines = watcher.lines_until(WAIT, |line| line.contains("\"pattern\""));
    let events: Vec<serde_json::Value> =
        lines.iter().map(|line| serde_json::from_str(line).expect("json")).collect();
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (e["kind"].as_str().unwrap().to_owned(), e["key"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let expected = [("set", "a1"), ("delete", "a1"), ("delete", "")];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    assert_eq!(summary, expected);
    assert_eq!(events[0]["value"], "hello");
    assert_eq!(events[2]["count"], 1, "only a-probe was left");
}

#[test]
fn cachectl_watch_text_lines_and_usage_errors() {
    let daemon = Daemon::start();
    let watcher = watch(&daemon, &["watch", "--kind", "clear,delete"]);
    daemon.ctl_ok(&["set", "web", "x", "1"]);
    watcher.first_line_after(|| {
        daemon.ctl_ok(&["del", "web", "x"]);
        daemon.ctl_ok(&["set", "web", "x", "1"]);
    });
    watcher.drain();
    daemon.ctl_ok(&["clear", "web"]);
    let line = watcher.lines_until(WAIT, |_| true).remove(0);
    assert!(line.ends_with(" clear web count=1"), "{line}");

    let out = daemon.ctl(&["watch", "--kind", "bogus"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bogus"), "names the kind it does not know: {err}");
    let out = daemon.ctl(&["watch", "--pattern", "(", "--regex"]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error (invalid_argument): "), "{err}");
}

#[test]
fn backups_made_and_failed_are_announced() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &[]);
    let watcher = watch(&env.daemon, &["--json", "watch", "--kind", "backup_made,backup_failed"]);
    let first = watcher.first_line_after(|| {
        env.daemon.ctl_ok(&["backup", "create", "muse"]);
    });
    let made: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!((made["kind"].as_str(), made["app"].as_str()), (Some("backup_made"), Some("muse")));
    assert!(made["message"].as_str().unwrap().contains("(manual)"), "{made}");
    watcher.drain();

    std::fs::write(&live, b"torn").expect("damage the live file");
    let out = env.daemon.ctl(&["backup", "create", "muse"]);
    assert!(!out.status.success());
    let line = watcher.lines_until(WAIT, |line| line.contains("backup_failed"));
    let failed: serde_json::Value = serde_json::from_str(line.last().unwrap()).unwrap();
    assert_eq!(failed["app"], "muse");
    assert!(!failed["message"].as_str().unwrap().is_empty());
}
