//! The two background tasks of the Redis layer: the breaker's supervisor (probes Redis
//! while the breaker is open, so it closes by itself, and while Redis refuses writes, so
//! `status` sees it accept them again) and the invalidation listener.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Store;

impl Store {
    /// Runs the Redis layer's tasks until `shutdown` (returns at once without Redis).
    pub async fn run_redis_tasks(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(redis) = self.redis.clone() else { return };
        let listener = {
            let store = self.clone();
            let redis = redis.clone();
            let shutdown = shutdown.clone();
            async move {
                let applier = store.clone();
                redis
                    .listen(
                        shutdown,
                        move |invalidation| applier.apply_invalidation(&invalidation),
                        || store.drop_shared_memory_copies(),
                    )
                    .await;
            }
        };
        let supervisor = async {
            let tick = (redis.config().breaker_cool_down / 4)
                .clamp(Duration::from_millis(10), Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(tick) => {}
                }
                if redis.probe().await {
                    // Changes made here while Redis was away never reached the others, and
                    // theirs never reached here: start again from what Redis holds.
                    self.drop_shared_memory_copies();
                }
                // While Redis refuses writes, find out when it accepts them again.
                redis.probe_writes().await;
            }
        };
        tokio::join!(listener, supervisor);
    }
}
