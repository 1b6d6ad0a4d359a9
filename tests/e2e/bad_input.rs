//! Hostile and broken clients: each gets a clear error, and the daemon keeps serving others.

use std::net::Shutdown;
use std::time::Duration;

use cachemgr_e2e::{deadline_in, frame, names_numbers, poll_until, Daemon, RawConn};
use cachemgr_proto::{ErrorKind, Request, RequestBody, Response, ResponseBody};

fn expect_error(response: Option<Response>, kind: ErrorKind) -> (u64, String) {
    match response {
        Some(Response { id, body: ResponseBody::Error { kind: got, message } }) => {
            assert_eq!(got, kind, "{message}");
            (id, message)
        }
        other => panic!("expected a {kind} error, got {other:?}"),
    }
}

fn ping(conn: &mut RawConn, id: u64) {
    conn.send(&Request { id, body: RequestBody::Ping {} });
    let response = conn.recv().expect("pong");
    assert_eq!(response, Response { id, body: ResponseBody::Pong {} });
}

/// Another client still gets served.
fn still_serving(daemon: &Daemon) {
    let mut other = daemon.raw();
    other.handshake();
    ping(&mut other, 99);
}

#[test]
fn random_garbage_gets_an_error_then_close() {
    let daemon = Daemon::start();
    let mut conn = daemon.raw();
    conn.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let (id, message) = expect_error(conn.recv(), ErrorKind::FrameTooLarge);
    assert_eq!(id, 0);
    // "GET " read as a length prefix, and the default cap of 16 MiB.
    let length = u64::from(u32::from_be_bytes(*b"GET "));
    assert!(names_numbers(&message, &[length, 16 << 20]), "{message}");
    assert!(conn.is_closed());
    still_serving(&daemon);
}

#[test]
fn length_prefix_over_the_cap() {
    let daemon = Daemon::start_with_config("max_frame_bytes = \"64KiB\"\n");
    let mut conn = daemon.raw();
    conn.handshake();
    conn.write(&(70_000u32).to_be_bytes());
    let (_, message) = expect_error(conn.recv(), ErrorKind::FrameTooLarge);
    assert!(message.contains("70000") && message.contains("65536"), "{message}");
    assert!(conn.is_closed());
    still_serving(&daemon);
}

#[test]
fn invalid_messagepack_and_empty_frames_keep_the_connection() {
    let daemon = Daemon::start();
    let mut conn = daemon.raw();
    conn.handshake();
    conn.write(&frame(&[0xc1, 0xc1, 0xc1]));
    let (id, _) = expect_error(conn.recv(), ErrorKind::Malformed);
    assert_eq!(id, 0, "no id could be read");
    conn.write(&frame(&[]));
    let (_, message) = expect_error(conn.recv(), ErrorKind::Malformed);
    // Kept on wording: `malformed` is the kind of every undecodable frame, and saying this
    // one was empty (rather than garbage) is all its message adds.
    assert!(message.contains("empty frame"), "{message}");
    ping(&mut conn, 5);
}

#[test]
fn request_of_the_wrong_shape_is_answered_under_its_id() {
    let daemon = Daemon::start();
    let mut conn = daemon.raw();
    conn.handshake();
    let wrong = serde_json::json!({"id": 7, "body": {"frobnicate": {"ns": 1}}});
    conn.write(&frame(&rmp_serde::to_vec_named(&wrong).expect("encode")));
    let (id, message) = expect_error(conn.recv(), ErrorKind::Malformed);
    assert_eq!(id, 7);
    assert!(message.contains("frobnicate"), "names the unknown op: {message}");
    let missing_field = serde_json::json!({"id": 8, "body": {"get": {"ns": "a"}}});
    conn.write(&frame(&rmp_serde::to_vec_named(&missing_field).expect("encode")));
    let (id, message) = expect_error(conn.recv(), ErrorKind::Malformed);
    assert_eq!(id, 8);
    assert!(message.contains("key"), "names the missing field: {message}");
    ping(&mut conn, 9);
}

#[test]
fn wrong_protocol_version_names_both_versions() {
    let daemon = Daemon::start();
    let mut conn = daemon.raw();
    conn.send(&Request {
        id: 1,
        body: RequestBody::Hello { protocol: 99, client: "future".into() },
    });
    let (id, message) = expect_error(conn.recv(), ErrorKind::UnsupportedProtocol);
    assert_eq!(id, 1);
    assert!(message.contains("protocol 99") && message.contains("protocol 1"), "{message}");
    assert!(conn.is_closed());
    still_serving(&daemon);
}

#[test]
fn first_request_must_be_hello() {
    let daemon = Daemon::start();
    let mut conn = daemon.raw();
    conn.send(&Request { id: 3, body: RequestBody::Ping {} });
    let (id, message) = expect_error(conn.recv(), ErrorKind::HandshakeRequired);
    assert_eq!(id, 3);
    assert!(message.contains("ping"), "names the request that came first: {message}");
    assert!(conn.is_closed());
}

#[test]
fn silent_client_is_timed_out() {
    let daemon = Daemon::start_with_config("handshake_timeout = \"300ms\"\n");
    let mut conn = daemon.raw();
    let (_, message) = expect_error(conn.recv(), ErrorKind::Timeout);
    assert!(message.contains("300ms"), "{message}");
    assert!(conn.is_closed());
    still_serving(&daemon);
}

#[test]
fn client_disconnecting_mid_frame() {
    let daemon = Daemon::start();
    let mut conn = daemon.raw();
    conn.handshake();
    conn.write(&100u32.to_be_bytes());
    conn.write(b"only ten b");
    conn.stream.shutdown(Shutdown::Both).expect("shutdown");
    drop(conn);
    // The daemon noticed: the half frame's connection is closed, only `info`'s own is open.
    let closed = poll_until(deadline_in(Duration::from_secs(10)), || {
        let info = daemon.ctl_json(&["info"]);
        (info["connections"] == 1).then_some(())
    });
    assert!(closed.is_some(), "the connection stayed open: {}", daemon.ctl_json(&["info"]));
    still_serving(&daemon);
}

#[test]
fn connections_over_the_cap_are_told_why() {
    let daemon = Daemon::start_with_config("max_connections = 2\n");
    // The start-up probe's connection may still hold a slot until the daemon reads its EOF.
    let first = connect_when_a_slot_frees(&daemon);
    let _second = connect_when_a_slot_frees(&daemon);
    let mut third = daemon.raw();
    let (_, message) = expect_error(third.recv(), ErrorKind::Unavailable);
    assert!(names_numbers(&message, &[2]), "names the cap: {message}");
    drop(first);
    let mut again = connect_when_a_slot_frees(&daemon);
    ping(&mut again, 2);
}

/// Connects and handshakes, retrying for a few seconds while the daemon says it is full.
fn connect_when_a_slot_frees(daemon: &Daemon) -> RawConn {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut conn = daemon.raw();
        match conn.try_handshake() {
            Ok(()) => return conn,
            Err(answer) if std::time::Instant::now() < deadline => {
                drop(answer);
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(answer) => panic!("no connection slot freed within 5 s: {answer:?}"),
        }
    }
}
