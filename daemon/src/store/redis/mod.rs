//! The shared layer: values sealed and names hashed (see [`sealing`]), written to a Redis
//! that several daemons share, behind bounded retries and a circuit breaker so a dead Redis
//! costs a client at most `redis.timeout` and then nothing at all while the breaker is open.

pub mod breaker;
mod commands;
pub use crate::config::redis as config;
pub mod invalidation;
pub mod refusal;
pub mod sealing;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use breaker::{Breaker, Transition};
pub use commands::{Fetched, ScanPage};
pub use config::RedisConfig;
use refusal::Refusals;
pub use refusal::Refused;
use sealing::Sealing;

use crate::keys::MasterKey;

/// Why a request to Redis did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    /// The breaker is open: Redis was not tried.
    #[error("the Redis circuit breaker is open")]
    Open,
    /// Every attempt failed or the time ran out: Redis is out of reach, and the request may
    /// be served by the local layers.
    #[error("Redis did not answer: {0}")]
    Failed(String),
    /// Redis answered with an error: it is there and did not do it, so the request fails.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// Why the layer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RedisSetupError {
    /// The URL does not parse.
    #[error("redis.url {url}: {reason}")]
    Url {
        /// The URL, password hidden.
        url: String,
        /// What the client library said.
        reason: String,
    },
    /// A TLS certificate or key file could not be read.
    #[error("redis TLS file {path}: {reason}")]
    TlsFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// Counters of the shared layer, per namespace.
#[derive(Debug, Default)]
pub struct SharedCounters {
    /// Reads Redis answered with a value.
    pub hits: AtomicU64,
    /// Reads Redis answered with nothing.
    pub misses: AtomicU64,
    /// Values written to Redis.
    pub sets: AtomicU64,
    /// Keys deleted in Redis.
    pub deletes: AtomicU64,
    /// Requests served from the local layers because Redis was unavailable.
    pub degraded: AtomicU64,
    /// Values in Redis that did not open (another master key, tampering).
    pub corrupt: AtomicU64,
}

/// The Redis layer of one daemon.
pub struct RedisLayer {
    config: RedisConfig,
    client: redis::Client,
    conn: ConnectionManager,
    breaker: Breaker,
    sealing: Sealing,
    /// Random id of this daemon, so it ignores its own invalidations.
    origin: [u8; 16],
    invalidations_live: AtomicBool,
    last_error: Mutex<Option<String>>,
    refusals: Refusals,
    counters: Mutex<std::collections::HashMap<String, Arc<SharedCounters>>>,
}

impl std::fmt::Debug for RedisLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLayer").field("url", &self.config.display_url()).finish()
    }
}

impl RedisLayer {
    /// Sets the layer up without connecting: the daemon starts even while Redis is down.
    pub fn new(config: RedisConfig, master: Arc<MasterKey>) -> Result<RedisLayer, RedisSetupError> {
        let client = open_client(&config)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_min_delay(config.retry_backoff)
            .set_max_delay(config.timeout)
            .set_pipeline_buffer_size(1024);
        let conn =
            ConnectionManager::new_lazy_with_config(client.clone(), manager_config).map_err(
                |err| RedisSetupError::Url { url: config.display_url(), reason: err.to_string() },
            )?;
        let mut origin = [0u8; 16];
        crate::store::disk::record::fill_random(&mut origin);
        Ok(RedisLayer {
            breaker: Breaker::new(config.breaker_failures, config.breaker_cool_down),
            sealing: Sealing::new(master, &config.prefix),
            config,
            client,
            conn,
            origin,
            invalidations_live: AtomicBool::new(false),
            last_error: Mutex::new(None),
            refusals: Refusals::default(),
            counters: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// Whether a request would go to Redis now (the breaker is closed).
    pub fn available(&self) -> bool {
        self.breaker.allows()
    }

    /// Whether local memory copies may answer reads: only while invalidations arrive (so
    /// they are fresh within the pub/sub delay), or while Redis is out of reach anyway.
    pub fn memory_trusted(&self) -> bool {
        self.invalidations_live.load(Ordering::Acquire) || !self.breaker.allows()
    }

    pub(crate) fn set_invalidations_live(&self, live: bool) {
        self.invalidations_live.store(live, Ordering::Release);
    }

    /// The namespace's counters.
    pub fn counters(&self, ns: &str) -> Arc<SharedCounters> {
        let mut map = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(ns.to_owned()).or_default().clone()
    }

    /// Records a request served locally because Redis was unavailable.
    pub fn note_degraded(&self, ns: &str) {
        self.counters(ns).degraded.fetch_add(1, Ordering::Relaxed);
    }

    /// The breaker, for the supervisor.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The layer as `status` reports it; `degraded` is summed over every namespace.
    pub fn status(&self) -> cachemgr_proto::RedisStatus {
        let (state, failures, since, opened) = self.breaker.snapshot();
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        cachemgr_proto::RedisStatus {
            url: self.config.display_url(),
            breaker: state.as_str().to_owned(),
            consecutive_failures: failures,
            since_ms: since.as_millis() as u64,
            times_opened: opened,
            last_error: self.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            invalidations_live: self.invalidations_live.load(Ordering::Acquire),
            degraded: counters.values().map(|c| c.degraded.load(Ordering::Relaxed)).sum(),
            refused: self.refusals.count(),
        }
    }

    /// While Redis refuses writes: for how long, and its last answer.
    pub fn refusing_writes(&self) -> Option<(std::time::Duration, String)> {
        self.refusals.current()
    }

    /// Runs a reading `op` against Redis (see [`RedisLayer::call`]).
    async fn read<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, RedisFailure>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.call(what, false, op).await
    }

    /// Runs a changing `op` against Redis (see [`RedisLayer::call`]); its refusal marks Redis
    /// as refusing writes. Its success does not clear that: Redis at `maxmemory` still takes
    /// deletes and expiries, and refuses every `SET`.
    async fn write<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, RedisFailure>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.call(what, true, op).await
    }

    /// Runs a storing `op` (`SET`) against Redis: as [`RedisLayer::write`], and its success
    /// shows Redis accepts writes again.
    async fn store<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, RedisFailure>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let result = self.write(what, op).await;
        if result.is_ok() {
            self.refusals.accepted();
        }
        result
    }

