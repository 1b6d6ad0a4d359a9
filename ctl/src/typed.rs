//! Typed values: any `serde` type stored as MessagePack (the protocol's own encoding, so a
//! Python or Go client reads them with its usual msgpack library), and `get_or_compute`,
//! the read-through helper the seed libraries offered as a decorator.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::Client;
use crate::error::ClientError;
use cachemgr_proto::SetCondition;

impl Client {
    /// Stores `value` encoded as MessagePack (maps with field names, like the protocol).
    /// `ttl` as in [`Client::set`].
    ///
    /// ```no_run
    /// # async fn demo(client: cachectl::Client) -> Result<(), cachectl::ClientError> {
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Session { user: String, visits: u32 }
    ///
    /// let session = Session { user: "alice".into(), visits: 3 };
    /// client.set_value("sessions", "s-1", &session, None).await?;
    /// let back: Option<Session> = client.get_value("sessions", "s-1").await?;
    /// assert_eq!(back.map(|s| s.visits), Some(3));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_value<T: Serialize + ?Sized>(
        &self,
        ns: &str,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<(), ClientError> {
        let bytes = encode(ns, key, value)?;
        self.set(ns, key, bytes, ttl, SetCondition::Always).await.map(drop)
    }

    /// Reads a value stored by [`Client::set_value`] (or any MessagePack writer); `None` when
    /// the key is missing, [`ClientError::Value`] when it holds something else.
    pub async fn get_value<T: DeserializeOwned>(
        &self,
        ns: &str,
        key: &str,
    ) -> Result<Option<T>, ClientError> {
        match self.get(ns, key).await? {
            Some(bytes) => decode(ns, key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The cached value of `key`, or `compute()`'s result, stored for `ttl` before it is
    /// returned. A stored value that does not decode as `T` (another writer, an older
    /// layout) counts as missing and is replaced. Errors of the cache itself are returned,
    /// not hidden: a caller that prefers to compute anyway can fall back on them.
    ///
    /// Two callers missing at once both compute (no lock is taken): fine for idempotent
    /// work, which is what a cache should front.
    ///
    /// ```no_run
    /// # async fn demo(client: cachectl::Client) -> Result<(), cachectl::ClientError> {
    /// use std::time::Duration;
    ///
    /// let rates: Vec<f64> = client
    ///     .get_or_compute("fx", "eur-usd", Duration::from_secs(600), || async {
    ///         vec![1.08, 1.09] // a slow lookup in real life
    ///     })
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_or_compute<T, F, Fut>(
        &self,
        ns: &str,
        key: &str,
        ttl: Duration,
        compute: F,
    ) -> Result<T, ClientError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(bytes) = self.get(ns, key).await? {
            if let Ok(value) = decode(ns, key, &bytes) {
                return Ok(value);
            }
        }
        let value = compute().await;
        self.set_value(ns, key, &value, Some(ttl)).await?;
        Ok(value)
    }
}

fn encode<T: Serialize + ?Sized>(ns: &str, key: &str, value: &T) -> Result<Vec<u8>, ClientError> {
    rmp_serde::to_vec_named(value).map_err(|err| value_error(ns, key, err.to_string()))
}

/// Decodes a stored value as `T` (shared with the blocking client's `get_or_compute`).
pub(crate) fn decode<T: DeserializeOwned>(
    ns: &str,
    key: &str,
    bytes: &[u8],
) -> Result<T, ClientError> {
    rmp_serde::from_slice(bytes).map_err(|err| value_error(ns, key, err.to_string()))
}

fn value_error(ns: &str, key: &str, reason: String) -> ClientError {
    ClientError::Value { ns: ns.to_owned(), key: key.to_owned(), reason }
}
