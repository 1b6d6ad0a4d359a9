//! Wire fixtures: every request and response shape, pinned byte for byte.
//!
//! Each named sample below is encoded with [`encode_frame`] (4-byte big-endian length prefix +
//! MessagePack with field names) and compared with `tests/fixtures/<name>.bin`. Each fixture file
//! is also decoded back and compared with its sample, so a change of the wire shape — a renamed
//! field, a new default, a different enum encoding — fails here instead of breaking clients
//! written against `docs/protocol.md` (whose worked example quotes some of these files).
//!
//! To (re)generate the files after an intended wire change (which also needs a
//! `PROTOCOL_VERSION` bump when it is incompatible):
//!
//! ```text
//! CACHEMGR_UPDATE_FIXTURES=1 cargo test -p cachemgr-proto --test fixtures
//! ```

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use cachemgr_proto::codec::LENGTH_PREFIX_BYTES;
use cachemgr_proto::{
    decode_request, encode_frame, CacheStats, Entry, ErrorKind, KeyPattern, MessageCodec,
    NamespaceStats, NamespaceSummary, PeerIdentity, Request, RequestBody, Response, ResponseBody,
    ServerInfo, SetCondition, DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_bytes::ByteBuf;
use tokio_util::codec::Decoder;

const UPDATE_ENV: &str = "CACHEMGR_UPDATE_FIXTURES";

/// Bytes that are not UTF-8 (a lone continuation byte, an invalid lead, a truncated sequence)
/// so that a client decoding values as text instead of `bin` gets caught.
const NOT_UTF8: &[u8] = &[0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0xe2, 0x82];

fn bytes(b: &[u8]) -> ByteBuf {
    ByteBuf::from(b.to_vec())
}

fn req(id: u64, body: RequestBody) -> Request {
    Request { id, body }
}

fn resp(id: u64, body: ResponseBody) -> Response {
    Response { id, body }
}

/// Every `RequestBody` variant, by the wire name. The exhaustive match makes a new variant a
/// compile error here: add it to `ALL_REQUESTS` and give it a sample in `requests()`.
fn request_variant(body: &RequestBody) -> &'static str {
    match body {
        RequestBody::Hello { .. } => "hello",
        RequestBody::Ping {} => "ping",
        RequestBody::Info {} => "info",
        RequestBody::Stats { .. } => "stats",
        RequestBody::ListNamespaces {} => "list_namespaces",
        RequestBody::Set { .. } => "set",
        RequestBody::Get { .. } => "get",
        RequestBody::Delete { .. } => "delete",
        RequestBody::Exists { .. } => "exists",
        RequestBody::Ttl { .. } => "ttl",
        RequestBody::Expire { .. } => "expire",
        RequestBody::GetMany { .. } => "get_many",
        RequestBody::SetMany { .. } => "set_many",
        RequestBody::Keys { .. } => "keys",
        RequestBody::PatternStats { .. } => "pattern_stats",
        RequestBody::DeletePattern { .. } => "delete_pattern",
        RequestBody::ExpirePattern { .. } => "expire_pattern",
        RequestBody::Clear { .. } => "clear",
        RequestBody::ClearAll {} => "clear_all",
        RequestBody::Reload {} => "reload",
        RequestBody::Shutdown {} => "shutdown",
    }
}

const ALL_REQUESTS: &[&str] = &[
    "hello",
    "ping",
    "info",
    "stats",
    "list_namespaces",
    "set",
    "get",
    "delete",
    "exists",
    "ttl",
    "expire",
    "get_many",
    "set_many",
    "keys",
    "pattern_stats",
    "delete_pattern",
    "expire_pattern",
    "clear",
    "clear_all",
    "reload",
    "shutdown",
];

