//! The daemon's configuration: a TOML file, overridden by `CACHEMGR_*` environment variables.
//!
//! Every key has a default, so a missing file is a valid (default) configuration. Unknown keys
//! are refused so a typo cannot silently do nothing. `docs/configuration.md` lists every key.

pub mod app_keys;
pub mod apps;
pub mod clear_timing;
pub mod dirs;
pub mod keys;
pub mod live;
pub mod names;
pub mod pressure;
pub mod redis;
pub mod tier;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use keys::KeysConfig;
pub use live::LiveConfig;
use names::validate_namespace;
use tier::{CacheLimits, Durability, EvictionPolicy, Tier};

/// Top-level keys an environment variable may set: other `CACHEMGR_*` variables (the
/// config path, the log level, the key, a test's own switches) are not config and must not
/// stop the daemon from starting.
const ENV_KEYS: &[&str] = &[
    "socket",
    "state_dir",
    "max_frame_bytes",
    "max_connections",
    "max_connections_per_user",
    "admin_reserved_connections",
    "subscriber_queue",
    "handshake_timeout",
    "idle_timeout",
    "drain_timeout",
    "auto_create_namespaces",
    "admin_group",
    "socket_group",
    "read_only",
    "metrics_listen",
    "memory",
    "defaults",
    "namespaces",
    "disk",
    "keys",
    "redis",
    "dirs",
    "pressure",
    "apps",
    "app_keys",
];

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` does not exist.
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    /// Parse or type error (figment names the key and the source).
    #[error("{0}")]
    Invalid(#[from] Box<figment::Error>),
    /// A value out of its allowed range.
    #[error("invalid value for `{key}`: {reason}")]
    OutOfRange {
        /// The offending key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The task that read the config did not finish (it panicked).
    #[error("reading the config failed: {0}")]
    Task(String),
}

/// Settings of one namespace; absent fields fall back to `[defaults]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceConfig {
    /// Byte budget of its memory layer (and of its disk layer unless `disk_max_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<ByteSize>,
    /// Byte budget of its disk layer (key + sealed record of each value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_max_bytes: Option<ByteSize>,
    /// TTL for writes that name none ("0s" = none).
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub default_ttl: Option<Duration>,
    /// `lru`, `lfu` or `fifo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction: Option<EvictionPolicy>,
    /// `memory`, `disk`, `memory+disk`, `memory+redis` or `memory+disk+redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// `fsync` or `batched` (disk tiers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability: Option<Durability>,
    /// Who may read it besides its writers and admins: user names or uids, `@group`s.
    /// Absent = everyone who may connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readers: Option<Vec<String>>,
    /// Who may change it besides admins. Absent = everyone who may connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writers: Option<Vec<String>>,
    /// Whether the pressure monitor may clear this namespace (stage b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_on_pressure: Option<bool>,
    /// Order of those clears: lower is cleared first (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Clear the namespace on this interval (see `jobs::clear_schedule`).
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub clear_every: Option<Duration>,
    /// Local time of day (`"HH:MM"`) the scheduled clears are anchored to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_at: Option<String>,
    /// `readers` and `writers` as ids, looked up through NSS once when the config is loaded
    /// (off the request path), not on every request.
    #[serde(skip)]
    pub rights: ResolvedRights,
}

/// A `readers`/`writers` entry as the kernel names callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// A user (`alice` or `1000`).
    User(u32),
    /// A group (`@staff` or `@50`).
    Group(u32),
    /// A name the system did not know at load (a directory service not up yet): looked up
    /// again when a request needs it.
    Unresolved(String),
}

/// A namespace's `readers` and `writers`, resolved ([`Config::load`] fills them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedRights {
    /// Whether the lists below were resolved (a config built in code has not been).
    pub resolved: bool,
    /// `readers`, resolved.
    pub readers: Option<Vec<Who>>,
    /// `writers`, resolved.
    pub writers: Option<Vec<Who>>,
}

/// Resolves one `readers`/`writers` entry through NSS (blocking).
pub fn resolve_who(entry: &str) -> Who {
    let unresolved = || Who::Unresolved(entry.to_owned());
    match entry.strip_prefix('@') {
        Some(group) => crate::nss::group_id(group).map_or_else(unresolved, Who::Group),
        None => crate::nss::user_id(entry).map_or_else(unresolved, Who::User),
    }
}

