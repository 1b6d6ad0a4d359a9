//! Harness for the end-to-end tests: starts the real `cachemgrd` on a socket in a temp dir,
//! runs the real `cachectl`, and speaks raw frames for the bad-input cases.
//!
//! The binaries are taken from `CACHEMGRD_BIN` / `CACHECTL_BIN`, else from the target
//! directory this test binary was built into; `scripts/test` builds them first.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cachemgr_proto::{encode_frame, Request, RequestBody, Response, PROTOCOL_VERSION};

pub mod apps;
pub mod as_user;
pub mod prometheus;
pub mod python_keyring;
pub mod redis_server;
pub mod users;
pub mod watcher;

/// How long a daemon may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The pause between two polls of [`poll_until`] and [`poll_until_async`].
pub const POLL_PAUSE: Duration = Duration::from_millis(10);

/// Asks `probe` until it answers `Some`, pausing [`POLL_PAUSE`] between tries; `None` when
/// `deadline` passed without an answer (the caller's assertion then says what never came).
/// `probe` is always asked at least once, and once more at or after the deadline.
///
/// This is how a test waits for something the daemon does on its own time (a TTL running
/// out, a scheduled job, a reload): by watching its observable effect, never by sleeping
/// for a guessed duration.
pub fn poll_until<T>(deadline: Instant, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        let last = Instant::now() >= deadline;
        if let Some(answer) = probe() {
            return Some(answer);
        }
        if last {
            return None;
        }
        std::thread::sleep(POLL_PAUSE);
    }
}

/// [`poll_until`] for a probe that is a future (e.g. a call of the async client).
pub async fn poll_until_async<T, F, Fut>(deadline: Instant, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    loop {
        let last = Instant::now() >= deadline;
        if let Some(answer) = probe().await {
            return Some(answer);
        }
        if last {
            return None;
        }
        tokio::time::sleep(POLL_PAUSE).await;
    }
}

/// The instant `timeout` from now, for [`poll_until`].
pub fn deadline_in(timeout: Duration) -> Instant {
    Instant::now() + timeout
}

/// Waits until `instant`, a point in time the test computed itself (the end of a TTL that
/// must run out while no daemon runs, so nothing can be watched). Never a way to wait for
/// the daemon: that is [`poll_until`]'s job.
pub fn wait_for_instant(instant: Instant) {
    std::thread::sleep(instant.saturating_duration_since(Instant::now()));
}

/// Whether `text` names every number of `numbers` as a whole number (not as a part of a
/// longer one): for messages whose product is the size or limit they name, so a test
/// asserts on the figure rather than on the sentence around it.
pub fn names_numbers(text: &str, numbers: &[u64]) -> bool {
    let named: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).collect();
    numbers.iter().all(|n| named.contains(&n.to_string().as_str()))
}

/// Path of a workspace binary (`cachemgrd` or `cachectl`).
pub fn binary(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.to_uppercase());
    if let Some(path) = std::env::var_os(&var) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not found: build the binaries first with `cargo build --workspace --bins` (or set {var})",
        path.display()
    );
    path
}

