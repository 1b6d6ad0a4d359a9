//! Running `cachectl` as another user (through `setpriv`; the tests run as root), so the
//! daemon's kernel-checked access rules meet a real different uid.

use std::process::{Command, Output};

use crate::{binary, Daemon};

/// The uid (and gid) the access tests run clients as.
pub const NOBODY: u32 = 65534;

/// Runs `cachectl --socket <daemon's> args` as uid/gid nobody with exactly `groups` as its
/// supplementary groups.
pub fn ctl_as_nobody(daemon: &Daemon, groups: &[u32], args: &[&str]) -> Output {
    assert_eq!(
        rustix::process::geteuid().as_raw(),
        0,
        "running cachectl as another uid with setpriv needs root (scripts/test runs as root)"
    );
    let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
    Command::new("setpriv")
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg(format!("--groups={}", groups.join(",")))
        .arg(binary("cachectl"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(args)
        .env_remove("CACHEMGR_SOCKET")
        .output()
        .expect("run setpriv (util-linux)")
}
