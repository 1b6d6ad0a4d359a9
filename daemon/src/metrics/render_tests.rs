//! The renderer on a hand-made snapshot: names, labels, values and what is left out.

use cachemgr_proto::{
    AppHealth, AppInfo, AppSettings, AppStrategy, CacheStats, DaemonStatus, DiskPressure,
    DiskUsage, JobStatus, LayerStats, MemoryPressure, NamespaceStats, PressureInfo, RedisStatus,
    ServerInfo, TriggerState,
};

use super::*;
use crate::metrics::services::HEALTH;

const NOW_MS: u64 = 1_795_255_200_000;

fn app(name: &str, last_good: Option<u64>, health: AppHealth) -> AppInfo {
    AppInfo {
        name: name.into(),
        safe_name: name.into(),
        path: "/home/a/app.enc".into(),
        service: "svc".into(),
        app_id: "id".into(),
        strategy: AppStrategy::None,
        settings: AppSettings::default(),
        backup_dir: "/var/lib/cachemgr/backups/x".into(),
        builtin: false,
        owner_uid: 1000,
        health,
        health_detail: None,
        last_good_backup_unix_ms: last_good,
        backup_count: 4,
        next_backup_unix_ms: None,
        last_verify_unix_ms: None,
        last_verify_bad: 1,
        bad_reads: 2,
        last_error: Some("disk full".into()),
    }
}