/// Same as [`request_variant`], for responses.
fn response_variant(body: &ResponseBody) -> &'static str {
    match body {
        ResponseBody::Welcome { .. } => "welcome",
        ResponseBody::Pong {} => "pong",
        ResponseBody::Info(_) => "info",
        ResponseBody::Stats { .. } => "stats",
        ResponseBody::Namespaces { .. } => "namespaces",
        ResponseBody::Done {} => "done",
        ResponseBody::Stored { .. } => "stored",
        ResponseBody::Value { .. } => "value",
        ResponseBody::Values { .. } => "values",
        ResponseBody::Count { .. } => "count",
        ResponseBody::Ttl { .. } => "ttl",
        ResponseBody::Keys { .. } => "keys",
        ResponseBody::PatternStats { .. } => "pattern_stats",
        ResponseBody::Cleared { .. } => "cleared",
        ResponseBody::Reloaded { .. } => "reloaded",
        ResponseBody::Error { .. } => "error",
    }
}

const ALL_RESPONSES: &[&str] = &[
    "welcome",
    "pong",
    "info",
    "stats",
    "namespaces",
    "done",
    "stored",
    "value",
    "values",
    "count",
    "ttl",
    "keys",
    "pattern_stats",
    "cleared",
    "reloaded",
    "error",
];

/// Every error kind; exhaustive for the same reason as [`request_variant`].
fn error_kind_covered(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Malformed
        | ErrorKind::FrameTooLarge
        | ErrorKind::HandshakeRequired
        | ErrorKind::UnsupportedProtocol
        | ErrorKind::Timeout
        | ErrorKind::InvalidArgument
        | ErrorKind::TooLarge
        | ErrorKind::UnknownNamespace
        | ErrorKind::PermissionDenied
        | ErrorKind::Unavailable
        | ErrorKind::Internal => kind.as_str(),
    }
}

const ALL_ERROR_KINDS: &[&str] = &[
    "malformed",
    "frame_too_large",
    "handshake_required",
    "unsupported_protocol",
    "timeout",
    "invalid_argument",
    "too_large",
    "unknown_namespace",
    "permission_denied",
    "unavailable",
    "internal",
];

fn requests() -> Vec<(&'static str, Request)> {
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
    }
}