/// Settings for namespaces not named in the file (created on first write).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NamespaceDefaults {
    /// Byte budget of each namespace's memory layer.
    pub max_bytes: ByteSize,
    /// Byte budget of each namespace's disk layer; absent = its `max_bytes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_max_bytes: Option<ByteSize>,
    /// TTL for writes that name none; absent = never expire.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub default_ttl: Option<Duration>,
    /// Eviction policy.
    pub eviction: EvictionPolicy,
    /// Layers.
    pub tier: Tier,
    /// Disk write durability.
    pub durability: Durability,
}

impl Default for NamespaceDefaults {
    fn default() -> Self {
        Self {
            max_bytes: ByteSize::mib(128),
            disk_max_bytes: None,
            default_ttl: None,
            eviction: EvictionPolicy::Lru,
            tier: Tier::Memory,
            durability: Durability::Batched,
        }
    }
}

/// The disk layer's file and tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskConfig {
    /// The database file; default `<state_dir>/cache.redb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// redb's page cache.
    pub cache_size: ByteSize,
    /// Longest a `batched` write waits to be fsynced (its crash-loss window).
    #[serde(with = "humantime_serde")]
    pub batch_window: Duration,
}

impl Default for DiskConfig {
    fn default() -> Self {
        Self { path: None, cache_size: ByteSize::mib(64), batch_window: Duration::from_millis(5) }
    }
}

/// Process-wide memory limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Cap on the bytes of all namespaces together.
    pub max_bytes: ByteSize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self { max_bytes: ByteSize::mib(512) }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Socket path (the `--socket` flag wins over it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
    /// State directory (the `--state-dir` flag wins over it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
    /// Largest frame accepted or sent.
    pub max_frame_bytes: ByteSize,
    /// Connections served at once; more are told so and closed.
    pub max_connections: usize,
    /// Connections one user who is not an admin may hold at once, so one uid cannot take
    /// every slot.
    pub max_connections_per_user: usize,
    /// Of `max_connections`, the slots only admins may take (root, the daemon's user,
    /// `admin_group`), so an admin can always get in.
    pub admin_reserved_connections: usize,
    /// Events that may wait for one subscriber (`subscribe`) before newer ones are dropped
    /// for it and counted; bounds the memory a slow subscriber can hold.
    pub subscriber_queue: usize,
    /// Time a new connection has to send `hello`.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// A connection that sends no request for this long is closed (a `subscribe` stream is
    /// exempt while it streams).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Longest a shutdown waits for clients to finish.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// Whether a write to an unknown namespace creates it with `[defaults]`.
    pub auto_create_namespaces: bool,
    /// Members of this group (name or gid) are admins, besides root and the daemon's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_group: Option<String>,
    /// System mode: the socket gets mode 0660 and this group (name or gid), so its members
    /// may connect. Absent: mode 0600, the daemon's user only. Read at start-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_group: Option<String>,
    /// Production switch: every management operation that changes something is refused;
    /// reads and ordinary cache traffic go on.
    pub read_only: bool,
    /// Serve the Prometheus exposition over HTTP on this address (`GET /metrics`), in the
    /// admin view; absent = no HTTP endpoint. Read at start-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Global memory limits.
    pub memory: MemoryConfig,
    /// Settings of namespaces not listed below.
    pub defaults: NamespaceDefaults,
    /// Configured namespaces by name.
    pub namespaces: BTreeMap<String, NamespaceConfig>,
    /// The disk layer.
    pub disk: DiskConfig,
    /// The shared Redis layer (read at start-up only).
    pub redis: redis::RedisConfig,
    /// Where the master key comes from (read at start-up only).
    pub keys: KeysConfig,
    /// Registered app caches: backups, watching, their keys (read at start-up only).
    pub apps: apps::AppsConfig,
    /// Where the apps' own keys are read (and written by `app migrate`).
    pub app_keys: app_keys::AppKeysConfig,
    /// Disposable cache directories: how often they are trimmed.
    pub dirs: dirs::DirsConfig,
    /// The memory and disk pressure monitor.
    pub pressure: pressure::PressureConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            socket: None,
            state_dir: None,
            max_frame_bytes: ByteSize::mib(16),
            max_connections: 1024,
            max_connections_per_user: 128,
            admin_reserved_connections: 16,
            subscriber_queue: 1024,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
            drain_timeout: Duration::from_secs(10),
            auto_create_namespaces: true,
            admin_group: None,
            socket_group: None,
            read_only: false,
            metrics_listen: None,
            memory: MemoryConfig::default(),
            defaults: NamespaceDefaults::default(),
            namespaces: BTreeMap::new(),
            disk: DiskConfig::default(),
            redis: Default::default(),
            keys: KeysConfig::default(),
            apps: Default::default(),
            app_keys: Default::default(),
            dirs: Default::default(),
            pressure: Default::default(),
        }
    }
}

