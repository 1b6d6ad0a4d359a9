//! The caller's identity, read from the kernel when the connection is accepted, never from
//! the client's words: uid, gid and pid (`SO_PEERCRED`) and the supplementary groups
//! (`SO_PEERGROUPS`). Both were recorded by the kernel when the client called `connect`, so
//! a process that hands its socket on, or exits and has its pid reused, cannot change them.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use cachemgr_proto::PeerIdentity;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::traits::StreamCommon as _;

/// `SO_PEERGROUPS` (Linux 4.13): the peer's supplementary groups as of `connect`. The value
/// of the generic socket ABI (x86, arm, riscv, ...); not exported by the `libc` crate.
#[cfg(not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64")))]
const SO_PEERGROUPS: libc::c_int = 59;

/// Groups asked for in the first call; the kernel says how many there are when more.
const FIRST_GUESS: usize = 64;

/// What the kernel says about the process at the other end of a connection.
#[derive(Debug, Clone)]
pub struct PeerCredentials {
    /// uid, gid and pid.
    pub identity: PeerIdentity,
    /// Supplementary groups (the primary gid is added by the caller resolution).
    pub groups: Vec<u32>,
}

/// Reads the peer's credentials and groups from `stream`.
pub fn peer_credentials(stream: &Stream) -> io::Result<PeerCredentials> {
    let creds = stream.peer_creds()?;
    let missing = |what: &str| io::Error::other(format!("kernel did not report the peer's {what}"));
    let identity = PeerIdentity {
        uid: creds.euid().ok_or_else(|| missing("uid"))?,
        gid: creds.egid().ok_or_else(|| missing("gid"))?,
        pid: creds.pid().ok_or_else(|| missing("pid"))? as u32,
    };
    let groups = match stream {
        Stream::UdSocket(socket) => peer_groups(socket.inner().as_fd())?,
    };
    Ok(PeerCredentials { identity, groups })
}

/// `getsockopt(SO_PEERGROUPS)`, growing the buffer when the kernel asks for more (ERANGE).
pub fn peer_groups(fd: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    let mut groups: Vec<libc::gid_t> = vec![0; FIRST_GUESS];
    loop {
        let mut len = (groups.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
        // SAFETY: the buffer is valid for `len` bytes and outlives the call; the kernel writes
        // at most `len` bytes and reports the size it used (or needs) in `len`.
        let rc = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let count = len as usize / std::mem::size_of::<libc::gid_t>();
        if rc == 0 {
            groups.truncate(count);
            return Ok(groups);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ERANGE) && count > groups.len() {
            groups.resize(count, 0);
            continue;
        }
        return Err(err);
    }
}
