//! Samples of the requests of the original protocol (key/value, pattern and admin).

use cachemgr_proto::{Entry, KeyPattern, Request, RequestBody, SetCondition, PROTOCOL_VERSION};

use super::{bytes, req, NOT_UTF8};

pub fn core() -> Vec<(&'static str, Request)> {
    vec![
        (
            "request_hello",
            req(
                1,
                RequestBody::Hello { protocol: PROTOCOL_VERSION, client: "cachectl/0.1.0".into() },
            ),
        ),
        ("request_ping", req(2, RequestBody::Ping {})),
        ("request_info", req(3, RequestBody::Info {})),
        ("request_stats_all", req(4, RequestBody::Stats { ns: None })),
        ("request_stats_ns", req(5, RequestBody::Stats { ns: Some("sessions".into()) })),
        ("request_list_namespaces", req(6, RequestBody::ListNamespaces {})),
        (
            "request_set",
            req(
                7,
                RequestBody::Set {
                    ns: "sessions".into(),
                    key: "user:42".into(),
                    value: bytes(b"Ada"),
                    ttl_ms: Some(60_000),
                    condition: SetCondition::Always,
                },
            ),
        ),
        (
            "request_set_binary_if_absent",
            req(
                8,
                RequestBody::Set {
                    ns: "thumbnails".into(),
                    key: "img/2024/06/cat.png@64x64".into(),
                    value: bytes(NOT_UTF8),
                    ttl_ms: None,
                    condition: SetCondition::IfAbsent,
                },
            ),
        ),
        (
            "request_set_no_expiry_if_present",
            req(
                9,
                RequestBody::Set {
                    ns: "config".into(),
                    key: "feature-flags".into(),
                    value: bytes(br#"{"dark_mode":true}"#),
                    ttl_ms: Some(0),
                    condition: SetCondition::IfPresent,
                },
            ),
        ),
        ("request_get", req(10, RequestBody::Get { ns: "sessions".into(), key: "user:42".into() })),
        (
            "request_delete",
            req(
                11,
                RequestBody::Delete {
                    ns: "sessions".into(),
                    keys: vec!["user:42".into(), "user:43".into(), "user:44".into()],
                },
            ),
        ),
        (
            "request_exists",
            req(12, RequestBody::Exists { ns: "sessions".into(), key: "user:42".into() }),
        ),
        ("request_ttl", req(13, RequestBody::Ttl { ns: "sessions".into(), key: "user:42".into() })),
        (
            "request_expire",
            req(
                14,
                RequestBody::Expire {
                    ns: "sessions".into(),
                    key: "user:42".into(),
                    ttl_ms: Some(3_600_000),
                },
            ),
        ),
        (
            "request_expire_persist",
            req(
                15,
                RequestBody::Expire { ns: "sessions".into(), key: "user:42".into(), ttl_ms: None },
            ),
        ),
        (
            "request_get_many",
            req(
                16,
                RequestBody::GetMany {
                    ns: "sessions".into(),
                    keys: vec!["user:42".into(), "user:missing".into(), "user:43".into()],
                },
            ),
        ),
        (
            "request_set_many",
            req(
                17,
                RequestBody::SetMany {
                    ns: "sessions".into(),
                    entries: vec![
                        Entry { key: "user:42".into(), value: bytes(b"Ada"), ttl_ms: Some(60_000) },
                        Entry { key: "user:43".into(), value: bytes(b"Grace"), ttl_ms: None },
                        Entry {
                            key: "blob:\u{e9}t\u{e9}".into(),
                            value: bytes(NOT_UTF8),
                            ttl_ms: Some(0),
                        },
                    ],
                },
            ),
        ),
        (
            "request_keys_glob_first_page",
            req(
                18,
                RequestBody::Keys {
                    ns: "sessions".into(),
                    pattern: Some(KeyPattern::glob("user:*")),
                    cursor: 0,
                    count: 100,
                },
            ),
        ),
        (
            "request_keys_regex_next_page",
            req(
                19,
                RequestBody::Keys {
                    ns: "sessions".into(),
                    pattern: Some(KeyPattern::regex(r"^user:[0-9]+$")),
                    cursor: 4_096,
                    count: 50,
                },
            ),
        ),
        (
            "request_keys_all_defaults",
            req(
                20,
                RequestBody::Keys { ns: "sessions".into(), pattern: None, cursor: 0, count: 1000 },
            ),
        ),
        (
            "request_pattern_stats",
            req(
                21,
                RequestBody::PatternStats {
                    ns: "thumbnails".into(),
                    pattern: Some(KeyPattern::glob("img/2024/*")),
                },
            ),
        ),
        (
            "request_pattern_stats_all",
            req(22, RequestBody::PatternStats { ns: "thumbnails".into(), pattern: None }),
        ),
        (
            "request_delete_pattern",
            req(
                23,
                RequestBody::DeletePattern {
                    ns: "sessions".into(),
                    pattern: KeyPattern::glob(r"tmp\*[!0-9]?"),
                },
            ),
        ),
        (
            "request_expire_pattern",
            req(
                24,
                RequestBody::ExpirePattern {
                    ns: "sessions".into(),
                    pattern: KeyPattern::glob("user:*"),
                    ttl_ms: Some(900_000),
                },
            ),
        ),
        (
            "request_expire_pattern_persist",
            req(
                25,
                RequestBody::ExpirePattern {
                    ns: "sessions".into(),
                    pattern: KeyPattern::regex("^admin:"),
                    ttl_ms: None,
                },
            ),
        ),
        ("request_clear", req(26, RequestBody::Clear { ns: "thumbnails".into() })),
        ("request_clear_all", req(27, RequestBody::ClearAll {})),
        ("request_reload", req(28, RequestBody::Reload {})),
        ("request_shutdown", req(29, RequestBody::Shutdown {})),
    ]
}
