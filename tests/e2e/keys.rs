//! Where the master key comes from, with the real `cachemgrd`: `CACHEMGR_KEY`, systemd
//! credentials, key files (and `key-init --to file`), and a real Secret Service
//! (gnome-keyring under `dbus-run-session`) filled by `key-init --to keyring` or `secret-tool`.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cachemgr_e2e::python_keyring::secret_service_session;
use cachemgr_e2e::{binary, deadline_in, names_numbers, poll_until, Daemon};
use rustix::process::{kill_process, Pid, Signal};

/// base64 of 32 bytes of 7, and its fingerprint (pinned by the daemon's unit tests too).
const SEVENS_B64: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const SEVENS_FINGERPRINT: &str = "2e640a3ab1c9fde5";
const WAIT: Duration = Duration::from_secs(20);

fn state_dir(daemon: &Daemon) -> PathBuf {
    let dir = daemon.dir.path().join("state");
    fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).expect("mkdir state");
    dir
}

/// Runs `cmd` (stderr already going to the daemon log) and returns its exit code.
fn exit_code(mut cmd: Command, timeout: Duration) -> Option<i32> {
    let mut child = cmd.spawn().expect("spawn cachemgrd");
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("cachemgrd did not exit within {timeout:?}");
}

/// `cachemgrd key-init ...` with the test's state dir, isolated from the developer's keyring.
fn key_init(daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(binary("cachemgrd"))
        .arg("--state-dir")
        .arg(state_dir(daemon))
        .arg("--config")
        .arg(&daemon.config)
        .args(["key-init"])
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/cachemgr-e2e-bus")
        .env_remove("CACHEMGR_KEY")
        .output()
        .expect("run key-init")
}

/// `key status --json` of a running daemon: the key's source, persistence and fingerprint.
fn key_status(daemon: &Daemon) -> (String, bool, String) {
    let status = daemon.ctl_json(&["key", "status"]);
    let text =
        |field: &str| status[field].as_str().unwrap_or_else(|| panic!("{status}")).to_owned();
    (text("source"), status["persistent"].as_bool().expect("persistent"), text("fingerprint"))
}

#[test]
fn env_key_is_used_and_only_its_fingerprint_is_logged() {
    let mut daemon = Daemon::prepare("");
    daemon.spawn_with_env(&[("CACHEMGR_KEY", SEVENS_B64)]);
    let source = "environment (CACHEMGR_KEY)".to_owned();
    assert_eq!(key_status(&daemon), (source, true, SEVENS_FINGERPRINT.to_owned()));
    // The start-up log is where an operator compares hosts: it names the fingerprint (logged
    // before the socket listened) and never the key.
    let log = daemon.log_text();
    assert!(log.contains(&format!("fingerprint={SEVENS_FINGERPRINT}")), "{log}");
    assert!(!log.contains(&SEVENS_B64[..16]), "key material in the log:\n{log}");
}

#[test]
fn invalid_env_key_stops_start_up_with_the_reason() {
    let daemon = Daemon::prepare("");
    let mut cmd = daemon.command();
    cmd.env("CACHEMGR_KEY", "c2hvcnQ=");
    assert_eq!(exit_code(cmd, WAIT), Some(1));
    // Nothing listens, so the log is the only answer: it names the variable and both
    // lengths (5 bytes decoded, 32 needed).
    let log = daemon.log_text();
    let reason = fatal_reason(&log);
    assert!(reason.contains("CACHEMGR_KEY"), "{log}");
    assert!(names_numbers(reason, &[5, 32]), "{log}");
    assert!(!log.contains("c2hvcnQ"), "value echoed:\n{log}");
}

#[test]
fn group_readable_key_file_stops_start_up_with_the_fix() {
    let daemon = Daemon::prepare("");
    let path = state_dir(&daemon).join("master.key");
    fs::write(&path, SEVENS_B64).expect("write key");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_eq!(exit_code(daemon.command(), WAIT), Some(1), "auto must not fall through");
    // The log names the file, its mode and the command that fixes it.
    let log = daemon.log_text();
    let reason = fatal_reason(&log);
    let p = path.display();
    assert!(reason.contains(&p.to_string()) && reason.contains("0644"), "{log}");
    assert!(reason.contains(&format!("chmod 600 {p}")), "{log}");
    assert!(!daemon.socket.exists());
}

