//! systemd supervision with the real daemon: it is started with `NOTIFY_SOCKET` pointing at a
//! datagram socket this test reads and `WATCHDOG_USEC` set, as systemd would for
//! `Type=notify` + `WatchdogSec=`, and the messages must arrive in the lifecycle's order.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use cachemgr_e2e::Daemon;
use rustix::process::Signal;

/// Generous: only a bound on how long a broken daemon may keep the test waiting.
const WAIT: Duration = Duration::from_secs(20);

/// Receives datagrams until one contains `key` (a `KEY=value` line prefix), returning every
/// message seen on the way, the matching one last.
fn until(socket: &UnixDatagram, key: &str, log: &dyn Fn() -> String) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 4096];
    while Instant::now() < deadline {
        match socket.recv(&mut buf) {
            Ok(n) => {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                let found = message.lines().any(|line| line.starts_with(key));
                seen.push(message);
                if found {
                    return seen;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(err) => panic!("recv on the notify socket: {err}"),
        }
    }
    panic!("no {key} within {WAIT:?}; messages so far: {seen:?}\nlog:\n{}", log());
}

/// The namespace count of a `STATUS=serving N connections, M namespaces, K apps` line.
fn namespaces(message: &str) -> Option<usize> {
    let status = message.lines().find_map(|l| l.strip_prefix("STATUS=serving "))?;
    let part = status.split(", ").find(|p| p.ends_with(" namespaces"))?;
    part.trim_end_matches(" namespaces").parse().ok()
}

fn has(messages: &[String], line: &str) -> bool {
    messages.iter().any(|m| m.lines().any(|l| l == line))
}

#[test]
fn ready_status_reload_watchdog_and_stopping_arrive_in_order() {
    let mut daemon = Daemon::prepare("");
    let notify_path = daemon.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&notify_path).expect("bind the notify socket");
    socket.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let notify = notify_path.to_str().expect("utf-8 path").to_owned();
    daemon.spawn_with_env(&[("NOTIFY_SOCKET", &notify), ("WATCHDOG_USEC", "400000")]);
    let log = || daemon.log_text();

    // Ready once the socket accepts (spawn_with_env already completed a handshake), with a
    // status line in the same message.
    let first = until(&socket, "READY=1", &log);
    let ready = first.last().expect("ready message");
    assert!(
        ready.lines().any(|l| l.starts_with("STATUS=serving ") && l.ends_with(" apps")),
        "READY=1 comes with the summary status: {ready:?}"
    );
    assert!(!has(&first[..first.len() - 1], "WATCHDOG=1"), "no ping before READY: {first:?}");

    // Watchdog pings at half of WATCHDOG_USEC, several of them.
    for _ in 0..3 {
        until(&socket, "WATCHDOG=1", &log);
    }

    // A status refresh reflects a new namespace (the status is sent when it changes).
    let before = namespaces(ready).expect("namespace count in the READY status");
    daemon.ctl_ok(&["set", "sdtest", "k", "v"]);
    loop {
        let status = until(&socket, "STATUS=serving", &log);
        let last = status.last().expect("status message");
        if namespaces(last).is_some_and(|n| n > before) {
            break;
        }
    }

    // SIGHUP: RELOADING=1 (with the monotonic time) first, READY=1 after.
    daemon.signal(Signal::HUP);
    let reloading = until(&socket, "RELOADING=1", &log);
    let message = reloading.last().expect("reloading message");
    assert!(
        message.lines().any(|l| l
            .strip_prefix("MONOTONIC_USEC=")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|usec| usec > 0))),
        "RELOADING=1 carries MONOTONIC_USEC: {message:?}"
    );
    let after = until(&socket, "READY=1", &log);
    assert!(!has(&after, "STOPPING=1"), "{after:?}");
    until(&socket, "WATCHDOG=1", &log);

    // The reload request goes the same way.
    daemon.ctl_ok(&["reload"]);
    until(&socket, "RELOADING=1", &log);
    until(&socket, "READY=1", &log);

    // SIGTERM: STOPPING=1 when the drain begins, and a clean exit.
    daemon.signal(Signal::TERM);
    let stopping = until(&socket, "STOPPING=1", &log);
    assert!(!has(&stopping, "READY=1"), "no READY between SIGTERM and STOPPING: {stopping:?}");
    assert_eq!(daemon.wait_exit(WAIT), Some(0), "log:\n{}", daemon.log_text());
}

#[test]
fn the_daemon_marks_itself_non_dumpable_and_stays_silent_without_notify_socket() {
    let mut daemon = Daemon::start();
    daemon.wait_for_log("process marked non-dumpable", WAIT);
    assert!(!daemon.log_text().contains("systemd watchdog pings on"));
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(WAIT), Some(0));
}

#[test]
fn systemd_directories_place_socket_state_and_disk_layer() {
    // As under RuntimeDirectory=/StateDirectory=/CacheDirectory=: no --socket, no
    // --state-dir, only the variables systemd sets (the first entry of a list counts).
    let mut daemon = Daemon::prepare("");
    let root = daemon.dir.path().to_path_buf();
    let (runtime, state, cache) = (root.join("rt"), root.join("st"), root.join("ca"));
    for dir in [&state, &cache] {
        // systemd creates these before the start (the runtime one the daemon makes itself).
        std::fs::create_dir(dir).expect("create directory");
    }
    let log = std::fs::File::create(&daemon.log).expect("log file");
    let mut child = std::process::Command::new(cachemgr_e2e::binary("cachemgrd"))
        .arg("--config")
        .arg(&daemon.config)
        .arg("--log-level")
        .arg("debug")
        .env_remove("CACHEMGR_SOCKET")
        .env_remove("CACHEMGR_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env("HOME", &root)
        .env("XDG_RUNTIME_DIR", root.join("xdg"))
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", root.join("no-bus").display()))
        .env("RUNTIME_DIRECTORY", format!("{}:{}", runtime.display(), root.join("other").display()))
        .env("STATE_DIRECTORY", &state)
        .env("CACHE_DIRECTORY", &cache)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn cachemgrd");
    daemon.socket = runtime.join("cachemgrd.sock");
    let deadline = Instant::now() + WAIT;
    while !daemon.ctl(&["info"]).status.success() {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("cachemgrd exited ({status}); log:\n{}", daemon.log_text());
        }
        assert!(
            Instant::now() < deadline,
            "no socket in $RUNTIME_DIRECTORY; log:\n{}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let info = daemon.ctl_json(&["info"]);
    assert_eq!(info["socket"], runtime.join("cachemgrd.sock").display().to_string(), "{info}");
    assert_eq!(info["state_dir"], state.display().to_string(), "{info}");
    assert!(cache.join("cache.redb").is_file(), "the disk layer lives in $CACHE_DIRECTORY");
    assert!(!state.join("cache.redb").exists(), "and not in the state directory");
    assert!(!root.join("xdg/cachemgr").exists(), "XDG_RUNTIME_DIR is not used");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, Signal::TERM).expect("SIGTERM");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "log:\n{}", daemon.log_text());
}
