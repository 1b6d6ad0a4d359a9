//! Pattern operations over a large namespace: paged `keys`, count, delete and expire.

use std::collections::HashSet;

use cachemgr_e2e::Daemon;
use cachemgr_proto::Entry;
use serde_bytes::ByteBuf;

const KEYS: usize = 100_000;

async fn fill(client: &cachectl::Client, ns: &str) {
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(5_000) {
        let entries = chunk
            .iter()
            .map(|i| {
                let prefix = if i % 10 == 0 { "user" } else { "item" };
                Entry {
                    key: format!("{prefix}:{i}"),
                    value: ByteBuf::from(b"v".to_vec()),
                    ttl_ms: None,
                }
            })
            .collect();
        assert_eq!(client.set_many(ns, entries).await.expect("mset") as usize, chunk.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_pages_through_100k_keys() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    fill(&client, "big").await;

    let (page, next) = client.keys_page("big", None, 0, 1000).await.expect("page");
    assert!(page.len() <= 1000 && next.is_some(), "a page is bounded and has a cursor");

    let all = daemon.ctl_ok(&["keys", "big"]);
    let lines: Vec<&str> = all.lines().collect();
    let unique: HashSet<&str> = lines.iter().copied().collect();
    assert_eq!(lines.len(), KEYS, "every key listed once");
    assert_eq!(unique.len(), KEYS);

    let users = daemon.ctl_ok(&["keys", "big", "user:*"]);
    assert_eq!(users.lines().count(), KEYS / 10);
    assert!(users.lines().all(|k| k.starts_with("user:")));
    let regex = daemon.ctl_ok(&["keys", "big", "--regex", "^user:[0-9]{2}$"]);
    assert_eq!(regex.lines().count(), 9, "user:10 .. user:90: {regex}");
    assert_eq!(daemon.ctl_ok(&["count", "big", "user:*"]).trim(), (KEYS / 10).to_string());
    let limited = daemon.ctl_ok(&["keys", "big", "--limit", "5"]);
    assert_eq!(limited.lines().count(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_expire_by_pattern() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    fill(&client, "p").await;
    let deleted = daemon.ctl_ok(&["--json", "del-pattern", "p", "user:*"]);
    assert!(deleted.contains(&(KEYS / 10).to_string()), "{deleted}");
    assert_eq!(daemon.ctl_ok(&["count", "p", "user:*"]).trim(), "0");
    assert_eq!(daemon.ctl_ok(&["count", "p"]).trim(), (KEYS - KEYS / 10).to_string());

    daemon.ctl_ok(&["expire-pattern", "p", "item:1*", "10m"]);
    let (exists, ttl) = client.ttl("p", "item:1").await.expect("ttl");
    assert!(exists && ttl.is_some(), "item:1 got a TTL");
    let (_, ttl) = client.ttl("p", "item:2").await.expect("ttl");
    assert!(ttl.is_none(), "item:2 untouched");
    let bad = daemon.ctl(&["keys", "p", "--regex", "("]);
    assert_eq!(bad.status.code(), Some(4));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.starts_with("error (invalid_argument): "), "{err}");
}
