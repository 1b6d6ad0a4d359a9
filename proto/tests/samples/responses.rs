//! Samples of the responses of the original protocol, one error per original error kind.

use cachemgr_proto::{
    CacheStats, ErrorKind, NamespaceStats, NamespaceSummary, PeerIdentity, Response, ResponseBody,
    ServerInfo, PROTOCOL_VERSION,
};

use super::{bytes, resp, NOT_UTF8};

fn sessions_stats() -> CacheStats {
    CacheStats {
        hits: 1_523,
        misses: 211,
        sets: 804,
        deletes: 17,
        evictions: 3,
        expired: 96,
        evicted_before_expiry: 1,
        entries: 688,
        bytes_used: 181_250,
        bytes_limit: 67_108_864,
        corrupt: 0,
        degraded: 0,
    }
}

fn thumbnails_stats() -> CacheStats {
    CacheStats {
        hits: 90_112,
        misses: 4_087,
        sets: 12_000,
        deletes: 0,
        evictions: 7_311,
        expired: 0,
        evicted_before_expiry: 7_311,
        entries: 4_689,
        bytes_used: 268_400_000,
        bytes_limit: 268_435_456,
        corrupt: 0,
        degraded: 0,
    }
}

pub fn core() -> Vec<(&'static str, Response)> {
    let mut total = CacheStats::default();
    total.accumulate(&sessions_stats());
    total.accumulate(&thumbnails_stats());

    let mut list = vec![
        (
            "response_welcome",
            resp(
                1,
                ResponseBody::Welcome {
                    protocol: PROTOCOL_VERSION,
                    server_version: "0.1.0".into(),
                    peer: PeerIdentity { uid: 1000, gid: 1000, pid: 48_213 },
                    max_frame_bytes: 16 * 1024 * 1024,
                },
            ),
        ),
        ("response_pong", resp(2, ResponseBody::Pong {})),
        (
            "response_info",
            resp(
                3,
                ResponseBody::Info(Box::new(ServerInfo {
                    version: "0.1.0".into(),
                    protocol: PROTOCOL_VERSION,
                    pid: 4_711,
                    uptime_ms: 86_400_123,
                    socket: "/run/user/1000/cachemgr/cachemgrd.sock".into(),
                    config_path: Some("/home/ada/.config/cachemgr/config.toml".into()),
                    state_dir: "/home/ada/.local/state/cachemgr".into(),
                    connections: 3,
                    notices: vec![],
                    key_source: Some("keyring".into()),
                })),
            ),
        ),
        (
            "response_info_no_config",
            resp(
                3,
                ResponseBody::Info(Box::new(ServerInfo {
                    version: "0.1.0".into(),
                    protocol: PROTOCOL_VERSION,
                    pid: 912,
                    uptime_ms: 1_250,
                    socket: "/run/cachemgr/cachemgrd.sock".into(),
                    config_path: None,
                    state_dir: "/var/lib/cachemgr".into(),
                    connections: 1,
                    notices: vec![],
                    key_source: None,
                })),
            ),
        ),
        (
            "response_stats",
            resp(
                4,
                ResponseBody::Stats {
                    total,
                    namespaces: vec![
                        NamespaceStats {
                            ns: "sessions".into(),
                            stats: sessions_stats(),
                            tier: "memory".into(),
                            layers: vec![],
                        },
                        NamespaceStats {
                            ns: "thumbnails".into(),
                            stats: thumbnails_stats(),
                            tier: "memory".into(),
                            layers: vec![],
                        },
                    ],
                },
            ),
        ),
        (
            "response_namespaces",
            resp(
                6,
                ResponseBody::Namespaces {
                    namespaces: vec![
                        NamespaceSummary {
                            ns: "sessions".into(),
                            eviction: "lru".into(),
                            max_bytes: 67_108_864,
                            default_ttl_ms: Some(1_800_000),
                            entries: 688,
                            bytes_used: 181_250,
                            configured: true,
                            tier: "memory".into(),
                            durability: None,
                        },
                        NamespaceSummary {
                            ns: "thumbnails".into(),
                            eviction: "lfu".into(),
                            max_bytes: 268_435_456,
                            default_ttl_ms: None,
                            entries: 4_689,
                            bytes_used: 268_400_000,
                            configured: false,
                            tier: "memory".into(),
                            durability: None,
                        },
                    ],
                },
            ),
        ),
        ("response_done", resp(29, ResponseBody::Done {})),
        ("response_stored", resp(7, ResponseBody::Stored { stored: true })),
        ("response_not_stored", resp(8, ResponseBody::Stored { stored: false })),
        ("response_value_binary", resp(10, ResponseBody::Value { value: Some(bytes(NOT_UTF8)) })),
        ("response_value_missing", resp(10, ResponseBody::Value { value: None })),
        (
            "response_values",
            resp(
                16,
                ResponseBody::Values {
                    values: vec![Some(bytes(b"Ada")), None, Some(bytes(NOT_UTF8))],
                },
            ),
        ),
        ("response_count", resp(11, ResponseBody::Count { count: 2, bytes: None })),
        (
            "response_count_deleted_bytes",
            resp(11, ResponseBody::Count { count: 2, bytes: Some(96) }),
        ),
        ("response_ttl", resp(13, ResponseBody::Ttl { exists: true, ttl_ms: Some(59_873) })),
        ("response_ttl_no_expiry", resp(13, ResponseBody::Ttl { exists: true, ttl_ms: None })),
        ("response_ttl_missing", resp(13, ResponseBody::Ttl { exists: false, ttl_ms: None })),
        (
            "response_keys_page",
            resp(
                18,
                ResponseBody::Keys {
                    keys: vec!["user:42".into(), "user:43".into()],
                    next_cursor: Some(4_096),
                },
            ),
        ),
        (
            "response_keys_empty_page",
            resp(19, ResponseBody::Keys { keys: vec![], next_cursor: Some(8_192) }),
        ),
        (
            "response_keys_last_page",
            resp(19, ResponseBody::Keys { keys: vec!["user:99".into()], next_cursor: None }),
        ),
        (
            "response_pattern_stats",
            resp(
                21,
                ResponseBody::PatternStats { keys: 1_204, bytes: 73_400_320, with_ttl: 1_204 },
            ),
        ),
        (
            "response_cleared",
            resp(26, ResponseBody::Cleared { entries: 4_689, bytes: 268_400_000 }),
        ),
        (
            "response_reloaded",
            resp(
                28,
                ResponseBody::Reloaded {
                    changes: vec![
                        "sessions: max_bytes 64 MiB -> 128 MiB".into(),
                        "thumbnails: eviction lru -> lfu".into(),
                    ],
                },
            ),
        ),
        ("response_reloaded_unchanged", resp(28, ResponseBody::Reloaded { changes: vec![] })),
    ];

    // One error sample per kind, each under the id a daemon would use for it.
    // The messages are the daemon's own wording (daemon/src/server/connection.rs, handlers/).
    let errors: [(&'static str, u64, ErrorKind, &str); 11] = [
        (
            "response_error_malformed",
            0,
            ErrorKind::Malformed,
            "malformed request: invalid type: integer `7`, expected struct Request",
        ),
        (
            "response_error_frame_too_large",
            0,
            ErrorKind::FrameTooLarge,
            "frame of 16777217 bytes exceeds the maximum frame size of 16777216 bytes",
        ),
        (
            "response_error_handshake_required",
            2,
            ErrorKind::HandshakeRequired,
            "the first request must be hello, got ping",
        ),
        (
            "response_error_unsupported_protocol",
            1,
            ErrorKind::UnsupportedProtocol,
            "client \"cachectl/0.2.0\" speaks protocol 2, but this cachemgrd 0.1.0 speaks protocol 1",
        ),
        ("response_error_timeout", 0, ErrorKind::Timeout, "no hello within 5s; closing"),
        (
            "response_error_invalid_argument",
            19,
            ErrorKind::InvalidArgument,
            "invalid regex \"user:[0-9+\": unclosed character class",
        ),
        (
            "response_error_too_large",
            7,
            ErrorKind::TooLarge,
            "entry of 80000063 bytes (key + value + 56 bytes overhead) exceeds the namespace limit of 67108864 bytes",
        ),
        (
            "response_error_unknown_namespace",
            5,
            ErrorKind::UnknownNamespace,
            "namespace \"sesions\" does not exist",
        ),
        (
            "response_error_permission_denied",
            29,
            ErrorKind::PermissionDenied,
            "uid 1001 may not shut the daemon down",
        ),
        (
            "response_error_unavailable",
            0,
            ErrorKind::Unavailable,
            "too many connections: the daemon serves at most 1024 at once (max_connections)",
        ),
        ("response_error_internal", 10, ErrorKind::Internal, "store task panicked"),
    ];
    for (name, id, kind, message) in errors {
        list.push((name, Response::error(id, kind, message)));
    }
    list
}
