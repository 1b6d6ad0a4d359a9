//! The families of the daemon's services: the Redis layer (from `status`), registered apps
//! (from `app_list`) and the pressure monitor (from `pressure_status`).

use cachemgr_proto::{AppHealth, AppInfo, PressureInfo, RedisStatus, TriggerState};

use super::exposition::{Family, Kind, Value};

/// The health states, in the order of `AppHealth`.
pub const HEALTH: [AppHealth; 6] = [
    AppHealth::Ok,
    AppHealth::Stale,
    AppHealth::FileMissing,
    AppHealth::FileUnreadable,
    AppHealth::KeyMissing,
    AppHealth::BackupDamaged,
];

/// The Redis breaker's states, as `status` spells them.
const BREAKER: [&str; 3] = ["closed", "open", "half-open"];

/// The Redis layer's health: breaker state, failures, degraded and refused requests.
pub fn redis(redis: &RedisStatus) -> Vec<Family> {
    let mut state = Family::new(
        "cachemgr_redis_breaker_state",
        Kind::Gauge,
        "The Redis circuit breaker: 1 for the state it is in, 0 for the others.",
    );
    for name in BREAKER {
        state.push(&[("state", name)], redis.breaker == name);
    }
    vec![
        Family::single(
            "cachemgr_redis_up",
            Kind::Gauge,
            "1 while Redis is in use (breaker closed), 0 while requests are served locally.",
            redis.breaker == "closed",
        ),
        state,
        Family::single(
            "cachemgr_redis_breaker_state_seconds",
            Kind::Gauge,
            "Seconds since the breaker entered its state.",
            redis.since_ms as f64 / 1000.0,
        ),
        Family::single(
            "cachemgr_redis_breaker_opened_total",
            Kind::Counter,
            "Times the breaker opened since the daemon started.",
            redis.times_opened,
        ),
        Family::single(
            "cachemgr_redis_consecutive_failures",
            Kind::Gauge,
            "Failed Redis requests in a row.",
            u64::from(redis.consecutive_failures),
        ),
        Family::single(
            "cachemgr_redis_invalidations_live",
            Kind::Gauge,
            "1 while invalidations from other daemons are being received.",
            redis.invalidations_live,
        ),
        Family::single(
            "cachemgr_redis_degraded_total",
            Kind::Counter,
            "Requests answered locally because Redis was unreachable, over all namespaces.",
            redis.degraded,
        ),
        Family::single(
            "cachemgr_redis_refused_total",
            Kind::Counter,
            "Requests Redis refused (answered with an error); each failed with that answer.",
            redis.refused,
        ),
    ]
}

/// Per app: backup age and count, health (one series per state), bad backups and reads.
pub fn apps(apps: &[AppInfo], now_unix_ms: u64) -> Vec<Family> {
    let mut age = Family::new(
        "cachemgr_app_last_backup_age_seconds",
        Kind::Gauge,
        "Seconds since the app's newest verified backup; +Inf when it has none.",
    );
    let mut taken = Family::new(
        "cachemgr_app_last_backup_timestamp_seconds",
        Kind::Gauge,
        "Unix time of the app's newest verified backup (absent when it has none).",
    );
    let mut count = Family::new("cachemgr_app_backups", Kind::Gauge, "Backups stored.");
    let mut health = Family::new(
        "cachemgr_app_health",
        Kind::Gauge,
        "The app's health: 1 for the state it is in, 0 for the others.",
    );
    let mut bad = Family::new(
        "cachemgr_app_bad_backups",
        Kind::Gauge,
        "Stored backups that failed the last verification.",
    );
    let mut bad_reads = Family::new(
        "cachemgr_app_bad_reads_total",
        Kind::Counter,
        "Reads of the live file that were torn or did not decrypt (never kept as backups).",
    );
    let mut failing = Family::new(
        "cachemgr_app_backup_failing",
        Kind::Gauge,
        "1 when the app's last backup attempt failed.",
    );
    for app in apps {
        let name = [("app", app.name.as_str())];
        let seconds = |ms: u64| ms as f64 / 1000.0;
        match app.last_good_backup_unix_ms {
            Some(ms) => {
                age.push(&name, seconds(now_unix_ms.saturating_sub(ms)));
                taken.push(&name, seconds(ms));
            }
            None => age.push(&name, f64::INFINITY),
        }
        count.push(&name, app.backup_count);
        for state in HEALTH {
            health.push(&[("app", &app.name), ("state", state.as_str())], app.health == state);
        }
        bad.push(&name, app.last_verify_bad);
        bad_reads.push(&name, app.bad_reads);
        failing.push(&name, app.last_error.is_some());
    }
    vec![age, taken, count, health, bad, bad_reads, failing]
}

