//! Pub/sub invalidations: after a change reaches Redis, the daemon that made it publishes
//! which keys changed, so every other daemon drops its local copies at once.
//!
//! A message is this daemon's random origin id (16 bytes, to skip its own messages), then
//! the sealed MessagePack of [`Invalidation`]: key names never cross Redis in the clear.
//! While the subscription is down, messages are missed, so [`RedisLayer::memory_trusted`]
//! turns false and reads go to Redis; every (re)subscription drops the local copies.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::RedisLayer;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    /// The namespace.
    pub ns: String,
    /// The keys whose local copies are stale.
    pub keys: Vec<String>,
    /// The whole namespace is stale (a clear or a pattern operation).
    pub all: bool,
}

/// Keys per message, so one huge delete does not make one huge message.
const KEYS_PER_MESSAGE: usize = 512;

impl RedisLayer {
    /// The messages announcing a change (sealed, chunked by [`KEYS_PER_MESSAGE`]).
    pub(super) fn invalidation_messages(
        &self,
        ns: &str,
        keys: &[String],
        all: bool,
    ) -> Vec<Vec<u8>> {
        let chunks: Vec<&[String]> = if all || keys.is_empty() {
            vec![&[]]
        } else {
            keys.chunks(KEYS_PER_MESSAGE).collect()
        };
        chunks
            .into_iter()
            .filter_map(|chunk| {
                let body = Invalidation { ns: ns.to_owned(), keys: chunk.to_vec(), all };
                let encoded = rmp_serde::to_vec(&body).ok()?;
                let mut message = self.origin.to_vec();
                message.extend_from_slice(&self.sealing.seal_message(&encoded));
                Some(message)
            })
            .collect()
    }

    /// Tells the other daemons about a change; best effort (a failure is logged at debug:
    /// the change itself reached Redis, and the others' copies age out by `local_max_age`).
    pub async fn invalidate(&self, ns: &str, keys: &[String], all: bool) {
        for message in self.invalidation_messages(ns, keys, all) {
            if let Err(err) = self.publish(message).await {
                tracing::debug!(namespace = ns, "invalidation not published: {err}");
            }
        }
    }

    fn decode(&self, payload: &[u8]) -> Option<Invalidation> {
        let (origin, sealed) = payload.split_at_checked(16)?;
        if origin == self.origin {
            return None;
        }
        match self.sealing.open_message(sealed) {
            Ok(body) => rmp_serde::from_slice(&body).ok(),
            Err(err) => {
                tracing::warn!("an invalidation message did not open ({err}); is every daemon on the same master key?");
                None
            }
        }
    }

    /// Subscribes and hands every invalidation from another daemon to `apply`, until
    /// `shutdown`. `resync` runs after every (re)subscription: messages may have been missed.
    pub async fn listen(
        &self,
        shutdown: CancellationToken,
        apply: impl Fn(Invalidation),
        resync: impl Fn(),
    ) {
        let channel = self.sealing.channel();
        let mut pause = Duration::from_millis(50);
        while !shutdown.is_cancelled() {
            let subscribed = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::select! {
                _ = shutdown.cancelled() => return,
                result = tokio::time::timeout(self.config.timeout.max(Duration::from_secs(1)), subscribed) => result,
            };
            let mut pubsub = match pubsub {
                Ok(Ok(pubsub)) => pubsub,
                Ok(Err(err)) => {
                    tracing::debug!("invalidation subscription failed: {err}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                    continue;
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            pause = Duration::from_millis(50);
            resync();
            self.set_invalidations_live(true);
            tracing::info!(channel, "receiving invalidations from other daemons");
            let mut messages = pubsub.on_message();
            loop {
                let message = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    message = messages.next() => message,
                };
                let Some(message) = message else { break };
                if let Some(invalidation) = self.decode(message.get_payload_bytes()) {
                    apply(invalidation);
                }
            }
            self.set_invalidations_live(false);
            tracing::warn!("invalidation subscription lost; reading from Redis until it is back");
        }
    }
}
