//! The caller as the kernel reports it at accept time (`SO_PEERCRED`: uid, gid, pid;
//! `SO_PEERGROUPS`: supplementary groups), with its role. Nothing the client says about
//! itself counts, and nothing is read later from `/proc/<pid>` (a pid can be reused).

use cachemgr_proto::PeerIdentity;

use super::names::{group_id, user_name};
use crate::config::Config;

/// Whether a peer is an admin: root, the daemon's own user, or a member of `admin_group`
/// (`admin_gid`), by its kernel-reported uid and groups.
pub fn privileged(peer: &PeerIdentity, groups: &[u32], admin_gid: Option<u32>) -> bool {
    peer.uid == 0
        || peer.uid == rustix::process::geteuid().as_raw()
        || admin_gid.is_some_and(|gid| peer.gid == gid || groups.contains(&gid))
}

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
    /// The caller's role from the credentials the kernel recorded at `connect` (`groups`:
    /// its supplementary groups). Looks up names through NSS: call off the async runtime.
    pub fn resolve(peer: PeerIdentity, mut groups: Vec<u32>, config: &Config) -> Caller {
        if !groups.contains(&peer.gid) {
            groups.push(peer.gid);
        }
        let admin_gid = config.admin_group.as_deref().and_then(group_id);
        let admin = privileged(&peer, &groups, admin_gid);
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
