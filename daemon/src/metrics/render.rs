//! What the daemon exports, and under which names: a [`Snapshot`] of the answers a client
//! gets (`info`, `status`, `stats`, `app_list`, `pressure_status`) turned into Prometheus
//! families. The only renderer: the `metrics` request and the HTTP endpoint both call it.
//!
//! Names follow the Prometheus conventions: base units (`_bytes`, `_seconds`, `_ratio`),
//! `_total` for counters, one unit per family. The cache's families are in `cache`, those of
//! Redis, apps and pressure in `services`; this file has the daemon's own and the order.

use cachemgr_proto::{AppInfo, DaemonStatus, NamespaceStats, PressureInfo, ServerInfo};

use super::exposition::{write, Family, Kind};
use super::{cache, services};

/// Everything one exposition shows, already trimmed to what its reader may see.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The `info` answer.
    pub info: Option<ServerInfo>,
    /// The `status` answer (health, Redis).
    pub status: Option<DaemonStatus>,
    /// The `stats` rows, by namespace.
    pub namespaces: Vec<NamespaceStats>,
    /// The `app_list` rows (`None` when app caches are off).
    pub apps: Option<Vec<AppInfo>>,
    /// The `pressure_status` answer (`None` when the monitor is not running).
    pub pressure: Option<PressureInfo>,
    /// The global memory cap over every namespace (`memory.max_bytes`).
    pub memory_limit_bytes: u64,
    /// Now, Unix ms: the reference for backup ages.
    pub now_unix_ms: u64,
    /// Change subscribers (`subscribe`, `cachectl watch`) connected now.
    pub subscribers: u64,
}

/// The exposition of `snapshot`.
pub fn render(snapshot: &Snapshot) -> String {
    let mut families = daemon(snapshot);
    families.extend(cache::families(&snapshot.namespaces));
    if let Some(redis) = snapshot.status.as_ref().and_then(|s| s.redis.as_ref()) {
        families.extend(services::redis(redis));
    }
    if let Some(apps) = &snapshot.apps {
        families.extend(services::apps(apps, snapshot.now_unix_ms));
    }
    if let Some(pressure) = &snapshot.pressure {
        families.extend(services::pressure(pressure));
    }
    write(&families)
}

fn daemon(snapshot: &Snapshot) -> Vec<Family> {
    let mut families = Vec::new();
    if let Some(info) = &snapshot.info {
        let mut build =
            Family::new("cachemgr_build_info", Kind::Gauge, "The daemon's version; always 1.");
        build.push(&[("version", &info.version), ("protocol", &info.protocol.to_string())], 1u64);
        families.push(build);
        families.push(Family::single(
            "cachemgr_uptime_seconds",
            Kind::Gauge,
            "Seconds since the daemon started.",
            info.uptime_ms as f64 / 1000.0,
        ));
        families.push(Family::single(
            "cachemgr_connections",
            Kind::Gauge,
            "Socket connections open now.",
            info.connections,
        ));
        families.push(Family::single(
            "cachemgr_notices",
            Kind::Gauge,
            "Things an operator must know (`cachectl info` lists them).",
            info.notices.len() as u64,
        ));
    }
    if let Some(status) = &snapshot.status {
        families.push(Family::single(
            "cachemgr_healthy",
            Kind::Gauge,
            "1 when nothing needs an operator (`cachectl status` exits 0), else 0.",
            status.healthy,
        ));
        let mut up = Family::new(
            "cachemgr_job_up",
            Kind::Gauge,
            "1 while the background job runs (or a one-shot job finished), 0 while it waits to restart.",
        );
        let mut restarts = Family::new(
            "cachemgr_job_restarts_total",
            Kind::Counter,
            "Times the background job failed (panicked or ended early) and was restarted.",
        );
        for job in &status.jobs {
            up.push(&[("job", &job.name)], job.running);
            restarts.push(&[("job", &job.name)], job.restarts);
        }
        if !status.jobs.is_empty() {
            families.push(up);
            families.push(restarts);
        }
    }
    families.push(Family::single(
        "cachemgr_subscribers",
        Kind::Gauge,
        "Change subscribers (subscribe, cachectl watch) connected now.",
        snapshot.subscribers,
    ));
    families.push(Family::single(
        "cachemgr_memory_limit_bytes",
        Kind::Gauge,
        "The cap on the bytes of every namespace together (memory.max_bytes).",
        snapshot.memory_limit_bytes,
    ));
    families
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