impl Config {
    /// Reads `path` (if given) over the defaults, then the environment over both.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = Env::prefixed("CACHEMGR_").filter(|key| {
            let top = key.as_str().split("__").next().unwrap_or_default();
            ENV_KEYS.iter().any(|known| top.eq_ignore_ascii_case(known))
        });
        figment = figment.merge(env.split("__"));
        let mut config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        config.resolve_rights();
        Ok(config)
    }

    /// Looks up every namespace's `readers` and `writers` once (blocking: NSS), so deciding
    /// a request never waits on the user database.
    pub fn resolve_rights(&mut self) {
        let resolve = |list: &Option<Vec<String>>| -> Option<Vec<Who>> {
            list.as_ref().map(|entries| entries.iter().map(|e| resolve_who(e)).collect())
        };
        for (name, ns) in &mut self.namespaces {
            for list in [&ns.readers, &ns.writers].into_iter().flatten() {
                for entry in list.iter().filter(|e| matches!(resolve_who(e), Who::Unresolved(_))) {
                    tracing::warn!(namespace = %name, "readers/writers entry {entry:?} names no user or group known now; it is looked up again when a request needs it");
                }
            }
            ns.rights = ResolvedRights {
                resolved: true,
                readers: resolve(&ns.readers),
                writers: resolve(&ns.writers),
            };
        }
    }

    /// The frame cap in bytes.
    pub fn max_frame(&self) -> usize {
        usize::try_from(self.max_frame_bytes.as_u64()).unwrap_or(usize::MAX)
    }

    /// Limits for the namespace `name`: its own section over `[defaults]`.
    pub fn limits_for(&self, name: &str) -> CacheLimits {
        let own = self.namespaces.get(name).cloned().unwrap_or_default();
        let ttl = own.default_ttl.or(self.defaults.default_ttl);
        CacheLimits {
            max_bytes: own.max_bytes.unwrap_or(self.defaults.max_bytes).as_u64(),
            default_ttl_ms: ttl.map(|ttl| ttl.as_millis() as u64).filter(|&ms| ms > 0),
            eviction: own.eviction.unwrap_or(self.defaults.eviction),
        }
    }

    /// The disk layer's byte limit of the namespace `name`: its `disk_max_bytes`, else
    /// `defaults.disk_max_bytes`, else its `max_bytes`, else `defaults.max_bytes`.
    pub fn disk_limit_for(&self, name: &str) -> u64 {
        let own = self.namespaces.get(name);
        own.and_then(|ns| ns.disk_max_bytes)
            .or(self.defaults.disk_max_bytes)
            .or(own.and_then(|ns| ns.max_bytes))
            .unwrap_or(self.defaults.max_bytes)
            .as_u64()
    }

    /// Tier and durability of the namespace `name`.
    pub fn tier_for(&self, name: &str) -> (Tier, Durability) {
        let own = self.namespaces.get(name);
        (
            own.and_then(|ns| ns.tier).unwrap_or(self.defaults.tier),
            own.and_then(|ns| ns.durability).unwrap_or(self.defaults.durability),
        )
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let range = |key: &str, reason: String| ConfigError::OutOfRange { key: key.into(), reason };
        let frame = self.max_frame_bytes.as_u64();
        if !(1024..=1 << 30).contains(&frame) {
            return Err(range(
                "max_frame_bytes",
                format!("{frame} is not between 1 KiB and 1 GiB"),
            ));
        }
        if self.max_connections == 0 {
            return Err(range("max_connections", "must be at least 1".into()));
        }
        if !(1..=1_000_000).contains(&self.subscriber_queue) {
            return Err(range("subscriber_queue", "must be between 1 and 1000000".into()));
        }
        if self.max_connections_per_user == 0 {
            return Err(range("max_connections_per_user", "must be at least 1".into()));
        }
        if self.handshake_timeout.is_zero() {
            return Err(range("handshake_timeout", "must be longer than 0s".into()));
        }
        if self.idle_timeout < Duration::from_secs(1) {
            return Err(range("idle_timeout", "must be at least 1s".into()));
        }
        if self.memory.max_bytes.as_u64() < 1 << 20 {
            return Err(range("memory.max_bytes", "must be at least 1 MiB".into()));
        }
        let window = self.disk.batch_window;
        if window < Duration::from_millis(1) || window > Duration::from_secs(10) {
            return Err(range("disk.batch_window", "must be between 1ms and 10s".into()));
        }
        if self.defaults.disk_max_bytes.is_some_and(|b| b.as_u64() == 0) {
            return Err(range("defaults.disk_max_bytes", "must be more than 0".into()));
        }
        if self.defaults.max_bytes.as_u64() == 0 {
            return Err(range("defaults.max_bytes", "must be more than 0".into()));
        }
        self.keys.validate().map_err(|(key, reason)| range(key, reason))?;
        for (key, group) in
            [("admin_group", &self.admin_group), ("socket_group", &self.socket_group)]
        {
            if group.as_deref().is_some_and(|g| crate::nss::group_id(g).is_none()) {
                return Err(range(key, format!("no group named {group:?} on this system")));
            }
        }
        self.redis.validate().map_err(|(key, reason)| range(key, reason))?;
        if self.redis.url.is_none() {
            let redis_tier = |tier: Option<Tier>| tier.is_some_and(Tier::has_redis);
            if self.defaults.tier.has_redis() {
                return Err(range(
                    "defaults.tier",
                    format!("{} needs [redis] url", self.defaults.tier),
                ));
            }
            if let Some((name, ns)) = self.namespaces.iter().find(|(_, ns)| redis_tier(ns.tier)) {
                return Err(range(
                    &format!("namespaces.{name}.tier"),
                    format!("{} needs [redis] url", ns.tier.unwrap_or_default()),
                ));
            }
        }
        self.app_keys.validate().map_err(|(key, reason)| range(key, reason))?;
        self.dirs.validate().map_err(|(key, reason)| range(key, reason))?;
        self.pressure.validate().map_err(|(key, reason)| range(&key, reason))?;
        for (name, ns) in &self.namespaces {
            validate_namespace(name)
                .map_err(|reason| range(&format!("namespaces.{name}"), reason.to_string()))?;
            for (key, value) in [("max_bytes", ns.max_bytes), ("disk_max_bytes", ns.disk_max_bytes)]
            {
                if value.is_some_and(|b| b.as_u64() == 0) {
                    return Err(range(
                        &format!("namespaces.{name}.{key}"),
                        "must be more than 0".into(),
                    ));
                }
            }
            clear_timing::validate(ns)
                .map_err(|(key, reason)| range(&format!("namespaces.{name}.{key}"), reason))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/configuration.md` promises every key can be set as `CACHEMGR_<KEY>`: every
    /// top-level section and key of the config must be on the environment's list.
    #[test]
    fn every_top_level_key_can_come_from_the_environment() {
        let config = Config {
            socket: Some("/run/x.sock".into()),
            state_dir: Some("/var/lib/x".into()),
            admin_group: Some("wheel".into()),
            socket_group: Some("cache".into()),
            metrics_listen: Some("127.0.0.1:9187".parse().expect("address")),
            ..Config::default()
        };
        let value = serde_json::to_value(&config).expect("a config serializes");
        let keys = value.as_object().expect("a table");
        assert!(keys.len() >= 20, "the config's keys: {:?}", keys.keys());
        let missing: Vec<&String> =
            keys.keys().filter(|key| !ENV_KEYS.contains(&key.as_str())).collect();
        assert!(missing.is_empty(), "CACHEMGR_<KEY> would drop {missing:?}");
    }

    #[test]
    fn readers_and_writers_are_resolved_once_at_load() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cachemgr.toml");
        let toml = "[namespaces.team]\nreaders = [\"root\", \"@0\", \"no-such-user-4242\"]\n\
                    writers = [\"0\"]\n";
        std::fs::write(&path, toml).expect("write");
        let config = Config::load(Some(&path)).expect("loads");
        let rights = &config.namespaces["team"].rights;
        assert!(rights.resolved);
        let unknown = Who::Unresolved("no-such-user-4242".into());
        assert_eq!(rights.readers, Some(vec![Who::User(0), Who::Group(0), unknown]));
        assert_eq!(rights.writers, Some(vec![Who::User(0)]));
        assert_eq!(config.namespaces["team"].readers.as_ref().map(Vec::len), Some(3), "kept");
    }
}
