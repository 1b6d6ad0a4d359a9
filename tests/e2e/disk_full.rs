//! A full file system under the disk layer: writes fail with a clear `storage` error, `status`
//! says why, and once space is back the layer recovers by itself (no restart) with every
//! acknowledged write still there, also after a restart.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cachemgr_e2e::{Daemon, RawConn};
use cachemgr_proto::{ErrorKind, Request, RequestBody, ResponseBody, SetCondition};

use crate::durability::TEST_KEY;

/// `md` acknowledges after the commit (batched fsync), `f` after the fsync.
const CONFIG: &str = r#"
[namespaces.md]
tier = "memory+disk"
max_bytes = "64MiB"

[namespaces.f]
tier = "disk"
durability = "fsync"
max_bytes = "64MiB"
"#;

/// A small tmpfs mounted for the test, unmounted when dropped (also on a failed assert).
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "8m") on `dir` (created if missing).
    pub fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs needs root");
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the daemon (killed by its own drop, which may come later) may hold files.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// One request on a raw connection; `None` when the daemon closed it.
pub fn call(conn: &mut RawConn, id: &mut u64, body: RequestBody) -> Option<ResponseBody> {
    *id += 1;
    conn.send(&Request { id: *id, body });
    conn.recv().map(|response| response.body)
}

fn set(ns: &str, key: &str, value: &[u8]) -> RequestBody {
    RequestBody::Set {
        ns: ns.into(),
        key: key.into(),
        value: serde_bytes::ByteBuf::from(value.to_vec()),
        ttl_ms: None,
        condition: SetCondition::Always,
    }
}

/// Incompressible bytes (the disk layer compresses what it can).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn status(daemon: &Daemon) -> (bool, String) {
    let out = daemon.ctl(&["--json", "status"]);
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_full_disk_fails_writes_clearly_and_recovers_without_a_restart() {
    let mut daemon = Daemon::prepare(CONFIG);
    daemon.env = vec![("CACHEMGR_KEY".into(), TEST_KEY.into())];
    let state = daemon.state_dir();
    let _mount = Tmpfs::mount(&state, "8m");
    // Ballast, freed later to give space back.
    let ballast = state.join("ballast");
    std::fs::write(&ballast, noise(0, 2 << 20)).expect("ballast");
    daemon.spawn();
    let mut conn = daemon.raw();
    conn.handshake();
    let mut id = 1;
    let mut acked: Vec<(String, String, Vec<u8>)> = Vec::new();
    let mut refused = None;
    for i in 0..400u64 {
        let ns = if i % 3 == 0 { "f" } else { "md" };
        let key = format!("k{i}");
        let value = noise(i + 1, 48 * 1024);
        match call(&mut conn, &mut id, set(ns, &key, &value)).expect("an answer") {
            ResponseBody::Stored { stored: true } => acked.push((ns.into(), key, value)),
            ResponseBody::Error { kind, message } => {
                refused = Some((kind, message));
                break;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let (kind, message) = refused.expect("8 MiB filled before 400 writes of 48 KiB");
    assert_eq!(kind, ErrorKind::Storage, "{message}");
    assert!(message.contains("no space left on device"), "names the cause: {message}");
    assert!(acked.len() > 20, "writes went through before the disk filled: {}", acked.len());
    let (healthy, text) = status(&daemon);
    assert!(!healthy, "status is unhealthy while disk writes fail: {text}");
    assert!(text.contains("disk layer") && text.contains("no space"), "{text}");
    // A further write still fails clearly rather than with a wedged database's error.
    match call(&mut conn, &mut id, set("md", "late", b"v")).expect("an answer") {
        ResponseBody::Error { kind: ErrorKind::Storage, message } => {
            assert!(!message.contains("Previous I/O"), "{message}")
        }
        // redb may find a free page for a tiny value; that is fine too.
        ResponseBody::Stored { stored: true } => {
            acked.push(("md".into(), "late".into(), b"v".to_vec()))
        }
        other => panic!("unexpected answer {other:?}"),
    }

    std::fs::remove_file(&ballast).expect("free the ballast");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = call(&mut conn, &mut id, set("md", "after", b"space is back"));
        if matches!(answer, Some(ResponseBody::Stored { stored: true })) {
            break;
        }
        assert!(Instant::now() < deadline, "writes did not recover: {answer:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        matches!(
            call(&mut conn, &mut id, set("f", "after", b"durable too")),
            Some(ResponseBody::Stored { stored: true })
        ),
        "an fsync write goes through again"
    );
    let (healthy, text) = status(&daemon);
    assert!(healthy, "status recovered: {text}");
    assert!(text.contains("recovered"), "the recovery is a notice: {text}");

    acked.push(("md".into(), "after".into(), b"space is back".to_vec()));
    acked.push(("f".into(), "after".into(), b"durable too".to_vec()));
    let check = |daemon: &Daemon, when: &str| {
        let mut conn = daemon.raw();
        conn.handshake();
        let mut id = 1;
        for (ns, key, value) in &acked {
            let got =
                call(&mut conn, &mut id, RequestBody::Get { ns: ns.clone(), key: key.clone() });
            match got {
                Some(ResponseBody::Value { value: Some(got), .. }) => {
                    assert!(got.as_ref() == value.as_slice(), "{when}: {ns}/{key} changed")
                }
                other => panic!("{when}: acknowledged {ns}/{key} is gone: {other:?}"),
            }
        }
    };
    check(&daemon, "without a restart");
    drop(conn);
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0), "{}", daemon.log_text());
    daemon.spawn();
    check(&daemon, "after a restart");
}
