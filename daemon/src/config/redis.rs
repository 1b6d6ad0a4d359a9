//! `[redis]`: where the shared layer lives and how hard the daemon tries before it gives up
//! on it for a while.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The Redis layer's settings. Without `url`, no namespace may use a Redis tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://[user:pass@]host:port/db`, `rediss://…` (TLS), or `unix:///path/redis.sock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// PEM file of the CA that signed the server's certificate (`rediss://` only); absent =
    /// the system's trust store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate, for servers that check clients (`tls-auth-clients yes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of that certificate (keep it mode 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// First part of every key and channel name, so several deployments can share a Redis.
    pub prefix: String,
    /// Longest any request waits on Redis, retries included, before it is served locally.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Extra attempts after a failed command (within `timeout`).
    pub retries: u32,
    /// Pause before the first retry; doubles for each further one.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Consecutive failed requests that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open before one probe checks whether Redis is back.
    #[serde(with = "humantime_serde")]
    pub breaker_cool_down: Duration,
    /// Longest a value read from Redis is kept in the local memory layer, a safety net
    /// on top of pub/sub invalidation.
    #[serde(with = "humantime_serde")]
    pub local_max_age: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            prefix: "cachemgr".into(),
            timeout: Duration::from_millis(250),
            retries: 2,
            retry_backoff: Duration::from_millis(10),
            breaker_failures: 5,
            breaker_cool_down: Duration::from_secs(2),
            local_max_age: Duration::from_secs(300),
        }
    }
}

impl RedisConfig {
    /// Refuses values that would make the layer useless or unsafe, naming the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(url) = &self.url {
            let known = ["redis://", "rediss://", "unix://", "redis+unix://"];
            if !known.iter().any(|scheme| url.starts_with(scheme)) {
                return Err(("redis.url", "must start with redis://, rediss:// or unix://".into()));
            }
            let tls_files = self.tls_ca_file.is_some()
                || self.tls_cert_file.is_some()
                || self.tls_key_file.is_some();
            if tls_files && !url.starts_with("rediss://") {
                return Err(("redis.url", "the tls_* files need a rediss:// URL".into()));
            }
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err((
                "redis.tls_cert_file",
                "a client certificate needs its key (tls_key_file), and the key its certificate"
                    .into(),
            ));
        }
        if self.prefix.is_empty() || self.prefix.contains(['{', '}', ' ']) {
            return Err(("redis.prefix", "must be non-empty, without braces or spaces".into()));
        }
        if self.timeout < Duration::from_millis(1) || self.timeout > Duration::from_secs(60) {
            return Err(("redis.timeout", "must be between 1ms and 60s".into()));
        }
        if self.breaker_failures == 0 {
            return Err(("redis.breaker_failures", "must be at least 1".into()));
        }
        if self.breaker_cool_down < Duration::from_millis(10) {
            return Err(("redis.breaker_cool_down", "must be at least 10ms".into()));
        }
        if self.local_max_age.is_zero() {
            return Err(("redis.local_max_age", "must be longer than 0s".into()));
        }
        Ok(())
    }

    /// The URL with any password replaced, for logs and `status`.
    pub fn display_url(&self) -> String {
        let Some(url) = &self.url else { return "(none)".into() };
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
            }
            _ => url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_display_form() {
        let config = RedisConfig {
            url: Some("redis://user:secret@10.0.0.1:6379/2".into()),
            ..RedisConfig::default()
        };
        assert_eq!(config.display_url(), "redis://***@10.0.0.1:6379/2");
        let unix = RedisConfig { url: Some("unix:///run/redis.sock".into()), ..config };
        assert_eq!(unix.display_url(), "unix:///run/redis.sock");
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad = RedisConfig { url: Some("http://x".into()), ..RedisConfig::default() };
        assert_eq!(bad.validate().map_err(|(key, _)| key), Err("redis.url"));
        let bad = RedisConfig { breaker_failures: 0, ..RedisConfig::default() };
        assert_eq!(bad.validate().map_err(|(key, _)| key), Err("redis.breaker_failures"));
    }
}
