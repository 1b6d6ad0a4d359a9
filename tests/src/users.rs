//! Throwaway Unix users for the trust-boundary tests: real accounts (`useradd`, removed on
//! drop) with homes of their own, so the daemon meets real different uids, owners and NSS
//! names. Each user runs `cachectl` (through `setpriv`) and speaks raw frames on a socket
//! it connected itself (a thread that takes the user's uid and groups before `connect`, so the
//! kernel records them as the peer's). The tests run as root (scripts/test does).

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{binary, Daemon, RawConn};

/// The group the trust-boundary daemons give their socket (`socket_group`).
pub const SOCKET_GROUP: u32 = 4252;
/// Their `admin_group`.
pub const ADMIN_GROUP: u32 = 4253;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A real account, deleted (with its home) on drop.
pub struct TestUser {
    /// Login name.
    pub name: String,
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Home directory (mode 0700, theirs).
    pub home: PathBuf,
}

fn assert_root() {
    assert_eq!(
        rustix::process::geteuid().as_raw(),
        0,
        "the trust-boundary tests create users and run as them: they need root (scripts/test runs as root)"
    );
}

impl TestUser {
    /// Creates a user whose home is `homes/<name>`.
    pub fn create(homes: &Path) -> TestUser {
        assert_root();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("cmt{}x{n}", std::process::id() % 100_000);
        let home = homes.join(&name);
        // useradd locks /etc/passwd; parallel tests may hold it for a moment.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("useradd")
                .args(["--create-home", "--user-group", "--shell", "/usr/sbin/nologin"])
                .args(["--key", "HOME_MODE=0700", "--home-dir"])
                .arg(&home)
                .arg(&name)
                .output()
                .expect("run useradd (package passwd)");
            if out.status.success() {
                break;
            }
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("lock") && Instant::now() < deadline,
                "useradd {name} failed: {err}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").arg(flag).arg(&name).output().expect("id");
            String::from_utf8_lossy(&out.stdout).trim().parse().expect("numeric id")
        };
        TestUser { uid: id("-u"), gid: id("-g"), name, home }
    }

    /// Writes `bytes` to `rel` under the home as the user's own file (mode 0600), creating
    /// the user's directories on the way.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.home.join(rel);
        let mut dir = self.home.clone();
        for part in Path::new(rel).parent().into_iter().flat_map(Path::components) {
            dir.push(part);
            if !dir.exists() {
                std::fs::create_dir(&dir).expect("mkdir");
                self.own(&dir, 0o700);
            }
        }
        std::fs::write(&path, bytes).expect("write the user's file");
        self.own(&path, 0o600);
        path
    }

    /// Makes `path` the user's with `mode`.
    pub fn own(&self, path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let (uid, gid) = (Some(self.uid), Some(self.gid));
        std::os::unix::fs::lchown(path, uid, gid).expect("chown to the test user");
        if !path.is_symlink() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }

    /// Runs `cachectl --socket <daemon's> args` as the user with exactly `groups` as its
    /// supplementary groups.
    pub fn ctl(&self, daemon: &Daemon, groups: &[u32], args: &[&str]) -> Output {
        let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
        let groups = match groups.is_empty() {
            true => "--clear-groups".to_owned(),
            false => format!("--groups={}", groups.join(",")),
        };
        Command::new("setpriv")
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg(groups)
            .arg(binary("cachectl"))
            .arg("--socket")
            .arg(&daemon.socket)
            .args(args)
            .env_remove("CACHEMGR_SOCKET")
            .env("HOME", &self.home)
            .output()
            .expect("run setpriv (util-linux)")
    }

    /// A raw connection to `socket` made by this user with `groups` (the kernel records the
    /// uid, gid and groups at `connect`).
    pub fn connect(&self, socket: &Path, groups: &[u32]) -> std::io::Result<RawConn> {
        connect_as(self.uid, self.gid, groups, socket)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Processes of the user (none should be left) would make userdel refuse.
        let _ = Command::new("pkill").arg("-KILL").arg("-u").arg(self.uid.to_string()).status();
        let _ = Command::new("userdel").arg("--remove").arg(&self.name).output();
    }
}

/// Connects to `socket` from a thread that first takes `uid`, `gid` and `groups` (per-thread
/// credentials, raw syscalls), so the daemon sees exactly that caller; the thread ends there.
pub fn connect_as(uid: u32, gid: u32, groups: &[u32], socket: &Path) -> std::io::Result<RawConn> {
    use rustix::process::{Gid, Uid};
    assert_root();
    let socket = socket.to_path_buf();
    let groups: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    std::thread::spawn(move || {
        rustix::thread::set_thread_groups(&groups)?;
        let gid = Gid::from_raw(gid);
        rustix::thread::set_thread_res_gid(gid, gid, gid)?;
        let uid = Uid::from_raw(uid);
        rustix::thread::set_thread_res_uid(uid, uid, uid)?;
        let stream = UnixStream::connect(&socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        Ok(RawConn { stream })
    })
    .join()
    .expect("the connecting thread")
}

/// Opens the directories on the way to `path` for other users to pass (mode 0711: no
/// listing), as a daemon's private temp dirs must be for other users to reach its socket.
pub fn let_users_pass(dirs: &[&Path]) {
    use std::os::unix::fs::PermissionsExt;
    for dir in dirs {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).expect("chmod 711");
    }
}