fn snapshot() -> Snapshot {
    let memory =
        CacheStats { hits: 5, misses: 3, bytes_used: 100, bytes_limit: 1000, ..Default::default() };
    let disk = CacheStats { hits: 2, misses: 1, ..Default::default() };
    let web = CacheStats { hits: 7, misses: 1, sets: 4, degraded: 9, ..memory };
    Snapshot {
        info: Some(ServerInfo {
            version: "0.1.0".into(),
            protocol: 1,
            pid: 7,
            uptime_ms: 1500,
            socket: "/run/x.sock".into(),
            config_path: None,
            state_dir: "/var/lib/cachemgr".into(),
            connections: 2,
            notices: vec!["ephemeral key".into()],
            key_source: None,
        }),
        status: Some(DaemonStatus {
            healthy: false,
            apps: 2,
            problems: vec![],
            notices: vec![],
            redis: Some(RedisStatus {
                url: "redis://h".into(),
                breaker: "half-open".into(),
                consecutive_failures: 3,
                since_ms: 2500,
                times_opened: 4,
                last_error: None,
                invalidations_live: false,
                degraded: 11,
                refused: 6,
            }),
            jobs: vec![JobStatus {
                name: "pressure-monitor".into(),
                running: false,
                restarts: 2,
                last_failure: Some("it panicked".into()),
            }],
        }),
        namespaces: vec![
            NamespaceStats {
                ns: "web".into(),
                stats: web,
                tier: "memory+disk".into(),
                layers: vec![
                    LayerStats { layer: "memory".into(), stats: memory },
                    LayerStats { layer: "disk".into(), stats: disk },
                ],
            },
            NamespaceStats {
                ns: "user:alice".into(),
                stats: CacheStats { hits: 1, entries: 3, ..Default::default() },
                tier: "memory".into(),
                layers: vec![],
            },
        ],
        apps: Some(vec![
            app("muse", Some(NOW_MS - 90_000), AppHealth::Ok),
            app("say \"hi\"\\\n", None, AppHealth::Stale),
        ]),
        pressure: Some(PressureInfo {
            enabled: true,
            check_every_ms: 5000,
            last_check_unix_ms: Some(NOW_MS),
            checks: 12,
            memory: MemoryPressure {
                used_bytes: 3 << 30,
                total_bytes: 4 << 30,
                used_percent: 75.0,
                cgroup_limit_bytes: None,
                high: 85.0,
                low: 75.0,
                state: TriggerState::Triggered,
            },
            disk: DiskPressure {
                filesystems: vec![DiskUsage {
                    mount: "/".into(),
                    paths: vec!["/var/lib/cachemgr".into(), "/srv/cache".into()],
                    used_bytes: 60,
                    total_bytes: 100,
                    used_percent: 60.0,
                }],
                high: 90.0,
                low: 80.0,
                state: TriggerState::Armed,
            },
            actions: vec![],
        }),
        memory_limit_bytes: 512 << 20,
        now_unix_ms: NOW_MS,
        subscribers: 3,
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn namespaces_per_layer_and_whole() {
    let text = render(&snapshot());
    let lines = lines(&text);
    for expected in [
        "cachemgr_hits_total{namespace=\"web\",layer=\"memory\"} 5",
        "cachemgr_hits_total{namespace=\"web\",layer=\"disk\"} 2",
        // A single-layer namespace: its one layer is its tier.
        "cachemgr_hits_total{namespace=\"user:alice\",layer=\"memory\"} 1",
        "cachemgr_namespace_hits_total{namespace=\"web\"} 7",
        "cachemgr_namespace_misses_total{namespace=\"web\"} 1",
        "cachemgr_misses_total{namespace=\"web\",layer=\"memory\"} 3",
        "cachemgr_used_bytes{namespace=\"web\",layer=\"memory\"} 100",
        "cachemgr_limit_bytes{namespace=\"web\",layer=\"memory\"} 1000",
        "cachemgr_namespace_entries{namespace=\"user:alice\"} 3",
        "cachemgr_namespace_degraded_total{namespace=\"web\"} 9",
        "cachemgr_namespace_info{namespace=\"web\",tier=\"memory+disk\"} 1",
        "# TYPE cachemgr_hits_total counter",
        "# TYPE cachemgr_entries gauge",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn daemon_redis_and_pressure() {
    let text = render(&snapshot());
    let lines = lines(&text);
    for expected in [
        "cachemgr_build_info{version=\"0.1.0\",protocol=\"1\"} 1",
        "cachemgr_uptime_seconds 1.5",
        "cachemgr_connections 2",
        "cachemgr_notices 1",
        "cachemgr_healthy 0",
        "cachemgr_job_up{job=\"pressure-monitor\"} 0",
        "cachemgr_job_restarts_total{job=\"pressure-monitor\"} 2",
        "cachemgr_memory_limit_bytes 536870912",
        "cachemgr_subscribers 3",
        "cachemgr_redis_up 0",
        "cachemgr_redis_breaker_state{state=\"half-open\"} 1",
        "cachemgr_redis_breaker_state{state=\"closed\"} 0",
        "cachemgr_redis_breaker_state_seconds 2.5",
        "cachemgr_redis_breaker_opened_total 4",
        "cachemgr_redis_degraded_total 11",
        "cachemgr_redis_refused_total 6",
        "cachemgr_pressure_memory_used_ratio 0.75",
        "cachemgr_pressure_memory_limit_bytes 4294967296",
        "cachemgr_pressure_disk_used_ratio{path=\"/srv/cache\",mount=\"/\"} 0.6",
        "cachemgr_pressure_disk_size_bytes{mount=\"/\"} 100",
        "cachemgr_pressure_triggered{resource=\"memory\"} 1",
        "cachemgr_pressure_triggered{resource=\"disk\"} 0",
        "cachemgr_pressure_high_ratio{resource=\"disk\"} 0.9",
        "cachemgr_pressure_checks_total 12",
        "cachemgr_pressure_last_check_timestamp_seconds 1795255200",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn apps_with_ages_states_and_escaped_names() {
    let text = render(&snapshot());
    let lines = lines(&text);
    let odd = "say \\\"hi\\\"\\\\\\n";
    for expected in [
        "cachemgr_app_last_backup_age_seconds{app=\"muse\"} 90".to_owned(),
        format!("cachemgr_app_last_backup_age_seconds{{app=\"{odd}\"}} +Inf"),
        "cachemgr_app_last_backup_timestamp_seconds{app=\"muse\"} 1795255110".to_owned(),
        "cachemgr_app_backups{app=\"muse\"} 4".to_owned(),
        "cachemgr_app_health{app=\"muse\",state=\"ok\"} 1".to_owned(),
        "cachemgr_app_health{app=\"muse\",state=\"stale\"} 0".to_owned(),
        format!("cachemgr_app_health{{app=\"{odd}\",state=\"stale\"}} 1"),
        "cachemgr_app_bad_backups{app=\"muse\"} 1".to_owned(),
        "cachemgr_app_bad_reads_total{app=\"muse\"} 2".to_owned(),
        "cachemgr_app_backup_failing{app=\"muse\"} 1".to_owned(),
    ] {
        assert!(lines.contains(&expected.as_str()), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains(&format!("timestamp_seconds{{app=\"{odd}\"}}")), "{text}");
    // One line per sample: the escaped newline never breaks a line.
    assert!(lines.iter().all(|l| l.starts_with("cachemgr_") || l.starts_with("# ")), "{text}");
}

#[test]
fn what_is_off_is_left_out() {
    let snapshot = Snapshot { memory_limit_bytes: 1, now_unix_ms: NOW_MS, ..Snapshot::default() };
    let text = render(&snapshot);
    assert_eq!(
        text,
        "# HELP cachemgr_subscribers Change subscribers (subscribe, cachectl watch) connected now.\n\
         # TYPE cachemgr_subscribers gauge\n\
         cachemgr_subscribers 0\n\
         # HELP cachemgr_memory_limit_bytes The cap on the bytes of every namespace together (memory.max_bytes).\n\
         # TYPE cachemgr_memory_limit_bytes gauge\n\
         cachemgr_memory_limit_bytes 1\n"
    );
}

#[test]
fn every_health_state_is_listed() {
    // Exhaustive: a new state fails to compile here until `HEALTH` lists it.
    for state in HEALTH {
        match state {
            AppHealth::Ok
            | AppHealth::Stale
            | AppHealth::FileMissing
            | AppHealth::FileUnreadable
            | AppHealth::KeyMissing
            | AppHealth::BackupDamaged => {}
        }
    }
    let names: std::collections::BTreeSet<_> = HEALTH.iter().map(|h| h.as_str()).collect();
    assert_eq!(names.len(), HEALTH.len());
}
