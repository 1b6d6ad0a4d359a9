//! Active expiry: one task that sleeps until the earliest deadline of any namespace.
//!
//! No polling: when idle with no TTLs it waits forever; a write with an earlier deadline
//! wakes it through `Store::note_deadline`. Each wake-up expires entries in bounded batches
//! and yields between them, so a mass expiry never stalls request handling.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Store;

/// Entries expired per lock hold.
const SWEEP_BATCH: usize = 512;

impl Store {
    /// Runs until `shutdown` is cancelled.
    pub async fn run_sweeper(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            // Open the window before scanning: a write during the scan then sees MAX, lowers
            // it and notifies (the permit wakes the select below at once).
            self.next_wakeup.store(u64::MAX, Ordering::Release);
            let next = self.all().iter().filter_map(|ns| ns.lock().next_deadline()).min();
            self.next_wakeup.fetch_min(next.unwrap_or(u64::MAX), Ordering::AcqRel);
            let sleep = async {
                match next {
                    Some(deadline) => {
                        let at = tokio::time::Instant::from_std(self.clock().instant_of(deadline));
                        tokio::time::sleep_until(at).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wakeup.notified() => continue,
                _ = sleep => {}
            }
            self.sweep_due().await;
        }
    }

    async fn sweep_due(&self) {
        for namespace in self.all() {
            loop {
                let now = self.clock().now_ms();
                let more = namespace.lock().expire_due(now, SWEEP_BATCH);
                if !more {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    }
}
