//! Socket activation through a real launcher: `systemd-socket-activate` (from systemd)
//! creates the socket, waits for the first client, then starts the real `cachemgrd` with
//! the socket as fd 3 (`LISTEN_PID`, `LISTEN_FDS`), as `cachemgrd.socket` does.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachemgr_e2e::binary;

/// A launcher with the daemon behind it, in a temp dir; killed on drop.
struct Activated {
    dir: tempfile::TempDir,
    launcher: Child,
}

impl Activated {
    fn start(sockets: &[&str]) -> Activated {
        let launcher_path = Path::new("/usr/bin/systemd-socket-activate");
        assert!(
            launcher_path.is_file(),
            "systemd-socket-activate (package systemd) is needed for the socket activation tests"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.toml"), "").expect("config");
        let log = std::fs::File::create(dir.path().join("log")).expect("log");
        let mut command = Command::new(launcher_path);
        for socket in sockets {
            command.arg("-l").arg(dir.path().join(socket));
        }
        command
            .arg(binary("cachemgrd"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        let launcher = command.spawn().expect("start systemd-socket-activate");
        let activated = Activated { dir, launcher };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sockets.iter().all(|s| activated.path(s).exists()) {
            assert!(Instant::now() < deadline, "the launcher never created its sockets");
            std::thread::sleep(Duration::from_millis(20));
        }
        activated
    }

    fn path(&self, socket: &str) -> PathBuf {
        self.dir.path().join(socket)
    }

    fn ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary("cachectl"))
            .arg("--socket")
            .arg(self.path("run.sock"))
            .args(args)
            .env_remove("CACHEMGR_SOCKET")
            .output()
            .expect("run cachectl")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.launcher.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the daemon did not exit; log:\n{}", self.log());
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.launcher.kill();
        let _ = self.launcher.wait();
    }
}

#[test]
fn the_first_client_starts_the_daemon_and_the_socket_outlives_it() {
    let mut activated = Activated::start(&["run.sock"]);
    // This connect reaches the launcher's socket before any daemon runs; the daemon then
    // starts with the socket and serves the waiting client.
    let ping = activated.ctl(&["ping"]);
    assert!(
        ping.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&ping.stderr),
        activated.log()
    );
    let set = activated.ctl(&["set", "web", "k", "served"]);
    assert!(set.status.success());
    assert_eq!(activated.ctl(&["get", "web", "k"]).stdout, b"served");
    let info: serde_json::Value =
        serde_json::from_slice(&activated.ctl(&["--json", "info"]).stdout).expect("info json");
    assert_eq!(info["socket"].as_str(), activated.path("run.sock").to_str());
    assert!(activated.log().contains("socket activation"), "{}", activated.log());

    assert!(activated.ctl(&["shutdown"]).status.success());
    assert_eq!(activated.wait_exit(), Some(0));
    assert!(
        activated.path("run.sock").exists(),
        "a socket systemd owns is left in place for the next start"
    );
}

#[test]
fn a_socket_every_user_may_write_is_refused() {
    let mut activated = Activated::start(&["run.sock"]);
    let socket = activated.path("run.sock");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let ping = activated.ctl(&["ping"]);
    assert!(!ping.status.success(), "served a world-writable socket");
    assert_ne!(activated.wait_exit(), Some(0));
    let log = activated.log();
    assert!(log.contains("open to every user") && log.contains("SocketMode="), "{log}");
}

#[test]
fn more_than_one_socket_is_refused_by_name() {
    let mut activated = Activated::start(&["run.sock", "second.sock"]);
    let ping = activated.ctl(&["ping"]);
    assert!(!ping.status.success());
    assert_ne!(activated.wait_exit(), Some(0));
    let log = activated.log();
    assert!(log.contains("expected exactly one socket in LISTEN_FDS"), "{log}");
}
