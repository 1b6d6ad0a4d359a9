//! Load: a thousand connections held open and all served; clients that never finish the
//! handshake dropped after the timeout without hurting the others; one client writing huge
//! values does not stall the others (their latency during it is printed, not asserted).

use std::time::{Duration, Instant};

use cachemgr_e2e::{Daemon, RawConn};
use cachemgr_proto::{ErrorKind, Request, RequestBody, Response, ResponseBody, SetCondition};
use serde_bytes::ByteBuf;

const CONFIG: &str = "max_connections = 2000\nhandshake_timeout = \"1s\"\n\
                      [memory]\nmax_bytes = \"256MiB\"\n[namespaces.big]\nmax_bytes = \"128MiB\"\n";

/// Enough descriptors for the test's own thousand sockets.
fn raise_own_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum });
}

fn call(conn: &mut RawConn, id: u64, body: RequestBody) -> ResponseBody {
    conn.send(&Request { id, body });
    let Response { id: got, body } = conn.recv().expect("an answer");
    assert_eq!(got, id);
    body
}

#[test]
fn a_thousand_connections_are_held_open_and_served() {
    raise_own_open_files();
    let daemon = Daemon::start_with_config(CONFIG);
    let mut conns: Vec<RawConn> = (0..1000)
        .map(|_| {
            let mut conn = daemon.raw();
            conn.handshake();
            conn
        })
        .collect();
    let info = daemon.ctl_json(&["info"]);
    assert!(info["connections"].as_u64() >= Some(1000), "{info}");
    for (n, conn) in conns.iter_mut().enumerate() {
        let key = format!("k{n}");
        let value = ByteBuf::from(format!("v{n}").into_bytes());
        let set = RequestBody::Set {
            ns: "many".into(),
            key: key.clone(),
            value,
            ttl_ms: None,
            condition: SetCondition::Always,
        };
        assert_eq!(call(conn, 1, set), ResponseBody::Stored { stored: true });
    }
    // Every connection is still open and answers, in reverse order.
    for (n, conn) in conns.iter_mut().enumerate().rev() {
        let get = RequestBody::Get { ns: "many".into(), key: format!("k{n}") };
        let want = ResponseBody::Value { value: Some(ByteBuf::from(format!("v{n}").into_bytes())) };
        assert_eq!(call(conn, 2, get), want);
    }
}

#[test]
fn silent_clients_are_dropped_after_the_handshake_timeout_without_hurting_others() {
    raise_own_open_files();
    let daemon = Daemon::start_with_config(CONFIG);
    let mut silent: Vec<RawConn> = (0..200).map(|_| daemon.raw()).collect();
    let mut busy = daemon.raw();
    busy.handshake();
    let started = Instant::now();
    let mut id = 1;
    while started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(call(&mut busy, id, RequestBody::Ping {}), ResponseBody::Pong {});
        id += 1;
    }
    for conn in &mut silent {
        // The daemon says why, then closes; never a hang (the read timeout is 10 s).
        match conn.recv() {
            Some(Response { body: ResponseBody::Error { kind, message }, .. }) => {
                assert_eq!(kind, ErrorKind::Timeout, "{message}");
                assert!(message.contains("1s"), "names the handshake timeout: {message}");
                assert!(conn.is_closed());
            }
            None => {}
            other => panic!("a silent client got {other:?}"),
        }
    }
    assert_eq!(call(&mut busy, id, RequestBody::Ping {}), ResponseBody::Pong {});
}

#[test]
fn one_client_writing_huge_values_does_not_stall_the_others() {
    let daemon = Daemon::start_with_config(CONFIG);
    let huge = ByteBuf::from(vec![7u8; 12 << 20]);
    let writer = {
        let mut conn = daemon.raw();
        conn.handshake();
        std::thread::spawn(move || {
            for n in 0..20 {
                let set = RequestBody::Set {
                    ns: "big".into(),
                    key: format!("huge{}", n % 4),
                    value: huge.clone(),
                    ttl_ms: None,
                    condition: SetCondition::Always,
                };
                assert_eq!(call(&mut conn, n, set), ResponseBody::Stored { stored: true });
            }
        })
    };
    let readers: Vec<_> = (0..8)
        .map(|r| {
            let mut conn = daemon.raw();
            conn.handshake();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let started = Instant::now();
                let mut id = 0;
                while started.elapsed() < Duration::from_secs(2) {
                    let get = RequestBody::Get { ns: "small".into(), key: format!("r{r}") };
                    let asked = Instant::now();
                    assert_eq!(call(&mut conn, id, get), ResponseBody::Value { value: None });
                    latencies.push(asked.elapsed());
                    id += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> =
        readers.into_iter().flat_map(|r| r.join().expect("a reader failed")).collect();
    writer.join().expect("the huge writer failed");
    latencies.sort();
    assert!(latencies.len() > 100, "the readers kept being answered: {}", latencies.len());
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "small GETs while 12 MiB SETs stream: n={} p50={:?} p99={:?} max={:?}",
        latencies.len(),
        at(0.5),
        at(0.99),
        latencies[latencies.len() - 1]
    );
}
