//! Samples of what the encrypted disk layer added: keys and their rotation (with the one
//! non-terminal response, `progress`), dumps, auto-dumps, the tiered stats and namespace
//! rows, operator notices in `info`, and the error kinds `storage`, `corrupt` and `busy`.

use cachemgr_proto::{
    AutodumpInfo, CacheStats, ErrorKind, KeyPattern, LayerStats, NamespaceKey, NamespaceStats,
    NamespaceSummary, Request, RequestBody, Response, ResponseBody, RestoreMode, RotatedNamespace,
    RotationProgress, ServerInfo, PROTOCOL_VERSION,
};

use super::{req, resp};

/// A fixed "now" (2026-11-21T10:00:00Z) the auto-dump times are counted from.
const NOW_MS: u64 = 1_795_255_200_000;

pub fn requests() -> Vec<(&'static str, Request)> {
    vec![
        ("request_key_status", req(30, RequestBody::KeyStatus {})),
        ("request_key_rotate_all", req(31, RequestBody::KeyRotate { ns: None, clear: false })),
        (
            "request_key_rotate_ns_clear",
            req(32, RequestBody::KeyRotate { ns: Some("sessions".into()), clear: true }),
        ),
        (
            "request_dump",
            req(
                33,
                RequestBody::Dump {
                    path: "/home/ada/backups/sessions.cmdump".into(),
                    ns: Some("sessions".into()),
                    pattern: Some(KeyPattern::glob("user:*")),
                },
            ),
        ),
        (
            "request_dump_all",
            req(
                34,
                RequestBody::Dump {
                    path: "/var/backups/cache.cmdump".into(),
                    ns: None,
                    pattern: None,
                },
            ),
        ),
        (
            "request_restore_merge",
            req(
                35,
                RequestBody::Restore {
                    path: "/var/backups/cache.cmdump".into(),
                    ns: None,
                    mode: RestoreMode::Merge,
                },
            ),
        ),
        (
            "request_restore_replace_ns",
            req(
                36,
                RequestBody::Restore {
                    path: "/home/ada/backups/sessions.cmdump".into(),
                    ns: Some("sessions".into()),
                    mode: RestoreMode::Replace,
                },
            ),
        ),
        (
            "request_autodump_start",
            req(
                37,
                RequestBody::AutodumpStart {
                    path: "/var/backups/cache.cmdump".into(),
                    every_ms: 600_000,
                    ns: None,
                    pattern: None,
                },
            ),
        ),
        (
            "request_autodump_start_filtered",
            req(
                38,
                RequestBody::AutodumpStart {
                    path: "/home/ada/backups/sessions.cmdump".into(),
                    every_ms: 3_600_000,
                    ns: Some("sessions".into()),
                    pattern: Some(KeyPattern::regex("^user:[0-9]+$")),
                },
            ),
        ),
        (
            "request_autodump_change",
            req(
                39,
                RequestBody::AutodumpChange {
                    every_ms: Some(300_000),
                    path: Some("/srv/dumps/cache.cmdump".into()),
                },
            ),
        ),
        (
            "request_autodump_change_every",
            req(40, RequestBody::AutodumpChange { every_ms: Some(900_000), path: None }),
        ),
        ("request_autodump_stop", req(41, RequestBody::AutodumpStop {})),
        ("request_autodump_status", req(42, RequestBody::AutodumpStatus {})),
    ]
}

fn layer(layer: &str, stats: CacheStats) -> LayerStats {
    LayerStats { layer: layer.into(), stats }
}