    /// Runs `op` against Redis with retries, within `redis.timeout`, through the breaker.
    /// Only a failure to reach Redis is retried and counted by the breaker; an error answer
    /// is a refusal, returned at once.
    async fn call<T, F, Fut>(
        &self,
        what: &'static str,
        write: bool,
        op: F,
    ) -> Result<T, RedisFailure>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if !self.breaker.allows() {
            return Err(RedisFailure::Open);
        }
        let deadline = Instant::now() + self.config.timeout;
        let mut pause = self.config.retry_backoff;
        let mut attempt = 0;
        let error = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let error = match tokio::time::timeout(left, op(self.conn.clone())).await {
                Ok(Ok(value)) => {
                    if self.breaker.success() == Transition::Closed {
                        tracing::info!("Redis answers again; circuit breaker closed");
                    }
                    return Ok(value);
                }
                Ok(Err(err)) if !connection_problem(&err) => {
                    // Redis answered, with an error: not an outage, nothing to retry.
                    self.breaker.success();
                    return Err(RedisFailure::Refused(self.note_refusal(what, &err, write)));
                }
                Ok(Err(err)) => format!("{what}: {err}"),
                Err(_) => format!("{what}: no answer within {:?}", self.config.timeout),
            };
            attempt += 1;
            if attempt > self.config.retries || Instant::now() + pause >= deadline {
                break error;
            }
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
        };
        self.note_failure(&error);
        Err(RedisFailure::Failed(error))
    }

    fn note_refusal(&self, what: &'static str, err: &redis::RedisError, write: bool) -> Refused {
        let refused = Refused::from_error(what, err);
        if write && !self.refusals.refusing() {
            tracing::warn!(
                answer = refused.answer,
                "Redis refuses writes: they fail until it accepts them again"
            );
        }
        self.refusals.note(&refused, write);
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(refused.to_string());
        refused
    }

    fn note_failure(&self, error: &str) {
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(error.to_owned());
        if self.breaker.failure() == Transition::Opened {
            tracing::warn!(
                error,
                cool_down = ?self.config.breaker_cool_down,
                "Redis unreachable: circuit breaker open, serving from the local layers"
            );
        }
    }

    /// The supervisor's write probe while Redis refuses writes: a `SET … XX` of a key that
    /// does not exist, which changes nothing but is refused exactly when writes are (over
    /// `maxmemory`, read-only replica, no write permission). Accepted: writes are accepted
    /// again and `status` says so without waiting for a client's write.
    pub async fn probe_writes(&self) {
        if !self.refusals.refusing() || !self.breaker.allows() {
            return;
        }
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.sealing.probe_key()).arg("").arg("XX").arg("PX").arg(1);
        let set = cmd.query_async::<redis::Value>(&mut conn);
        match tokio::time::timeout(self.config.timeout, set).await {
            Ok(Ok(_)) => self.refusals.accepted(),
            Ok(Err(err)) if !connection_problem(&err) => {
                tracing::debug!("write probe refused: {err}");
            }
            // Out of reach: the breaker's business, through the clients' requests.
            Ok(Err(_)) | Err(_) => {}
        }
    }

    /// The supervisor's probe: one PING when the breaker's cool-down has passed. Returns
    /// true when the breaker closed.
    pub async fn probe(&self) -> bool {
        if !self.breaker.probe_due(Instant::now()) {
            return false;
        }
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(self.config.timeout, ping).await {
            Ok(Ok(_)) => {
                self.breaker.success();
                tracing::info!("Redis is back: circuit breaker closed");
                true
            }
            Ok(Err(err)) => {
                self.note_failure(&format!("probe: {err}"));
                false
            }
            Err(_) => {
                self.note_failure("probe: no answer");
                false
            }
        }
    }
}

/// The client for `redis.url`, with the configured CA and client certificate for TLS.
fn open_client(config: &RedisConfig) -> Result<redis::Client, RedisSetupError> {
    let url = config.url.clone().unwrap_or_default();
    let invalid = |reason: String| RedisSetupError::Url { url: config.display_url(), reason };
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|err| RedisSetupError::TlsFile {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })
    };
    let tls = config.tls_ca_file.is_some() || config.tls_cert_file.is_some();
    if !tls {
        return redis::Client::open(url.as_str()).map_err(|err| invalid(err.to_string()));
    }
    let root_cert = config.tls_ca_file.as_deref().map(read).transpose()?;
    let client_tls = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            Some(redis::ClientTlsConfig { client_cert: read(cert)?, client_key: read(key)? })
        }
        _ => None,
    };
    let certificates = redis::TlsCertificates { client_tls, root_cert };
    redis::Client::build_with_tls(url.as_str(), certificates)
        .map_err(|err| invalid(err.to_string()))
}

/// Errors that mean "Redis is not there" (worth a retry and counted by the breaker), as
/// opposed to Redis answering with an error.
fn connection_problem(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_unrecoverable_error()
        || matches!(err.kind(), redis::ErrorKind::Io | redis::ErrorKind::AuthenticationFailed)
}
