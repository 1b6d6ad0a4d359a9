//! The systemd notification protocol (`sd_notify`), written here rather than pulled in: one
//! datagram of `KEY=value` lines to the unix socket named by `$NOTIFY_SOCKET`.
//!
//! The socket may be a path or an abstract name (`@name`). Without `NOTIFY_SOCKET` (not under
//! systemd, or `Type=` other than `notify`) every call is a no-op, so the daemon calls these
//! unconditionally. A failed send is logged at debug and otherwise ignored: the service must
//! not die because its supervisor stopped listening.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::OnceLock;

/// Where notifications go, resolved once from the environment at first use.
static TARGET: OnceLock<Option<Notifier>> = OnceLock::new();

/// A connected-on-demand sender to one notification socket.
#[derive(Debug)]
pub struct Notifier {
    addr: SocketAddr,
    socket: UnixDatagram,
}

impl Notifier {
    /// Builds a sender for `$NOTIFY_SOCKET` as written (a path, or `@` for an abstract name).
    pub fn new(target: &str) -> io::Result<Notifier> {
        let addr = match target.strip_prefix('@') {
            Some(name) => abstract_addr(name.as_bytes())?,
            None if target.starts_with('/') => SocketAddr::from_pathname(target)?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("NOTIFY_SOCKET {target:?} is neither an absolute path nor @abstract"),
                ))
            }
        };
        Ok(Notifier { addr, socket: UnixDatagram::unbound()? })
    }

    /// Sends one message (lines of `KEY=value`) as a single datagram.
    pub fn send(&self, message: &str) -> io::Result<()> {
        self.socket.send_to_addr(message.as_bytes(), &self.addr).map(|_| ())
    }
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_addr(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "abstract sockets exist only on Linux"))
}

fn target() -> Option<&'static Notifier> {
    TARGET
        .get_or_init(|| {
            let value = std::env::var("NOTIFY_SOCKET").ok().filter(|v| !v.is_empty())?;
            match Notifier::new(&value) {
                Ok(notifier) => Some(notifier),
                Err(err) => {
                    tracing::warn!("systemd notifications are off: {err}");
                    None
                }
            }
        })
        .as_ref()
}

/// Whether a notification socket is configured (so callers can skip building messages).
pub fn enabled() -> bool {
    target().is_some()
}

/// Sends `message` to systemd if it listens; a failure is logged at debug only.
pub fn send(message: &str) {
    if let Some(notifier) = target() {
        if let Err(err) = notifier.send(message) {
            tracing::debug!("sd_notify {message:?} failed: {err}");
        }
    }
}

/// `READY=1` with a status line: the socket accepts, or a reload has finished.
pub fn ready(status: &str) {
    send(&format!("READY=1\nSTATUS={}", one_line(status)));
}

/// `RELOADING=1` with the monotonic time systemd ≥ 253 asks for (older versions ignore it).
pub fn reloading() {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let usec = now.tv_sec as u64 * 1_000_000 + now.tv_nsec as u64 / 1_000;
    send(&format!("RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=reloading the configuration"));
}

/// `STOPPING=1`: draining has begun, so systemd waits instead of calling it a crash.
pub fn stopping() {
    send("STOPPING=1\nSTATUS=draining connections");
}

/// `STATUS=` alone: the one-line summary `systemctl status` shows.
pub fn status(status: &str) {
    send(&format!("STATUS={}", one_line(status)));
}

/// A status must stay one line: anything after a newline would be read as another key.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_one_datagram_to_a_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let receiver = UnixDatagram::bind(&path).expect("bind");
        let notifier = Notifier::new(path.to_str().expect("utf-8")).expect("notifier");
        notifier.send("READY=1\nSTATUS=ok").expect("send");
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=ok");
    }

    #[test]
    fn sends_to_an_abstract_name() {
        let name = format!("cachemgr-notify-test-{}", std::process::id());
        let receiver =
            UnixDatagram::bind_addr(&abstract_addr(name.as_bytes()).expect("addr")).expect("bind");
        Notifier::new(&format!("@{name}")).expect("notifier").send("WATCHDOG=1").expect("send");
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }

    #[test]
    fn refuses_a_relative_target_naming_it() {
        let err = Notifier::new("relative.sock").expect_err("relative");
        assert!(err.to_string().contains("relative.sock"), "{err}");
    }

    #[test]
    fn status_stays_on_one_line() {
        assert_eq!(one_line("a\nREADY=1\r"), "a READY=1 ");
    }
}
