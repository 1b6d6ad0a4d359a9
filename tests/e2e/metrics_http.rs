//! The HTTP endpoint (`metrics_listen`): `GET /metrics` fetched with a plain TCP stream and
//! parsed by the reference Python parser, the other routes, garbage, slow and too many
//! clients, and a port that cannot be bound.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use cachemgr_e2e::prometheus::{parse, value};
use cachemgr_e2e::{deadline_in, poll_until, Daemon};

/// A loopback address with a port nothing listens on (bound, read, released).
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// An HTTP response as the endpoint sent it.
struct Reply {
    status: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    stream.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    stream
}

/// Reads a whole response (the endpoint closes the connection after it).
fn read_reply(mut stream: TcpStream) -> Reply {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Reply { status, headers, body: body.to_owned() }
}

fn request(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(raw).expect("send the request");
    read_reply(stream)
}

#[test]
fn metrics_over_http_for_a_scraper() {
    let addr = free_port();
    let daemon = Daemon::start_with_config(&format!("metrics_listen = \"{addr}\"\n"));
    daemon.ctl_ok(&["set", "web", "k", "v"]);
    assert_eq!(daemon.ctl_ok(&["get", "web", "k"]), "v");

    let reply = request(addr, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
    assert_eq!(reply.status, "HTTP/1.1 200 OK");
    assert_eq!(reply.header("Content-Type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    assert_eq!(reply.header("Connection"), Some("close"));
    assert_eq!(reply.header("Content-Length"), Some(reply.body.len().to_string().as_str()));
    let samples = parse(&reply.body);
    let web = [("namespace", "web"), ("layer", "memory")];
    assert_eq!(value(&samples, "cachemgr_hits_total", &web), Some(1.0));
    assert_eq!(value(&samples, "cachemgr_sets_total", &web), Some(1.0));
    // The same exposition as the socket's (the admin view), but for the clock-driven values.
    let socket = parse(&daemon.ctl_ok(&["stats", "--format", "prometheus"]));
    let names = |s: &[cachemgr_e2e::prometheus::Sample]| {
        s.iter()
            .filter(|s| !s.name.starts_with("cachemgr_pressure_"))
            .map(|s| (s.name.clone(), s.labels.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&samples), names(&socket));
    // A query string is fine; HEAD gets the headers only.
    assert_eq!(request(addr, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").status, "HTTP/1.1 200 OK");
    let head = request(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(head.status, "HTTP/1.1 200 OK");
    assert!(head.body.is_empty() && head.header("Content-Length").is_some_and(|n| n != "0"));

    // Anything else.
    for (raw, status) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], "HTTP/1.1 404 Not Found"),
        (b"GET /metrics/../etc/passwd HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (
            b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (b"garbage\n\n", "HTTP/1.1 400 Bad Request"),
        (b"GET /metrics", "HTTP/1.1 400 Bad Request"),
    ] {
        let reply = if raw == b"GET /metrics" {
            // A head cut short by the client closing its side.
            let mut stream = connect(addr);
            stream.write_all(raw).expect("send");
            stream.shutdown(std::net::Shutdown::Write).expect("half-close");
            read_reply(stream)
        } else {
            request(addr, raw)
        };
        assert_eq!(reply.status, status, "{:?}", String::from_utf8_lossy(raw));
        assert!(!reply.body.contains("cachemgr_"), "{:?}", String::from_utf8_lossy(raw));
    }
    let post = request(addr, b"DELETE /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(post.header("Allow"), Some("GET, HEAD"));
    // A head over 8 KiB.
    let huge = format!("GET /metrics HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(20_000));
    let mut stream = connect(addr);
    let _ = stream.write_all(huge.as_bytes()); // the daemon may close before all is sent
    assert_eq!(read_reply(stream).status, "HTTP/1.1 431 Request Header Fields Too Large");

    // The daemon is unharmed: the socket and the endpoint still serve.
    daemon.ctl_ok(&["ping"]);
    assert_eq!(request(addr, b"GET /metrics HTTP/1.1\r\n\r\n").status, "HTTP/1.1 200 OK");
}

#[test]
fn metrics_over_http_bound_slow_and_too_many_clients() {
    let addr = free_port();
    let daemon = Daemon::start_with_config(&format!("metrics_listen = \"{addr}\"\n"));
    // Eight clients that connect and say nothing fill the endpoint: a ninth is turned away.
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..8).map(|_| connect(addr)).collect();
    // Until the endpoint has taken the eight in, a request may still be served; once it has,
    // the ninth is turned away.
    let turned_away = poll_until(deadline_in(Duration::from_secs(5)), || {
        let status = request(addr, b"GET /metrics HTTP/1.1\r\n\r\n").status;
        if status != "HTTP/1.1 503 Service Unavailable" {
            assert_eq!(status, "HTTP/1.1 200 OK", "served while the slots were filling");
            return None;
        }
        Some(())
    });
    assert!(turned_away.is_some(), "a ninth client was never turned away");
    // The socket is not affected by the endpoint's cap.
    daemon.ctl_ok(&["ping"]);
    // Each silent client is answered 408 after the read timeout (5 s) and closed.
    for stream in idle {
        assert_eq!(read_reply(stream).status, "HTTP/1.1 408 Request Timeout");
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(4), "timed out too early: {waited:?}");
    // Their slots are free again (each is given back as its answer is written; the answer
    // can reach us a moment before the daemon's task gets there, hence the short retry).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = request(addr, b"GET /metrics HTTP/1.1\r\n\r\n").status;
        if status == "HTTP/1.1 200 OK" {
            break;
        }
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
        assert!(Instant::now() < deadline, "the endpoint never served again");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn metrics_listen_on_a_taken_port_fails_the_start() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let daemon = Daemon::prepare("");
    // Through the environment, which sets the key like the file does.
    let mut child =
        daemon.command().env("CACHEMGR_METRICS_LISTEN", &addr).spawn().expect("spawn cachemgrd");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "cachemgrd kept running:\n{}", daemon.log_text());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "{}", daemon.log_text());
    let log = daemon.log_text();
    assert!(log.contains(&addr) && log.contains("metrics_listen"), "{log}");
    assert!(!daemon.socket.exists(), "no socket is left behind");
    drop(taken);
}
