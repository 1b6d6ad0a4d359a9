//! Canned answers of the mock daemon for the admin, key and dump requests, shaped like the
//! wire fixtures so the CLI's rendering is tested on realistic rows.

use std::time::{SystemTime, UNIX_EPOCH};

use cachemgr_proto::{
    AutodumpInfo, CacheStats, ErrorKind, KeyPattern, LayerStats, NamespaceKey, NamespaceStats,
    NamespaceSummary, Response, ResponseBody, RestoreMode, RotatedNamespace, RotationProgress,
    ServerInfo, PROTOCOL_VERSION,
};

fn error(id: u64, kind: ErrorKind, message: &str) -> Response {
    Response::error(id, kind, message)
}

/// Milliseconds since the epoch, so the auto-dump times read "2m ago" and "in 3m".
pub fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

pub fn info() -> ResponseBody {
    ResponseBody::Info(Box::new(ServerInfo {
        version: "mock".into(),
        protocol: PROTOCOL_VERSION,
        pid: 4711,
        uptime_ms: 2000,
        socket: "/mock.sock".into(),
        config_path: None,
        state_dir: "/state".into(),
        connections: 1,
        notices: vec!["ephemeral key: values on disk are unreadable after the daemon stops".into()],
        key_source: Some("ephemeral".into()),
    }))
}

pub fn stats() -> ResponseBody {
    let memory =
        CacheStats { hits: 90, misses: 10, entries: 5, bytes_limit: 1024, ..Default::default() };
    let disk = CacheStats { hits: 7, misses: 3, entries: 8, corrupt: 2, ..Default::default() };
    let sessions = CacheStats { hits: 97, misses: 3, entries: 8, corrupt: 2, ..Default::default() };
    let archive = CacheStats { entries: 40, ..Default::default() };
    let mut total = CacheStats::default();
    total.accumulate(&archive);
    total.accumulate(&sessions);
    let row = |ns: &str, stats, tier: &str, layers| NamespaceStats {
        ns: ns.into(),
        stats,
        tier: tier.into(),
        layers,
    };
    ResponseBody::Stats {
        total,
        namespaces: vec![
            row("archive", archive, "disk", vec![]),
            row(
                "sessions",
                sessions,
                "memory+disk",
                vec![
                    LayerStats { layer: "memory".into(), stats: memory },
                    LayerStats { layer: "disk".into(), stats: disk },
                ],
            ),
        ],
    }
}

pub fn namespaces() -> ResponseBody {
    let row = |ns: &str, tier: &str, durability: Option<&str>| NamespaceSummary {
        ns: ns.into(),
        eviction: "lru".into(),
        max_bytes: 1 << 20,
        default_ttl_ms: None,
        entries: 1,
        bytes_used: 100,
        configured: true,
        tier: tier.into(),
        durability: durability.map(Into::into),
    };
    ResponseBody::Namespaces {
        namespaces: vec![row("archive", "disk", Some("fsync")), row("web", "memory", None)],
    }
}

pub fn key_status() -> ResponseBody {
    ResponseBody::KeyStatus {
        source: "keyring".into(),
        persistent: true,
        fingerprint: "5e1f:9a02".into(),
        namespaces: vec![
            NamespaceKey { ns: "archive".into(), tier: "disk".into(), key_id: 1, rotation: None },
            NamespaceKey {
                ns: "sessions".into(),
                tier: "memory+disk".into(),
                key_id: 3,
                rotation: Some(RotationProgress {
                    from_key_id: 3,
                    to_key_id: 4,
                    done: 4500,
                    total: 10_000,
                }),
            },
        ],
    }
}

/// The terminal answer of a rotation of these namespaces (each from key 3 to 4).
pub fn rotated(namespaces: &[String], clear: bool) -> ResponseBody {
    let rows = namespaces
        .iter()
        .map(|ns| RotatedNamespace {
            ns: ns.clone(),
            old_key_id: 3,
            new_key_id: 4,
            resealed: if clear { 0 } else { 100 },
            cleared: if clear { 100 } else { 0 },
        })
        .collect();
    ResponseBody::Rotated { namespaces: rows }
}

/// `dump`: a path ending in `full.cmdump` fails like a full disk; others echo the path.
pub fn dump(id: u64, path: String) -> Response {
    if path.ends_with("full.cmdump") {
        return error(id, ErrorKind::Storage, "no space left on device (os error 28)");
    }
    Response { id, body: ResponseBody::Dumped { path, entries: 3, bytes: 4096 } }
}

/// `restore`: a path containing `corrupt` fails verification; a replace loads 5 entries, a
/// merge 3, so tests can tell which mode was sent.
pub fn restore(id: u64, path: &str, ns: Option<String>, mode: RestoreMode) -> Response {
    if path.contains("corrupt") {
        return error(
            id,
            ErrorKind::Corrupt,
            "checksum mismatch at entry 17; nothing was restored",
        );
    }
    let entries = match mode {
        RestoreMode::Merge => 3,
        RestoreMode::Replace => 5,
    };
    let namespaces = vec![ns.unwrap_or_else(|| "sessions".into())];
    Response { id, body: ResponseBody::Restored { entries, skipped_expired: 1, namespaces } }
}

/// The schedule a mock daemon reports, for every `autodump_*` request.
pub fn autodump(
    enabled: bool,
    path: Option<String>,
    every_ms: Option<u64>,
    ns: Option<String>,
    pattern: Option<KeyPattern>,
) -> ResponseBody {
    let now = now_ms();
    ResponseBody::Autodump(Box::new(AutodumpInfo {
        enabled,
        path: path.or_else(|| Some("/srv/d.cmdump".into())),
        every_ms: every_ms.or(Some(600_000)),
        ns,
        pattern,
        last_run_unix_ms: Some(now - 120_000),
        last_result: Some("ok".into()),
        last_ok_unix_ms: Some(now - 120_000),
        next_run_unix_ms: enabled.then_some(now + 180_000),
    }))
}
