//! The trim timer: one task that sleeps `[dirs] trim_every`, trims every registered
//! directory to its limits, and sleeps again. Nothing runs between two trims (no polling);
//! a new interval from a reload applies from the next sleep. At shutdown it also tells the
//! service to stop any walk in flight, so the daemon exits promptly.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::service::DirService;

/// Runs until shutdown; `every` is read before each sleep (the live config's value).
pub async fn run(
    service: Arc<DirService>,
    every: impl Fn() -> Duration + Send + 'static,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                service.stop();
                return;
            }
            _ = tokio::time::sleep(every()) => {}
        }
        let freed = service.trim_all(false).await;
        tracing::debug!(
            files = freed.files,
            bytes = freed.bytes,
            dirs = freed.dirs.len(),
            "scheduled trim of cache directories done"
        );
    }
}
