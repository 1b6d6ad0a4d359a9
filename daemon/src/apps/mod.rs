//! Registered application caches: the `.enc` files of the Python desktop apps, their keys in
//! the OS keyring, and everything the daemon does for them (registry, backups, retention,
//! watching, restore, inspect, modify, migrate).

pub mod backup;
pub mod capture;
pub mod catalog;
pub mod codec;
pub use crate::config::apps as config;
pub mod content;
pub mod encfile;
pub mod error;
pub mod import;
pub mod import_meta;
pub mod info;
pub mod json;
pub mod keys;
pub mod keystore;
pub mod live;
pub mod manage;
pub mod migrate;
pub mod migrate_journal;
pub mod naming;
pub mod registry;
pub mod rekey;
pub mod restore;
pub mod retention;
pub mod scheduler;
pub mod service;
pub mod stale;
pub mod store;
pub mod verify;
pub mod watcher;

pub use service::AppService;
