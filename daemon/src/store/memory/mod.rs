//! The memory layer: byte-bounded namespaces with TTLs and LRU/LFU/FIFO eviction.

mod arena;
pub mod cache;
mod expiry;
pub mod policy;
mod scan;
mod tap;

pub use crate::config::tier::CacheLimits;
pub use cache::{
    CacheError, MemoryCache, PatternAction, PatternTally, WriteCondition, ENTRY_OVERHEAD,
    MAX_KEY_BYTES,
};
pub use policy::EvictionPolicy;
pub(crate) use scan::PAGE_BYTES;
pub use tap::RemovalTap;