pub fn responses() -> Vec<(&'static str, Response)> {
    let memory = CacheStats {
        hits: 9_000,
        misses: 1_000,
        sets: 2_500,
        evictions: 400,
        evicted_before_expiry: 400,
        entries: 2_000,
        bytes_used: 1_048_576,
        bytes_limit: 1_048_576,
        ..CacheStats::default()
    };
    let disk = CacheStats {
        hits: 700,
        misses: 300,
        sets: 2_500,
        expired: 12,
        entries: 2_488,
        bytes_used: 5_242_880,
        bytes_limit: 1_073_741_824,
        corrupt: 2,
        degraded: 0,
        ..CacheStats::default()
    };
    let sessions = CacheStats {
        hits: 9_700,
        misses: 300,
        sets: 2_500,
        evictions: 0,
        expired: 12,
        entries: 2_488,
        bytes_used: 5_242_880,
        bytes_limit: 1_073_741_824,
        corrupt: 2,
        degraded: 0,
        ..CacheStats::default()
    };
    let archive = CacheStats {
        sets: 40,
        entries: 40,
        bytes_used: 81_920,
        bytes_limit: 1_073_741_824,
        ..CacheStats::default()
    };
    let mut total = CacheStats::default();
    total.accumulate(&archive);
    total.accumulate(&sessions);

    let mut list = vec![
        (
            "response_key_status",
            resp(
                30,
                ResponseBody::KeyStatus {
                    source: "keyring".into(),
                    persistent: true,
                    fingerprint: "5e1f:9a02:c4d7:3b18".into(),
                    namespaces: vec![
                        NamespaceKey {
                            ns: "archive".into(),
                            tier: "disk".into(),
                            key_id: 1,
                            rotation: None,
                        },
                        NamespaceKey {
                            ns: "sessions".into(),
                            tier: "memory+disk".into(),
                            key_id: 3,
                            rotation: Some(RotationProgress {
                                from_key_id: 3,
                                to_key_id: 4,
                                done: 4_500,
                                total: 10_000,
                            }),
                        },
                    ],
                },
            ),
        ),
        (
            "response_key_status_ephemeral",
            resp(
                30,
                ResponseBody::KeyStatus {
                    source: "ephemeral".into(),
                    persistent: false,
                    fingerprint: "0b7e:11c9:8f30:d2a4".into(),
                    namespaces: vec![],
                },
            ),
        ),
        (
            "response_progress",
            resp(
                31,
                ResponseBody::Progress {
                    ns: "sessions".into(),
                    done: 4_500,
                    total: 10_000,
                    unit: None,
                },
            ),
        ),
        (
            "response_rotated",
            resp(
                31,
                ResponseBody::Rotated {
                    namespaces: vec![
                        RotatedNamespace {
                            ns: "archive".into(),
                            old_key_id: 1,
                            new_key_id: 2,
                            resealed: 40,
                            cleared: 0,
                        },
                        RotatedNamespace {
                            ns: "sessions".into(),
                            old_key_id: 3,
                            new_key_id: 4,
                            resealed: 9_998,
                            cleared: 2,
                        },
                    ],
                },
            ),
        ),
        (
            "response_dumped",
            resp(
                33,
                ResponseBody::Dumped {
                    path: "/home/ada/backups/sessions.cmdump".into(),
                    entries: 1_204,
                    bytes: 2_519_040,
                },
            ),
        ),
        (
            "response_restored",
            resp(
                35,
                ResponseBody::Restored {
                    entries: 2_479,
                    skipped_expired: 9,
                    namespaces: vec!["archive".into(), "sessions".into()],
                },
            ),
        ),
        (
            "response_autodump_enabled",
            resp(
                39,
                ResponseBody::Autodump(Box::new(AutodumpInfo {
                    enabled: true,
                    path: Some("/srv/dumps/cache.cmdump".into()),
                    every_ms: Some(300_000),
                    ns: Some("sessions".into()),
                    pattern: Some(KeyPattern::glob("user:*")),
                    last_run_unix_ms: Some(NOW_MS - 120_000),
                    last_result: Some("storage: no space left on device (os error 28)".into()),
                    last_ok_unix_ms: Some(NOW_MS - 420_000),
                    next_run_unix_ms: Some(NOW_MS + 180_000),
                })),
            ),
        ),
        (
            "response_autodump_disabled",
            resp(
                41,
                ResponseBody::Autodump(Box::new(AutodumpInfo {
                    enabled: false,
                    ..AutodumpInfo::default()
                })),
            ),
        ),
        (
            "response_stats_layered",
            resp(
                4,
                ResponseBody::Stats {
                    total,
                    namespaces: vec![
                        NamespaceStats {
                            ns: "archive".into(),
                            stats: archive,
                            tier: "disk".into(),
                            layers: vec![],
                        },
                        NamespaceStats {
                            ns: "sessions".into(),
                            stats: sessions,
                            tier: "memory+disk".into(),
                            layers: vec![layer("memory", memory), layer("disk", disk)],
                        },
                    ],
                },
            ),
        ),
        (
            "response_namespaces_tiers",
            resp(
                6,
                ResponseBody::Namespaces {
                    namespaces: vec![
                        NamespaceSummary {
                            ns: "archive".into(),
                            eviction: "lru".into(),
                            max_bytes: 1_073_741_824,
                            default_ttl_ms: None,
                            entries: 40,
                            bytes_used: 81_920,
                            configured: true,
                            tier: "disk".into(),
                            durability: Some("fsync".into()),
                        },
                        NamespaceSummary {
                            ns: "sessions".into(),
                            eviction: "lfu".into(),
                            max_bytes: 1_048_576,
                            default_ttl_ms: Some(1_800_000),
                            entries: 2_488,
                            bytes_used: 5_242_880,
                            configured: true,
                            tier: "memory+disk".into(),
                            durability: Some("batched".into()),
                        },
                    ],
                },
            ),
        ),
        (
            "response_info_notices",
            resp(
                3,
                ResponseBody::Info(Box::new(ServerInfo {
                    version: "0.1.0".into(),
                    protocol: PROTOCOL_VERSION,
                    pid: 4_711,
                    uptime_ms: 2_000,
                    socket: "/run/user/1000/cachemgr/cachemgrd.sock".into(),
                    config_path: None,
                    state_dir: "/home/ada/.local/state/cachemgr".into(),
                    connections: 1,
                    notices: vec![
                        "the disk database could not be opened (checksum mismatch in page 3); \
                         moved aside to /home/ada/.local/state/cachemgr/disk.db.broken-1795255198"
                            .into(),
                        "ephemeral key: no key source was available, so values on disk are \
                         unreadable after the daemon stops"
                            .into(),
                    ],
                    key_source: Some("ephemeral".into()),
                })),
            ),
        ),
    ];

    let errors: [(&'static str, u64, ErrorKind, &str); 3] = [
        (
            "response_error_storage",
            33,
            ErrorKind::Storage,
            "cannot write /home/ada/backups/sessions.cmdump: no space left on device (os error 28)",
        ),
        (
            "response_error_corrupt",
            35,
            ErrorKind::Corrupt,
            "/var/backups/cache.cmdump failed verification: checksum mismatch at entry 17; nothing was restored",
        ),
        (
            "response_error_busy",
            32,
            ErrorKind::Busy,
            "namespace \"sessions\" is being rotated (key 3 -> 4, 45%); try again when it is done",
        ),
    ];
    for (name, id, kind, message) in errors {
        list.push((name, Response::error(id, kind, message)));
    }
    list
}
