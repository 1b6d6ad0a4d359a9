//! A real `redis-server` for the tests: its own temp dir, a unix socket and a loopback
//! port, no persistence. A missing binary is a failure that says how to install it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server, killed on drop.
pub struct RedisServer {
    dir: tempfile::TempDir,
    /// Its TCP port on 127.0.0.1 (TLS-only when started with [`RedisServer::start_tls`]).
    pub port: u16,
    tls: bool,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl RedisServer {
    /// Starts one; panics with the install hint when `redis-server` is not on the PATH.
    pub fn start() -> RedisServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = RedisServer { dir, port: free_port(), tls: false, child: None };
        server.spawn();
        server
    }

    /// Starts one whose TCP port speaks only TLS and wants a client certificate, with a
    /// throwaway CA made by `openssl` (`ca.crt`, `client.crt`, `client.key` in [`Self::dir`]).
    pub fn start_tls() -> RedisServer {
        let dir = tempfile::tempdir().expect("tempdir");
        make_certificates(dir.path());
        let mut server = RedisServer { dir, port: free_port(), tls: true, child: None };
        server.spawn();
        server
    }

    /// `rediss://` URL of the TLS port.
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.port)
    }

    /// The unix socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// `unix://` URL of the socket.
    pub fn unix_url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// `redis://` URL of the loopback port.
    pub fn tcp_url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let mut cmd = Command::new("redis-server");
        if self.tls {
            let file = |name: &str| self.dir.path().join(name).display().to_string();
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args([
                    "--tls-cert-file",
                    &file("server.crt"),
                    "--tls-key-file",
                    &file("server.key"),
                ])
                .args(["--tls-ca-cert-file", &file("ca.crt")]);
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        let child = cmd
            .args(["--bind", "127.0.0.1"])
            .arg("--unixsocket")
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start redis-server ({err}): the Redis tests need it; scripts/test \
                     installs it (apt-get install redis-server)"
                )
            });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.cli(&["PING"]).is_some_and(|out| out.trim() == "PONG") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer PING within 10 s");
    }

    /// Runs `redis-cli` against the socket; its stdout, or `None` if it failed.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let out =
            Command::new("redis-cli").arg("-s").arg(self.socket()).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every key in Redis (SCAN), for checking what Redis was given.
    pub fn all_keys(&self) -> Vec<String> {
        self.cli(&["--scan"]).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    /// Kills it with SIGKILL (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same socket and port (empty: nothing was persisted).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The directory it runs in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out =
            Command::new("openssl").current_dir(dir).args(args).output().unwrap_or_else(|err| {
                panic!("cannot run openssl ({err}): scripts/test installs it")
            });
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    let extensions = [
        ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
        ("client", "/CN=cachemgrd", "extendedKeyUsage=clientAuth\n"),
    ];
    for (name, subject, extension) in extensions {
        let (key, csr, crt, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        std::fs::write(dir.join(&ext), extension).expect("write the extension file");
        openssl(&[
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", &key, "-out", &csr,
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &crt,
        ]);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
