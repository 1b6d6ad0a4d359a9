//! A database file damaged below the value layer (random bytes and whole pages overwritten):
//! redb may refuse it, return wrong bytes, or panic. Every request still gets an answer (a
//! `corrupt` or `storage` error, or a result), the daemon keeps serving other namespaces,
//! and the damaged file is moved aside and replaced, as at start-up.

use std::path::Path;
use std::time::{Duration, Instant};

use cachemgr_e2e::{Daemon, RawConn};
use cachemgr_proto::{ErrorKind, RequestBody, ResponseBody, SetCondition};

use crate::disk_full::call;
use crate::durability::TEST_KEY;

const CONFIG: &str = r#"
[namespaces.d]
tier = "disk"
durability = "fsync"

[namespaces.md]
tier = "memory+disk"

[namespaces.m]
tier = "memory"
"#;

const KEYS: u64 = 300;
const SEEDS: u64 = 24;

fn set(ns: &str, key: &str, value: Vec<u8>) -> RequestBody {
    RequestBody::Set {
        ns: ns.into(),
        key: key.into(),
        value: serde_bytes::ByteBuf::from(value),
        ttl_ms: None,
        condition: SetCondition::Always,
    }
}

/// A small xorshift generator: the seeds make every damage pattern reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Damages `file`: odd seeds flip scattered bytes, even seeds overwrite whole 4 KiB pages
/// with noise. The first page (redb's header) is left alone half of the time, so damage
/// deeper in the file, the kind found only when a page is read, is common.
fn damage(file: &Path, seed: u64) {
    let mut bytes = std::fs::read(file).expect("read the database");
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let skip = if seed % 4 < 2 { 4096 } else { 0 };
    let len = bytes.len() as u64 - skip;
    if seed % 2 == 1 {
        for _ in 0..1 + rng.below(64) {
            let at = (skip + rng.below(len)) as usize;
            bytes[at] ^= 1 << rng.below(8);
        }
    } else {
        for _ in 0..1 + rng.below(3) {
            let page = (skip + rng.below(len)) as usize / 4096 * 4096;
            let end = (page + 4096).min(bytes.len());
            for byte in &mut bytes[page..end] {
                *byte = rng.next() as u8;
            }
        }
    }
    std::fs::write(file, bytes).expect("write the damaged database");
}

/// Checks one answer: an answer at all, and no error but `corrupt` or `storage`.
fn answered(answer: Option<ResponseBody>, what: &str, seed: u64, damage_seen: &mut bool) {
    match answer {
        None => panic!("seed {seed}: {what} got no answer (connection closed)"),
        Some(ResponseBody::Error { kind: ErrorKind::Corrupt, .. }) => *damage_seen = true,
        Some(ResponseBody::Error { kind: ErrorKind::Storage, .. }) => {}
        Some(ResponseBody::Error { kind, message }) => {
            panic!("seed {seed}: {what} failed with {kind}: {message}")
        }
        Some(_) => {}
    }
}

fn connect(daemon: &Daemon) -> RawConn {
    let mut conn = daemon.raw();
    conn.stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    conn.handshake();
    conn
}

#[test]
fn damaged_database_pages_never_drop_a_request_and_the_file_is_replaced() {
    let mut daemon = Daemon::start_with_env(CONFIG, &[("CACHEMGR_KEY", TEST_KEY)]);
    {
        let mut conn = connect(&daemon);
        let mut id = 1;
        for i in 0..KEYS {
            for ns in ["d", "md"] {
                let value = format!("value {i} ").repeat(1 + (i as usize % 40)).into_bytes();
                let answer = call(&mut conn, &mut id, set(ns, &format!("key{i:04}"), value));
                assert!(matches!(answer, Some(ResponseBody::Stored { stored: true })));
            }
        }
    }
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0), "{}", daemon.log_text());
    let file = daemon.state_dir().join("cache.redb");
    let pristine = std::fs::read(&file).expect("the database");

    let mut seeds_with_damage_found = 0;
    let mut seeds_with_damage_in_use = 0;
    for seed in 1..=SEEDS {
        for entry in std::fs::read_dir(daemon.state_dir()).expect("state dir").flatten() {
            if entry.file_name().to_string_lossy().starts_with("cache.redb.") {
                std::fs::remove_file(entry.path()).expect("clear earlier asides");
            }
        }
        std::fs::write(&file, &pristine).expect("restore");
        damage(&file, seed);
        daemon.spawn();
        let mut conn = connect(&daemon);
        let mut id = 1;
        let mut damage_seen = false;
        for i in (0..KEYS).step_by(7) {
            let key = format!("key{i:04}");
            for ns in ["d", "md"] {
                let get = RequestBody::Get { ns: ns.into(), key: key.clone() };
                answered(call(&mut conn, &mut id, get), "get", seed, &mut damage_seen);
                let value = b"rewritten".to_vec();
                answered(
                    call(&mut conn, &mut id, set(ns, &key, value)),
                    "set",
                    seed,
                    &mut damage_seen,
                );
            }
        }
        for ns in ["d", "md"] {
            let keys = RequestBody::Keys { ns: ns.into(), pattern: None, cursor: 0, count: 1000 };
            answered(call(&mut conn, &mut id, keys), "keys", seed, &mut damage_seen);
            let delete = RequestBody::Delete { ns: ns.into(), keys: vec!["key0001".into()] };
            answered(call(&mut conn, &mut id, delete), "delete", seed, &mut damage_seen);
            let stats = RequestBody::Stats { ns: Some(ns.into()) };
            answered(call(&mut conn, &mut id, stats), "stats", seed, &mut damage_seen);
        }
        // The memory namespace never notices.
        let answer = call(&mut conn, &mut id, set("m", "still", b"here".to_vec()));
        assert!(matches!(answer, Some(ResponseBody::Stored { stored: true })), "seed {seed}");
        let answer =
            call(&mut conn, &mut id, RequestBody::Get { ns: "m".into(), key: "still".into() });
        assert!(
            matches!(&answer, Some(ResponseBody::Value { value: Some(v) }) if v.as_ref() == b"here"),
            "seed {seed}: {answer:?}"
        );
        let moved_aside = std::fs::read_dir(daemon.state_dir())
            .expect("state dir")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("cache.redb.damaged-"));
        if damage_seen {
            assert!(moved_aside, "seed {seed}: a damaged file is moved aside");
            seeds_with_damage_in_use += 1;
        }
        if moved_aside {
            seeds_with_damage_found += 1;
            let info = daemon.ctl_ok(&["info"]);
            assert!(info.contains("moved aside"), "seed {seed}: info tells: {info}");
            // The replacement serves: a write and its read go through.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let answer = call(&mut conn, &mut id, set("d", "fresh", b"ok".to_vec()));
                if matches!(answer, Some(ResponseBody::Stored { stored: true })) {
                    break;
                }
                assert!(Instant::now() < deadline, "seed {seed}: no recovery: {answer:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
            let get = RequestBody::Get { ns: "d".into(), key: "fresh".into() };
            let answer = call(&mut conn, &mut id, get);
            assert!(
                matches!(&answer, Some(ResponseBody::Value { value: Some(v) }) if v.as_ref() == b"ok"),
                "seed {seed}: {answer:?}"
            );
        }
        drop(conn);
        daemon.kill_hard();
    }
    assert!(
        seeds_with_damage_found >= 3,
        "the damage patterns exercise redb's damage handling ({seeds_with_damage_found} seeds)"
    );
    assert!(
        seeds_with_damage_in_use >= 1,
        "some damage is only found by a request, after the open ({seeds_with_damage_in_use} seeds)"
    );
}
