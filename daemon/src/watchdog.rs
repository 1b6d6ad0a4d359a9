//! systemd supervision: the watchdog pings, the periodic `STATUS=` line and `STOPPING=1`.
//!
//! The `WATCHDOG=1` pings come from a dedicated OS thread, but only after a task on the
//! daemon's tokio runtime has answered a heartbeat within the interval. A runtime that is
//! stuck (every worker blocked, a deadlock in a task the heartbeat depends on) therefore stops
//! the pings, and systemd restarts the service after `WatchdogSec=`; a ping sent by a timer
//! alone would keep a wedged daemon alive forever.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use crate::context::DaemonContext;
use crate::notify;

/// How often the status line is refreshed when systemd asked for no watchdog.
const STATUS_EVERY: Duration = Duration::from_secs(30);

/// The watchdog systemd asked for through `$WATCHDOG_USEC` (and `$WATCHDOG_PID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchdogSettings {
    /// Time between pings: half of `WATCHDOG_USEC`, as `sd_watchdog_enabled(3)` advises.
    pub ping_every: Duration,
}

impl WatchdogSettings {
    /// Reads the two variables as systemd sets them; `None` when there is no watchdog or it is
    /// meant for another process (`WATCHDOG_PID` names a different pid).
    pub fn from_env() -> Option<WatchdogSettings> {
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        WatchdogSettings::parse(usec.as_deref(), pid.as_deref(), std::process::id())
    }

    /// The rules of [`WatchdogSettings::from_env`] without the environment, for tests.
    pub fn parse(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Self> {
        let usec: u64 = usec?.trim().parse().ok().filter(|usec| *usec > 0)?;
        if let Some(pid) = pid.filter(|pid| !pid.is_empty()) {
            if pid.trim().parse::<u32>().ok() != Some(own_pid) {
                return None;
            }
        }
        Some(WatchdogSettings { ping_every: Duration::from_micros(usec / 2) })
    }
}

/// The one-line summary systemd shows in `systemctl status`.
pub fn status_line(state: &DaemonContext) -> String {
    let connections = state.connections.load(Ordering::Relaxed);
    let namespaces = state.store.all().len();
    let apps = state.apps.as_ref().map_or(0, |apps| apps.with_registry(|r| r.all().count()));
    format!("serving {connections} connections, {namespaces} namespaces, {apps} apps")
}

/// Starts supervision when systemd listens (`NOTIFY_SOCKET`): `STOPPING=1` once the drain
/// begins, a status refresh, and the watchdog thread when `WATCHDOG_USEC` asks for one.
/// Must be called on the daemon's runtime. Does nothing outside systemd.
pub fn spawn(state: Arc<DaemonContext>) {
    if !notify::enabled() {
        return;
    }
    let stopping = state.clone();
    tokio::spawn(async move {
        stopping.shutdown.cancelled().await;
        notify::stopping();
    });
    let Some(settings) = WatchdogSettings::from_env() else {
        tokio::spawn(refresh_status(state, None, STATUS_EVERY));
        return;
    };
    let (requests, asked) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(refresh_status(state, Some(asked), settings.ping_every));
    let spawned = std::thread::Builder::new()
        .name("sd-watchdog".into())
        .spawn(move || ping_loop(&requests, settings.ping_every));
    match spawned {
        Ok(_) => tracing::info!(every = ?settings.ping_every, "systemd watchdog pings on"),
        Err(err) => tracing::error!("cannot start the systemd watchdog thread: {err}"),
    }
}

/// The runtime side: answers each heartbeat and refreshes the status line (sent only when it
/// changed, and not once draining has begun: then the status says "draining").
async fn refresh_status(
    state: Arc<DaemonContext>,
    heartbeats: Option<tokio::sync::mpsc::UnboundedReceiver<SyncSender<()>>>,
    every: Duration,
) {
    let mut last = String::new();
    let mut heartbeats = heartbeats;
    loop {
        match heartbeats.as_mut() {
            Some(asked) => match asked.recv().await {
                Some(reply) => {
                    let _ = reply.send(());
                }
                None => return,
            },
            None => tokio::time::sleep(every).await,
        }
        if state.shutdown.is_cancelled() {
            continue;
        }
        let line = status_line(&state);
        if line != last {
            notify::status(&line);
            last = line;
        }
    }
}

/// The OS-thread side: one heartbeat per interval; `WATCHDOG=1` only when it was answered in
/// time. Ends when the runtime is gone (the channel closes).
fn ping_loop(requests: &UnboundedSender<SyncSender<()>>, every: Duration) {
    let mut late = false;
    loop {
        let started = Instant::now();
        let (reply, answered) = mpsc::sync_channel(1);
        if requests.send(reply).is_err() {
            return;
        }
        match answered.recv_timeout(every) {
            Ok(()) => {
                if late {
                    tracing::warn!("the runtime answers again: watchdog pings resume");
                    late = false;
                }
                notify::send("WATCHDOG=1");
            }
            Err(RecvTimeoutError::Timeout) => {
                if !late {
                    tracing::error!(
                        "the runtime did not answer the watchdog heartbeat within {every:?}: \
                         withholding WATCHDOG=1 so systemd can restart a stuck daemon"
                    );
                    late = true;
                }
                // The heartbeat may still be answered: wait for it rather than queueing more.
                if answered.recv().is_err() {
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
        std::thread::sleep(every.saturating_sub(started.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_at_half_the_interval() {
        let settings = WatchdogSettings::parse(Some("400000"), None, 7).expect("on");
        assert_eq!(settings.ping_every, Duration::from_millis(200));
    }

    #[test]
    fn respects_watchdog_pid() {
        assert!(WatchdogSettings::parse(Some("400000"), Some("7"), 7).is_some());
        assert!(WatchdogSettings::parse(Some("400000"), Some("8"), 7).is_none());
        assert!(WatchdogSettings::parse(Some("400000"), Some(""), 7).is_some());
    }

    #[test]
    fn off_when_unset_zero_or_garbage() {
        assert!(WatchdogSettings::parse(None, None, 7).is_none());
        assert!(WatchdogSettings::parse(Some("0"), None, 7).is_none());
        assert!(WatchdogSettings::parse(Some("soon"), None, 7).is_none());
    }

    #[test]
    fn a_stuck_runtime_gets_no_ping_and_the_loop_ends_with_it() {
        // Nobody answers the heartbeat: ping_loop must wait, not ping, and end when the
        // runtime side goes away.
        let (requests, mut asked) = tokio::sync::mpsc::unbounded_channel();
        let pinger = std::thread::spawn(move || ping_loop(&requests, Duration::from_millis(20)));
        let first = asked.blocking_recv().expect("a heartbeat is asked");
        std::thread::sleep(Duration::from_millis(60));
        assert!(asked.try_recv().is_err(), "no second heartbeat before the first is answered");
        drop(first);
        drop(asked);
        pinger.join().expect("the loop ends");
    }
}