/// The pressure monitor: readings as bytes and ratios, the marks, the trigger states.
pub fn pressure(info: &PressureInfo) -> Vec<Family> {
    let ratio = |percent: f64| Value::Float(percent / 100.0);
    let memory = &info.memory;
    let mut disk_ratio = Family::new(
        "cachemgr_pressure_disk_used_ratio",
        Kind::Gauge,
        "Used fraction of the file system holding each watched path.",
    );
    let mut disk_used = Family::new(
        "cachemgr_pressure_disk_used_bytes",
        Kind::Gauge,
        "Bytes used, per file system.",
    );
    let mut disk_size =
        Family::new("cachemgr_pressure_disk_size_bytes", Kind::Gauge, "Size, per file system.");
    for fs in &info.disk.filesystems {
        disk_used.push(&[("mount", &fs.mount)], fs.used_bytes);
        disk_size.push(&[("mount", &fs.mount)], fs.total_bytes);
        for path in &fs.paths {
            disk_ratio.push(&[("path", path), ("mount", &fs.mount)], ratio(fs.used_percent));
        }
    }
    let mut high = Family::new(
        "cachemgr_pressure_high_ratio",
        Kind::Gauge,
        "Usage at or above which the monitor acts.",
    );
    let mut low =
        Family::new("cachemgr_pressure_low_ratio", Kind::Gauge, "Usage below which it re-arms.");
    let mut triggered = Family::new(
        "cachemgr_pressure_triggered",
        Kind::Gauge,
        "1 once the monitor acted on the resource, until usage falls below the low mark.",
    );
    for (resource, h, l, state) in [
        ("memory", memory.high, memory.low, memory.state),
        ("disk", info.disk.high, info.disk.low, info.disk.state),
    ] {
        high.push(&[("resource", resource)], ratio(h));
        low.push(&[("resource", resource)], ratio(l));
        triggered.push(&[("resource", resource)], state == TriggerState::Triggered);
    }
    let mut families = vec![
        Family::single(
            "cachemgr_pressure_enabled",
            Kind::Gauge,
            "1 when the pressure monitor's timer runs.",
            info.enabled,
        ),
        Family::single(
            "cachemgr_pressure_checks_total",
            Kind::Counter,
            "Pressure checks run since the daemon started.",
            info.checks,
        ),
        Family::single(
            "cachemgr_pressure_memory_used_bytes",
            Kind::Gauge,
            "Memory in use (total minus available; in a cgroup, its usage less reclaimable cache).",
            memory.used_bytes,
        ),
        Family::single(
            "cachemgr_pressure_memory_limit_bytes",
            Kind::Gauge,
            "Memory the daemon may use: the machine's, or its cgroup limit when lower.",
            memory.total_bytes,
        ),
        Family::single(
            "cachemgr_pressure_memory_used_ratio",
            Kind::Gauge,
            "Memory used over that limit.",
            ratio(memory.used_percent),
        ),
        disk_ratio,
        disk_used,
        disk_size,
        high,
        low,
        triggered,
    ];
    if let Some(ms) = info.last_check_unix_ms {
        families.push(Family::single(
            "cachemgr_pressure_last_check_timestamp_seconds",
            Kind::Gauge,
            "Unix time of the last pressure check.",
            ms as f64 / 1000.0,
        ));
    }
    families
}
