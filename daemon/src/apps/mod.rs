//! Registered application caches: the `.enc` files of the Python desktop apps, their keys in
//! the OS keyring, and everything the daemon does for them (registry, backups, retention,
//! watching, restore, inspect, modify, migrate).

pub mod encfile;
pub mod keystore;
