//! How a namespace is kept: which layers hold it, how hard its disk writes are made
//! durable, which entry a full namespace gives up first, and its limits. Config vocabulary,
//! used by the store.

use serde::{Deserialize, Serialize};

/// The layers of a namespace, top (checked first) to bottom.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// Memory only: fastest, gone at restart.
    #[default]
    #[serde(rename = "memory")]
    Memory,
    /// Disk only: every read opens the sealed value.
    #[serde(rename = "disk")]
    Disk,
    /// Memory over disk: reads hit memory, fall back to disk and fill memory.
    #[serde(rename = "memory+disk")]
    MemoryDisk,
    /// Memory over a shared Redis: Redis is the truth other daemons see; memory is a local
    /// copy kept fresh by pub/sub invalidations.
    #[serde(rename = "memory+redis")]
    MemoryRedis,
    /// Memory over Redis, with a local disk copy that answers while Redis is unreachable.
    #[serde(rename = "memory+disk+redis")]
    MemoryDiskRedis,
}

impl Tier {
    /// Whether values reach the disk layer.
    pub fn has_disk(self) -> bool {
        !matches!(self, Tier::Memory | Tier::MemoryRedis)
    }

    /// Whether values are shared through Redis.
    pub fn has_redis(self) -> bool {
        matches!(self, Tier::MemoryRedis | Tier::MemoryDiskRedis)
    }

    /// The layers this daemon holds itself: a Redis tier minus Redis. The local store code
    /// works on this, so a Redis namespace's memory and disk copies behave exactly like a
    /// `memory` or `memory+disk` namespace's.
    pub fn local(self) -> Tier {
        match self {
            Tier::MemoryRedis => Tier::Memory,
            Tier::MemoryDiskRedis => Tier::MemoryDisk,
            other => other,
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Memory => "memory",
            Tier::Disk => "disk",
            Tier::MemoryDisk => "memory+disk",
            Tier::MemoryRedis => "memory+redis",
            Tier::MemoryDiskRedis => "memory+disk+redis",
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_u8(value: u8) -> Tier {
        match value {
            1 => Tier::Disk,
            2 => Tier::MemoryDisk,
            3 => Tier::MemoryRedis,
            4 => Tier::MemoryDiskRedis,
            _ => Tier::Memory,
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a disk write is acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// After the transaction holding it is fsynced: survives `kill -9` and power loss.
    Fsync,
    /// After it is committed and visible; fsynced with others within `disk.batch_window`
    /// (a crash loses at most that window).
    #[default]
    Batched,
}

impl Durability {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Batched => "batched",
        }
    }
}

/// Which entry a full namespace gives up first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvictionPolicy {
    /// Least recently used (read or written).
    #[default]
    Lru,
    /// Least frequently used; ties go to the least recently used.
    Lfu,
    /// Oldest write first; reads do not protect an entry.
    Fifo,
}

impl EvictionPolicy {
    /// The name used in config files and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EvictionPolicy::Lru => "lru",
            EvictionPolicy::Lfu => "lfu",
            EvictionPolicy::Fifo => "fifo",
        }
    }
}

impl std::fmt::Display for EvictionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings that shape a namespace's memory layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Byte budget (entries are charged key + value + the store's per-entry overhead).
    pub max_bytes: u64,
    /// TTL for writes that do not name one, in ms.
    pub default_ttl_ms: Option<u64>,
    /// Eviction policy.
    pub eviction: EvictionPolicy,
}