#[test]
fn credentials_directory_is_used() {
    let mut daemon = Daemon::prepare("");
    let creds = daemon.dir.path().join("credentials");
    fs::create_dir(&creds).expect("mkdir");
    fs::write(creds.join("cachemgr.key"), [7u8; 32]).expect("raw credential");
    let creds_text = creds.display().to_string();
    daemon.spawn_with_env(&[("CREDENTIALS_DIRECTORY", &creds_text), ("CACHEMGR_KEY", "ignored")]);
    let source = format!("systemd credentials ({creds_text}/cachemgr.key)");
    assert_eq!(key_status(&daemon), (source, true, SEVENS_FINGERPRINT.to_owned()));
}

#[test]
fn key_init_to_file_makes_the_key_the_daemon_reads() {
    let mut daemon = Daemon::prepare("");
    let out = key_init(&daemon, &["--to", "file"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let path = state_dir(&daemon).join("master.key");
    let fingerprint = fingerprint_in(&stdout);
    assert!(stdout.contains(&format!("key file ({})", path.display())), "{stdout}");
    let content = fs::read_to_string(&path).expect("key file");
    assert!(!stdout.contains(content.trim()), "key printed: {stdout}");
    assert_eq!(fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o600);

    let again = key_init(&daemon, &["--to", "file"]);
    assert_eq!(again.status.code(), Some(1));
    // The refusal names the option that overrides it.
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"), "{again:?}");
    assert_eq!(fs::read_to_string(&path).expect("key file"), content, "not overwritten");

    daemon.spawn();
    let source = format!("key file ({})", path.display());
    assert_eq!(key_status(&daemon), (source, true, fingerprint));
}

#[test]
fn no_key_anywhere_starts_ephemeral_with_a_warning() {
    let daemon = Daemon::start();
    let (source, persistent, _) = key_status(&daemon);
    assert_eq!((source.as_str(), persistent), ("ephemeral", false));
    // The warning (logged before the socket listened) names where a key was looked for
    // and the command that makes one.
    let log = daemon.log_text();
    let key_file = daemon.state_dir().join("master.key").display().to_string();
    let warning = log.lines().find(|l| l.contains(" WARN ") && l.contains(&key_file));
    let warning = warning.unwrap_or_else(|| panic!("no warning naming {key_file}:\n{log}"));
    assert!(warning.contains("CACHEMGR_KEY") && warning.contains("ephemeral"), "{warning}");
    assert!(warning.contains("cachemgrd key-init"), "{warning}");
}

/// The reason a daemon that failed to start gave: its `ERROR` line, without the time stamp.
fn fatal_reason(log: &str) -> &str {
    let line = log.lines().rev().find_map(|l| l.split_once(" ERROR ").map(|(_, why)| why));
    line.unwrap_or_else(|| panic!("no ERROR line:\n{log}"))
}

/// The 16-hex fingerprint `key-init` printed.
fn fingerprint_in(text: &str) -> String {
    let at = text.find("fingerprint ").unwrap_or_else(|| panic!("no fingerprint in {text:?}"));
    text[at + "fingerprint ".len()..].chars().take(16).collect()
}

// ---- the real Secret Service ----

/// Fails (never skips) when a program the keyring tests need is missing.
fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} not found: the keyring tests need a real Secret Service; install the Debian \
         package {package} (`apt-get install {package}`; scripts/test does this)"
    );
}

/// A private D-Bus session with an unlocked gnome-keyring, running `script` (sh) after it.
/// The script gets `$CACHEMGRD`, `$DIR` (the temp dir) and `$DAEMON_ARGS`; it must write the
/// daemon's pid to `$DIR/daemon.pid` and `exec` it.
struct Session {
    daemon: Daemon,
    child: Option<Child>,
}

