//! The caller's identity, read from the kernel (`SO_PEERCRED`), never from the client's words.

use std::io;

use cachemgr_proto::PeerIdentity;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::traits::StreamCommon as _;

/// Reads uid, gid and pid of the process at the other end of `stream`.
pub fn peer_identity(stream: &Stream) -> io::Result<PeerIdentity> {
    let creds = stream.peer_creds()?;
    let missing = |what: &str| io::Error::other(format!("kernel did not report the peer's {what}"));
    Ok(PeerIdentity {
        uid: creds.euid().ok_or_else(|| missing("uid"))?,
        gid: creds.egid().ok_or_else(|| missing("gid"))?,
        pid: creds.pid().ok_or_else(|| missing("pid"))? as u32,
    })
}
