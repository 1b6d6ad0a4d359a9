//! Expiry for the disk layer: one task that sleeps until the earliest disk expiry and then
//! deletes due values in bounded batches (each its own short transaction), so a mass expiry
//! never holds the writer for long. Woken early by a write with an earlier expiry.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use cachemgr_proto::EventKind;
use tokio_util::sync::CancellationToken;

use super::disk::{unix_now_ms, DiskLayer, Op, Outcome};
use crate::events::EventHub;

/// Values expired per transaction.
const SWEEP_BATCH: usize = 512;

impl DiskLayer {
    /// Runs until `shutdown` is cancelled; announces what it removes to `events` (a count
    /// per sweep: the disk layer does not hold key names in the clear).
    pub async fn run_sweeper(self: Arc<Self>, shutdown: CancellationToken, events: Arc<EventHub>) {
        loop {
            self.next_deadline.store(u64::MAX, Ordering::Release);
            self.sweep_due(&events).await;
            let next = self.earliest_expiry();
            self.next_deadline.fetch_min(next.unwrap_or(u64::MAX), Ordering::AcqRel);
            let sleep = async {
                match next {
                    Some(at) => {
                        let wait = at.saturating_sub(unix_now_ms());
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wakeup.notified() => {}
                _ = sleep => {}
            }
        }
    }

    async fn sweep_due(&self, events: &EventHub) {
        for state in self.all() {
            loop {
                let op = Op::Sweep {
                    ns: state.name().to_owned(),
                    now: unix_now_ms(),
                    limit: SWEEP_BATCH,
                };
                match self.submit(op, false).await {
                    Ok(Outcome::Swept { removed, more }) => {
                        state.counters.expired.fetch_add(removed, Ordering::Relaxed);
                        if removed > 0 {
                            events.bulk_event(EventKind::Expire, state.name(), removed, None);
                        }
                        if !more {
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(namespace = %state.name(), "disk expiry sweep failed: {err}");
                        break;
                    }
                }
                tokio::task::yield_now().await;
            }
        }
    }
}
