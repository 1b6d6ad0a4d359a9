//! A blocking face of [`crate::Client`] for programs without an async runtime: scripts,
//! build tools, synchronous services. Each call runs the async one to completion on a
//! small runtime owned by the handle.
//!
//! ```no_run
//! # fn demo() -> Result<(), cachectl::ClientError> {
//! use std::time::Duration;
//! use cachectl::blocking::Client;
//!
//! let client = Client::connect(cachectl::default_socket_path(), "report/1.0")?;
//! client.set("reports", "today", b"42 rows".to_vec(), Some(Duration::from_secs(3600)))?;
//! assert_eq!(client.get("reports", "today")?.as_deref(), Some(&b"42 rows"[..]));
//! let total: u64 = client.get_or_compute("reports", "total", Duration::from_secs(60), || 42)?;
//! # Ok(())
//! # }
//! ```
//!
//! Do not use it from inside an async runtime (a tokio task): blocking there stalls the
//! runtime, and tokio refuses it. Use [`crate::Client`] there.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::runtime::Runtime;

use crate::error::ClientError;
use crate::subscription::{Notice, SubscribeOptions};
use crate::{ClientOptions, SetCondition, StatsReport};

/// A blocking connection to cachemgrd. Not `Clone`: open one per thread, or share the async
/// [`crate::Client`] instead.
#[derive(Debug)]
pub struct Client {
    runtime: Runtime,
    inner: crate::Client,
}

impl Client {
    /// Connects and shakes hands (see [`crate::Client::connect`]).
    pub fn connect(path: impl AsRef<Path>, client_name: &str) -> Result<Self, ClientError> {
        Self::connect_with(path, ClientOptions::new(client_name))
    }

    /// Like [`Client::connect`] with explicit options.
    pub fn connect_with(
        path: impl AsRef<Path>,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let runtime = runtime()?;
        let inner = runtime.block_on(crate::Client::connect_with(path, options))?;
        Ok(Self { runtime, inner })
    }

    /// Runs any operation of the async client to completion, for the calls this wrapper
    /// does not repeat: `client.run(|c| c.pattern_stats("web", None))`.
    pub fn run<'a, T, Fut>(&'a self, call: impl FnOnce(&'a crate::Client) -> Fut) -> T
    where
        Fut: Future<Output = T> + 'a,
    {
        self.runtime.block_on(call(&self.inner))
    }

    /// Liveness check.
    pub fn ping(&self) -> Result<(), ClientError> {
        self.run(|c| c.ping())
    }

    /// Reads a value; `None` when missing.
    pub fn get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, ClientError> {
        self.run(|c| c.get(ns, key))
    }

    /// Stores a value unconditionally; `ttl` as in [`crate::Client::set`].
    pub fn set(
        &self,
        ns: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
        ttl: Option<Duration>,
    ) -> Result<(), ClientError> {
        let value = value.into();
        self.run(|c| c.set(ns, key, value, ttl, SetCondition::Always)).map(drop)
    }

    /// Deletes keys; returns how many existed.
    pub fn delete<K: AsRef<str>>(&self, ns: &str, keys: &[K]) -> Result<u64, ClientError> {
        self.run(|c| c.delete(ns, keys))
    }

    /// Reads many keys in one round trip.
    pub fn get_many<K: AsRef<str>>(
        &self,
        ns: &str,
        keys: &[K],
    ) -> Result<Vec<Option<Vec<u8>>>, ClientError> {
        self.run(|c| c.get_many(ns, keys))
    }

    /// Every key of a namespace (see [`crate::Client::keys`]).
    pub fn keys(&self, ns: &str) -> Result<Vec<String>, ClientError> {
        self.run(|c| c.keys(ns, None))
    }

    /// Counters of one namespace, or of all.
    pub fn stats(&self, ns: Option<&str>) -> Result<StatsReport, ClientError> {
        self.run(|c| c.stats(ns))
    }

    /// Stores a typed value (see [`crate::Client::set_value`]).
    pub fn set_value<T: Serialize + ?Sized>(
        &self,
        ns: &str,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<(), ClientError> {
        self.run(|c| c.set_value(ns, key, value, ttl))
    }

    /// Reads a typed value (see [`crate::Client::get_value`]).
    pub fn get_value<T: DeserializeOwned>(
        &self,
        ns: &str,
        key: &str,
    ) -> Result<Option<T>, ClientError> {
        self.run(|c| c.get_value(ns, key))
    }

    /// The cached value, or `compute()`'s, stored for `ttl` (see
    /// [`crate::Client::get_or_compute`]). `compute` runs outside the handle's runtime, so
    /// it may itself use a blocking client.
    pub fn get_or_compute<T: Serialize + DeserializeOwned>(
        &self,
        ns: &str,
        key: &str,
        ttl: Duration,
        compute: impl FnOnce() -> T,
    ) -> Result<T, ClientError> {
        if let Some(bytes) = self.get(ns, key)? {
            if let Ok(value) = crate::typed::decode(ns, key, &bytes) {
                return Ok(value);
            }
        }
        let value = compute();
        self.set_value(ns, key, &value, Some(ttl))?;
        Ok(value)
    }

    /// Subscribes to changes on a connection of its own; iterate the result.
    pub fn subscribe(&self, what: SubscribeOptions) -> Result<Subscription, ClientError> {
        let runtime = runtime()?;
        let inner = runtime.block_on(self.inner.subscribe(what))?;
        Ok(Subscription { runtime, inner, ended: false })
    }
}

/// A blocking [`crate::Subscription`]: an iterator of notices that ends when the daemon
/// closes the stream (the first error also ends it, after being yielded).
#[derive(Debug)]
pub struct Subscription {
    runtime: Runtime,
    inner: crate::Subscription,
    ended: bool,
}

impl Subscription {
    /// The next notice, waiting at most `timeout`: `Ok(None)` when none came in time;
    /// [`ClientError::Disconnected`] once the daemon closed the stream.
    pub fn next_within(&mut self, timeout: Duration) -> Result<Option<Notice>, ClientError> {
        let ended = || ClientError::Disconnected { reason: "cachemgrd closed the stream".into() };
        if self.ended {
            return Err(ended());
        }
        let inner = &mut self.inner;
        // The timer must be made inside the runtime (it registers with its clock).
        let polled =
            self.runtime.block_on(async { tokio::time::timeout(timeout, inner.next()).await });
        match polled {
            Err(_) => Ok(None),
            Ok(Ok(Some(notice))) => Ok(Some(notice)),
            Ok(Ok(None)) => {
                self.ended = true;
                Err(ended())
            }
            Ok(Err(err)) => {
                self.ended = true;
                Err(err)
            }
        }
    }
}

impl Iterator for Subscription {
    type Item = Result<Notice, ClientError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let item = self.runtime.block_on(self.inner.next()).transpose();
        self.ended = !matches!(item, Some(Ok(_)));
        item
    }
}

fn runtime() -> Result<Runtime, ClientError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|err| {
        ClientError::Disconnected { reason: format!("cannot start an async runtime: {err}") }
    })
}
