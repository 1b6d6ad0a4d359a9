//! The caller as the kernel reports it (`SO_PEERCRED`: uid, gid, pid), with its groups and
//! role. Nothing the client says about itself counts.

use cachemgr_proto::PeerIdentity;

use super::names::{group_id, user_name};
use crate::config::Config;

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Kernel-reported identity.
    pub peer: PeerIdentity,
    /// Its user name, when the system has one.
    pub name: Option<String>,
    /// Its primary and supplementary groups.
    pub groups: Vec<u32>,
    /// Root, the daemon's own user, or a member of `admin_group`.
    pub admin: bool,
}

impl Caller {
    /// Resolves the caller's groups and role once, when the connection is accepted.
    pub fn resolve(peer: PeerIdentity, config: &Config) -> Caller {
        let mut groups = process_groups(peer.pid).unwrap_or_else(|| nss_groups(peer.uid));
        if !groups.contains(&peer.gid) {
            groups.push(peer.gid);
        }
        let own_uid = rustix::process::geteuid().as_raw();
        let admin_gid = config.admin_group.as_deref().and_then(group_id);
        let admin = peer.uid == 0
            || peer.uid == own_uid
            || admin_gid.is_some_and(|gid| groups.contains(&gid));
        Caller { peer, name: user_name(peer.uid), groups, admin }
    }

    /// Whether the caller is in `gid`.
    pub fn in_group(&self, gid: u32) -> bool {
        self.groups.contains(&gid)
    }

    /// How the caller is named in errors and logs.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("user {name} (uid {})", self.peer.uid),
            None => format!("uid {}", self.peer.uid),
        }
    }
}

/// The supplementary groups the kernel holds for the peer's process (`Groups:` of
/// `/proc/<pid>/status`): exactly what that process runs with, whatever NSS says.
fn process_groups(pid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("Groups:"))?;
    Some(line.split_whitespace().filter_map(|gid| gid.parse().ok()).collect())
}

/// The user's groups as the system's databases list them (when /proc is not readable).
fn nss_groups(uid: u32) -> Vec<u32> {
    let Some(user) = uzers::get_user_by_uid(uid) else { return Vec::new() };
    uzers::get_user_groups(user.name(), user.primary_group_id())
        .map(|groups| groups.iter().map(|g| g.gid()).collect())
        .unwrap_or_default()
}
