//! The cache layers and the namespaces that own them.
//!
//! The store is the single owner of cache state: handlers call its methods and never reach
//! into a namespace's entries. Each namespace's memory layer sits behind its own mutex, held
//! only for the few microseconds an operation takes; long operations (pattern deletes,
//! sweeps) work in chunks and release the lock between them.

mod announce;
pub mod budget;
pub mod clock;
pub mod disk;
mod disk_sweeper;
mod layered;
mod layered_write;
pub mod memory;
mod memory_ops;
pub use crate::config::names;
mod namespaces;
pub use crate::pattern;
pub mod pressure_ops;
pub mod redis;
mod report;
mod shared;
mod shared_tasks;
mod shared_write;
mod sweeper;
pub use crate::config::tier;

pub use namespaces::{Namespace, Store, StoreError};