impl Session {
    fn start(script: &str) -> Session {
        let daemon = Daemon::prepare("");
        let dir = daemon.dir.path();
        let daemon_args = format!(
            "--socket {} --state-dir {} --config {} --log-level debug",
            daemon.socket.display(),
            state_dir(&daemon).display(),
            daemon.config.display()
        );
        let session_log = fs::File::create(dir.join("session.log")).expect("session log");
        let child = secret_service_session(dir, script)
            .env("CACHEMGRD", binary("cachemgrd"))
            .env("DAEMON_ARGS", daemon_args)
            .env_remove("CACHEMGR_SOCKET")
            .env_remove("CACHEMGR_CONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(session_log.try_clone().expect("clone log"))
            .stderr(session_log)
            .spawn()
            .expect("spawn dbus-run-session");
        Session { daemon, child: Some(child) }
    }

    fn dir(&self) -> &Path {
        self.daemon.dir.path()
    }

    fn report(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir().join(name)).unwrap_or_default();
        format!(
            "session:\n{}\ndaemon log:\n{}\nkey-init:\n{}",
            read("session.log"),
            self.daemon.log_text(),
            read("init.out")
        )
    }

    /// Waits until the daemon answers `key status`, and returns its source, persistence and
    /// fingerprint; fails with every log if the session ends first.
    fn wait_for_key_status(&mut self) -> (String, bool, String) {
        let answered = poll_until(deadline_in(WAIT), || {
            let ended = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(ended.is_none(), "session ended ({ended:?}) early; {}", self.report());
            self.daemon.ctl(&["key", "status"]).status.success().then_some(())
        });
        assert!(answered.is_some(), "the daemon never answered; {}", self.report());
        key_status(&self.daemon)
    }

    fn daemon_pid(&self) -> Option<Pid> {
        let text = fs::read_to_string(self.dir().join("daemon.pid")).ok()?;
        Pid::from_raw(text.trim().parse().ok()?)
    }

    /// SIGTERM to the daemon, then the session ends with its exit code.
    fn stop(&mut self) -> Option<i32> {
        let pid = self.daemon_pid().expect("daemon pid");
        kill_process(pid, Signal::TERM).expect("SIGTERM");
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Drop kills what is left.
        panic!("session did not end after SIGTERM; {}", self.report());
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = self.daemon_pid() {
                let _ = kill_process(pid, Signal::KILL);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn key_init_to_keyring_then_the_daemon_reads_it_from_the_secret_service() {
    let mut session = Session::start(
        r#""$CACHEMGRD" $DAEMON_ARGS key-init --to keyring > "$DIR/init.out"
if "$CACHEMGRD" $DAEMON_ARGS key-init --to keyring 2> "$DIR/again.err"; then
    echo "second key-init without --force succeeded" >&2; exit 9
fi
echo $$ > "$DIR/daemon.pid"
exec "$CACHEMGRD" $DAEMON_ARGS 2>> "$DIR/daemon.log""#,
    );
    let status = session.wait_for_key_status();
    let init = fs::read_to_string(session.dir().join("init.out")).expect("init output");
    let source = "keyring (secret-service, service cachemgr)";
    assert!(init.contains(source), "{init}");
    let fingerprint = fingerprint_in(&init);
    assert_eq!(status, (source.to_owned(), true, fingerprint), "{}", session.report());
    // The second key-init (which the script checked failed) names the option that overrides.
    let again = fs::read_to_string(session.dir().join("again.err")).unwrap_or_default();
    assert!(again.contains("--force"), "{again}");
    assert_eq!(session.stop(), Some(0), "{}", session.report());
}

#[test]
fn key_stored_with_secret_tool_is_read_from_the_secret_service() {
    require("secret-tool", "libsecret-tools");
    let mut session = Session::start(&format!(
        r#"printf %s '{SEVENS_B64}' | secret-tool store --label cachemgr service cachemgr username master
echo $$ > "$DIR/daemon.pid"
exec "$CACHEMGRD" $DAEMON_ARGS 2>> "$DIR/daemon.log""#
    ));
    let status = session.wait_for_key_status();
    let source = "keyring (secret-service, service cachemgr)".to_owned();
    assert_eq!(status, (source, true, SEVENS_FINGERPRINT.to_owned()), "{}", session.report());
    assert_eq!(session.stop(), Some(0), "{}", session.report());
}
