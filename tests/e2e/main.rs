//! End-to-end tests: the real `cachemgrd` and `cachectl` over a real socket in a temp dir.

mod app_backups;
mod app_import;
mod app_keyring;
mod app_migrate;
mod app_watch;
mod apps;
mod bad_input;
mod dirs;
mod disk;
mod dumps;
mod durability;
mod eviction;
mod keys;
mod kv;
mod lifecycle;
mod paging;
mod pipelining;
mod pressure;
mod redis;
mod redis_outage;
mod rotation;
mod schedule;
mod sd_notify;
mod tamper;
mod ttl;