/// A running daemon in its own temp dir, killed on drop.
pub struct Daemon {
    /// Its temp dir (socket, state, config, log).
    pub dir: tempfile::TempDir,
    /// Socket path.
    pub socket: PathBuf,
    /// Config file path (written by [`Daemon::start_with_config`]).
    pub config: PathBuf,
    /// Where its stderr goes.
    pub log: PathBuf,
    /// Extra environment for the daemon (e.g. `CACHEMGR_KEY`), kept across restarts.
    pub env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Daemon {
    /// A daemon on default settings.
    pub fn start() -> Daemon {
        Daemon::start_with_config("")
    }

    /// A daemon reading `config` (TOML) from its config file.
    pub fn start_with_config(config: &str) -> Daemon {
        Daemon::start_with_env(config, &[])
    }

    /// A daemon reading `config`, with extra environment variables kept across restarts.
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Daemon {
        let mut daemon = Daemon::prepare(config);
        daemon.env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        daemon.spawn();
        daemon
    }

    /// The temp dir and config of a daemon not started yet, to put keys or files in place
    /// (the state dir is `dir/state`) before [`Daemon::spawn`].
    pub fn prepare(config: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("run/cachemgrd.sock");
        let config_path = dir.path().join("cachemgr.toml");
        fs::write(&config_path, config).expect("write config");
        let log = dir.path().join("daemon.log");
        Daemon { dir, socket, config: config_path, log, env: Vec::new(), child: None }
    }

    /// Starts (or restarts) the process on the same socket, state dir and config.
    pub fn spawn(&mut self) {
        self.spawn_with_env(&[]);
    }

    /// Like [`Daemon::spawn`], with extra environment variables (e.g. `CACHEMGR_KEY`).
    pub fn spawn_with_env(&mut self, env: &[(&str, &str)]) {
        let child = self.command().envs(env.iter().copied()).spawn().expect("spawn cachemgrd");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Like [`Daemon::spawn`], started with the umask `mask` (whatever the daemon then sets).
    pub fn spawn_with_umask(&mut self, mask: u32) {
        use std::os::unix::process::CommandExt;
        let mut cmd = self.command();
        // SAFETY: umask is async-signal-safe and touches nothing but the child's own mask.
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
                Ok(())
            });
        }
        self.child = Some(cmd.spawn().expect("spawn cachemgrd"));
        self.wait_ready();
    }

    /// The command that starts this daemon (not yet spawned).
    pub fn command(&self) -> Command {
        let log =
            fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let mut cmd = Command::new(binary("cachemgrd"));
        cmd.arg("--socket")
            .arg(&self.socket)
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .arg("--config")
            .arg(&self.config)
            .arg("--log-level")
            .arg("debug")
            .env_remove("CACHEMGR_SOCKET")
            .env_remove("RUST_LOG")
            // The developer's own key sources stay out: no key from their environment or
            // systemd, and a bus address where nothing listens, so their Secret Service is
            // never asked (tests that want a keyring run their own D-Bus session).
            .env_remove("CACHEMGR_KEY")
            // Nor the systemd service the tests may run in: no notifications to its manager,
            // no watchdog meant for another process, no directories chosen for it.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("RUNTIME_DIRECTORY")
            .env_remove("STATE_DIRECTORY")
            .env_remove("CACHE_DIRECTORY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("MYPERSONALAPPLICATIONSSERVICE_PASSPHRASE")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", self.dir.path().join("no-bus").display()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }

    /// The daemon's state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.answers_hello() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("cachemgrd exited early ({status}); log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("cachemgrd did not listen within {START_TIMEOUT:?}; log:\n{}", self.log_text());
    }

    /// Whether the daemon completes a handshake. A socket that merely accepts connections is
    /// not enough: it is bound before the signal handlers are installed, so a signal sent
    /// then (a test's SIGHUP) would kill the daemon.
    fn answers_hello(&self) -> bool {
        let Ok(stream) = UnixStream::connect(&self.socket) else { return false };
        if stream.set_read_timeout(Some(Duration::from_secs(2))).is_err() {
            return false;
        }
        RawConn { stream }.try_handshake().is_ok()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.pid() as i32).expect("pid");
        rustix::process::kill_process(pid, signal).expect("kill");
    }

    /// Waits for the process to exit (up to `timeout`) and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("cachemgrd did not exit within {timeout:?}; log:\n{}", self.log_text());
    }

    /// Kills the process with SIGKILL (no cleanup: leaves a stale socket).
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Everything the daemon logged so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        poll_until(deadline_in(timeout), || Some(self.log_text()).filter(|t| t.contains(needle)))
            .unwrap_or_else(|| panic!("log never contained {needle:?}:\n{}", self.log_text()))
    }

    /// Waits until a line of the log satisfies `wanted`, and returns that line. For what
    /// only the log says (a signal has no one to answer); match the values the line names
    /// (`namespace=web`, a path, a number) rather than its sentence.
    pub fn wait_for_log_line(&self, timeout: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let found = poll_until(deadline_in(timeout), || {
            self.log_text().lines().find(|line| wanted(line)).map(str::to_owned)
        });
        found.unwrap_or_else(|| panic!("no such line in the log:\n{}", self.log_text()))
    }

    /// Runs `cachectl --socket <ours> args...` with no stdin.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_with_stdin(args, None)
    }

    /// Runs `cachectl` feeding `stdin`.
    pub fn ctl_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new(binary("cachectl"));
        cmd.arg("--socket").arg(&self.socket).args(args).env_remove("CACHEMGR_SOCKET");
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().expect("spawn cachectl");
        if let Some(bytes) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(bytes).expect("write stdin");
        }
        child.wait_with_output().expect("cachectl output")
    }

    /// Runs `cachectl` and asserts it succeeded; returns stdout as text.
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "cachectl {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs `cachectl --json ARGS`, which must succeed, and parses its output.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ctl_ok(&all)).expect("cachectl --json prints JSON")
    }

    /// An async client-library connection.
    pub async fn client(&self) -> cachectl::Client {
        cachectl::Client::connect(&self.socket, "e2e").await.expect("connect")
    }

    /// A raw socket connection for speaking bytes.
    pub fn raw(&self) -> RawConn {
        let stream = UnixStream::connect(&self.socket).expect("connect raw");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        RawConn { stream }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A raw connection: frames in and out, nothing else.
pub struct RawConn {
    /// The socket.
    pub stream: UnixStream,
}

impl RawConn {
    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends one request frame.
    pub fn send(&mut self, request: &Request) {
        let mut buf = bytes::BytesMut::new();
        encode_frame(request, &mut buf, usize::MAX).expect("encode");
        self.write(&buf);
    }

    /// Sends `hello` and expects `welcome`.
    pub fn handshake(&mut self) {
        if let Err(response) = self.try_handshake() {
            panic!("{response:?}");
        }
    }

    /// Sends `hello`; the daemon's answer when it is not `welcome` (e.g. the connection cap).
    pub fn try_handshake(&mut self) -> Result<(), Box<Option<Response>>> {
        let hello = Request {
            id: 1,
            body: RequestBody::Hello { protocol: PROTOCOL_VERSION, client: "raw".into() },
        };
        // A daemon over its connection cap answers at accept and closes: the hello may then
        // meet a closed socket, and the refusal is still there to read.
        let mut frame = bytes::BytesMut::new();
        encode_frame(&hello, &mut frame, usize::MAX).expect("encode");
        let _ = self.stream.write_all(&frame);
        match self.recv() {
            Some(response)
                if matches!(response.body, cachemgr_proto::ResponseBody::Welcome { .. }) =>
            {
                Ok(())
            }
            other => Err(Box::new(other)),
        }
    }

    /// Reads one response frame; `None` when the daemon closed the connection.
    pub fn recv(&mut self) -> Option<Response> {
        let mut prefix = [0u8; 4];
        if self.stream.read_exact(&mut prefix).is_err() {
            return None;
        }
        let mut body = vec![0u8; u32::from_be_bytes(prefix) as usize];
        self.stream.read_exact(&mut body).expect("frame body");
        Some(rmp_serde::from_slice(&body).expect("response decodes"))
    }

    /// Whether the daemon closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }
}

/// Frames a raw payload with a big-endian length prefix.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// The Python interpreter of the test venv (`scripts/test` creates it with `keyring`,
/// `cryptography`, `kyber-py` and `prometheus-client`). Fails, never skips, when it is missing.
pub fn python() -> PathBuf {
    let path = std::env::var_os("CACHEMGR_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-venv/bin/python")
    });
    assert!(
        path.exists(),
        "{} not found: the app-cache and metrics tests need the Python test venv (keyring, \
         cryptography, kyber-py, prometheus-client); run scripts/test, which creates it, or set CACHEMGR_TEST_PYTHON",
        path.display()
    );
    path
}

/// The shared `.enc` vectors made by the real Python code: `$CACHEMGR_VECTORS`, else
/// shared/compat/vectors beside the repository (the rule of scripts/test). Missing vectors
/// fail the test that needs them, saying where they were looked for; nothing is skipped.
pub fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("CACHEMGR_VECTORS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/compat/vectors"),
        PathBuf::from,
    );
    assert!(
        dir.join("keyring.json").is_file(),
        "the .enc compatibility vectors are missing: expected {} (shared/compat/vectors beside \
         the repository, or the folder CACHEMGR_VECTORS names) with keyring.json",
        dir.display()
    );
    dir
}