fn responses() -> Vec<(&'static str, Response)> {
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
                ResponseBody::Info(ServerInfo {
                    version: "0.1.0".into(),
                    protocol: PROTOCOL_VERSION,
                    pid: 4_711,
                    uptime_ms: 86_400_123,
                    socket: "/run/user/1000/cachemgr/cachemgrd.sock".into(),
                    config_path: Some("/home/ada/.config/cachemgr/config.toml".into()),
                    state_dir: "/home/ada/.local/state/cachemgr".into(),
                    connections: 3,
                }),
            ),
        ),
        (
            "response_info_no_config",
            resp(
                3,
                ResponseBody::Info(ServerInfo {
                    version: "0.1.0".into(),
                    protocol: PROTOCOL_VERSION,
                    pid: 912,
                    uptime_ms: 1_250,
                    socket: "/run/cachemgr/cachemgrd.sock".into(),
                    config_path: None,
                    state_dir: "/var/lib/cachemgr".into(),
                    connections: 1,
                }),
            ),
        ),
        (
            "response_stats",
            resp(
                4,
                ResponseBody::Stats {
                    total,
                    namespaces: vec![
                        NamespaceStats { ns: "sessions".into(), stats: sessions_stats() },
                        NamespaceStats { ns: "thumbnails".into(), stats: thumbnails_stats() },
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
                        },
                        NamespaceSummary {
                            ns: "thumbnails".into(),
                            eviction: "lfu".into(),
                            max_bytes: 268_435_456,
                            default_ttl_ms: None,
                            entries: 4_689,
                            bytes_used: 268_400_000,
                            configured: false,
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
        ("response_count", resp(11, ResponseBody::Count { count: 2 })),
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

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

fn updating() -> bool {
    std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1")
}

/// Encodes `sample`, compares it with (or writes) its fixture, and decodes the fixture back.
/// Problems are pushed to `failures` so that one run reports every broken fixture.
fn check<T>(name: &str, sample: &T, failures: &mut Vec<String>) -> Option<Vec<u8>>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut frame = BytesMut::new();
    encode_frame(sample, &mut frame, DEFAULT_MAX_FRAME_BYTES)
        .unwrap_or_else(|err| panic!("{name}: cannot encode the sample: {err}"));
    let path = fixture_dir().join(format!("{name}.bin"));

    if updating() {
        let unchanged = fs::read(&path).is_ok_and(|old| old == frame[..]);
        if !unchanged {
            fs::write(&path, &frame)
                .unwrap_or_else(|err| panic!("{name}: cannot write {}: {err}", path.display()));
            // Straight to stderr, past the test harness's capture, so the update is visible.
            let _ = writeln!(
                std::io::stderr(),
                "{UPDATE_ENV}=1: wrote {} ({} bytes)",
                path.display(),
                frame.len()
            );
        }
    }

    let fixture = match fs::read(&path) {
        Ok(fixture) => fixture,
        Err(err) => {
            failures.push(format!(
                "{name}: cannot read {} ({err}); generate it with \
                 `{UPDATE_ENV}=1 cargo test -p cachemgr-proto --test fixtures` and check it in",
                path.display()
            ));
            return None;
        }
    };

    if fixture != frame[..] {
        failures.push(format!(
            "{name}: the encoding differs from {}\n  fixture: {}\n  now:     {}\n  \
             if the wire change is intended (and PROTOCOL_VERSION bumped where incompatible), \
             regenerate with `{UPDATE_ENV}=1 cargo test -p cachemgr-proto --test fixtures`",
            path.display(),
            hex(&fixture),
            hex(&frame),
        ));
    }

    // The fixture itself must be a well-formed frame that decodes to the sample.
    if fixture.len() < LENGTH_PREFIX_BYTES {
        failures.push(format!("{name}: fixture shorter than the length prefix"));
        return None;
    }
    let (prefix, body) = fixture.split_at(LENGTH_PREFIX_BYTES);
    let announced = u32::from_be_bytes(prefix.try_into().unwrap()) as usize;
    if announced != body.len() {
        failures.push(format!(
            "{name}: length prefix says {announced} bytes but {} follow it",
            body.len()
        ));
    }
    match rmp_serde::from_slice::<T>(body) {
        Ok(decoded) if decoded == *sample => {}
        Ok(decoded) => failures.push(format!(
            "{name}: fixture decodes to\n  {decoded:?}\nnot the sample\n  {sample:?}"
        )),
        Err(err) => failures.push(format!("{name}: fixture does not decode: {err}")),
    }
    Some(fixture)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} fixture problem(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn samples_cover_every_variant() {
    let seen: BTreeSet<_> = requests().iter().map(|(_, r)| request_variant(&r.body)).collect();
    let all: BTreeSet<_> = ALL_REQUESTS.iter().copied().collect();
    assert_eq!(seen, all, "every RequestBody variant needs a sample (and only those exist)");

    let responses = responses();
    let seen: BTreeSet<_> = responses.iter().map(|(_, r)| response_variant(&r.body)).collect();
    let all: BTreeSet<_> = ALL_RESPONSES.iter().copied().collect();
    assert_eq!(seen, all, "every ResponseBody variant needs a sample (and only those exist)");

    let kinds: BTreeSet<_> = responses
        .iter()
        .filter_map(|(_, r)| match r.body {
            ResponseBody::Error { kind, .. } => Some(error_kind_covered(kind)),
            _ => None,
        })
        .collect();
    let all: BTreeSet<_> = ALL_ERROR_KINDS.iter().copied().collect();
    assert_eq!(kinds, all, "every ErrorKind needs an error sample");

    // The request name used in logs is the wire name.
    for (name, r) in requests() {
        assert_eq!(r.body.name(), request_variant(&r.body), "{name}");
    }
}

#[test]
fn sample_names_are_unique_and_match_the_fixture_files() {
    let mut names = BTreeSet::new();
    for name in requests().iter().map(|(n, _)| *n).chain(responses().iter().map(|(n, _)| *n)) {
        assert!(names.insert(name), "duplicate sample name {name}");
    }
    let dir = fixture_dir();
    let Ok(listing) = fs::read_dir(&dir) else {
        return; // reported per fixture by the other tests
    };
    let orphans: Vec<String> = listing
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".bin") && !names.contains(f.trim_end_matches(".bin")))
        .collect();
    assert!(
        orphans.is_empty(),
        "fixture files without a sample in tests/fixtures.rs (delete them or add the sample): {orphans:?}"
    );
}

#[test]
fn request_fixtures() {
    if updating() {
        fs::create_dir_all(fixture_dir()).unwrap();
    }
    let mut failures = Vec::new();
    for (name, sample) in requests() {
        let Some(fixture) = check(name, &sample, &mut failures) else { continue };
        // The daemon's own path: the framed bytes through decode_request, unchanged.
        match decode_request(&fixture[LENGTH_PREFIX_BYTES..]) {
            Ok(decoded) if decoded == sample => {}
            other => failures.push(format!("{name}: decode_request gave {other:?}")),
        }
    }
    report(failures);
}

#[test]
fn response_fixtures() {
    if updating() {
        fs::create_dir_all(fixture_dir()).unwrap();
    }
    let mut failures = Vec::new();
    let mut stream = BytesMut::new();
    let mut expected = Vec::new();
    for (name, sample) in responses() {
        if let Some(fixture) = check(name, &sample, &mut failures) {
            stream.extend_from_slice(&fixture);
            expected.push((name, sample));
        }
    }
    // A client's path: all fixtures back to back through the client codec, in order.
    let mut codec = MessageCodec::<Request, Response>::new(DEFAULT_MAX_FRAME_BYTES);
    for (name, sample) in expected {
        match codec.decode(&mut stream) {
            Ok(Some(decoded)) if decoded == sample => {}
            other => failures.push(format!("{name}: the client codec gave {other:?}")),
        }
    }
    assert!(stream.is_empty(), "{} stray bytes after the last response", stream.len());
    report(failures);
}

/// `docs/protocol.md` quotes some fixtures as annotated hex dumps, each introduced by a
/// `<!-- fixture: NAME -->` line and followed by a code block whose lines are hex byte pairs
/// with an optional `# comment`. They must stay equal to the fixture files.
#[test]
fn protocol_doc_quotes_the_fixtures_exactly() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let doc = fs::read_to_string(&doc_path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", doc_path.display()));
    let mut lines = doc.lines();
    let mut quoted = 0;
    let mut failures = Vec::new();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- fixture:")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(str::trim)
        else {
            continue;
        };
        assert!(
            lines.next().is_some_and(|fence| fence.starts_with("```")),
            "{name}: a code block must follow the marker"
        );
        let mut bytes = Vec::new();
        for line in lines.by_ref().take_while(|l| !l.starts_with("```")) {
            let data = line.split('#').next().unwrap_or_default();
            for pair in data.split_whitespace() {
                match u8::from_str_radix(pair, 16) {
                    Ok(b) if pair.len() == 2 => bytes.push(b),
                    _ => panic!("{name}: `{pair}` is not a hex byte in the doc's dump"),
                }
            }
        }
        let path = fixture_dir().join(format!("{name}.bin"));
        match fs::read(&path) {
            Ok(fixture) if fixture == bytes => {}
            Ok(fixture) => failures.push(format!(
                "{name}: the doc shows\n  {}\nbut the fixture is\n  {}",
                hex(&bytes),
                hex(&fixture)
            )),
            Err(err) => failures.push(format!("{name}: {}: {err}", path.display())),
        }
        quoted += 1;
    }
    assert!(quoted > 0, "docs/protocol.md quotes no fixture");
    assert!(failures.is_empty(), "docs/protocol.md is out of date:\n{}", failures.join("\n"));
}
