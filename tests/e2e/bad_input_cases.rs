//! The cases of the bad-input suite (`bad_input_kinds.rs` throws them): what is sent and
//! what must come back.

use std::os::unix::fs::symlink;

use cachemgr_proto::ErrorKind;
use serde_json::{json, Value};

/// How a case is thrown.
pub enum Probe {
    /// A request body (JSON, sent as MessagePack under id 7) after a handshake.
    Body(Value),
    /// A raw frame payload after a handshake.
    Payload(Vec<u8>),
    /// Raw bytes after a handshake (a prefix and whatever follows).
    Bytes(Vec<u8>),
    /// `cachectl` arguments.
    Cli(Vec<String>),
}

/// What must come back.
pub enum Want {
    /// An error of this kind whose message contains the text.
    Error(ErrorKind, &'static str),
    /// A `cachectl` exit code with this text on stderr; for exit 4 (the daemon said no), the
    /// error kind `cachectl` prints first (`error (<kind>): `).
    Exit(i32, Option<ErrorKind>, &'static str),
}

pub struct Case {
    pub name: &'static str,
    pub probe: Probe,
    pub want: Want,
}

fn body(name: &'static str, value: Value, kind: ErrorKind, text: &'static str) -> Case {
    Case { name, probe: Probe::Body(value), want: Want::Error(kind, text) }
}

/// A usage error: refused by `cachectl` itself (exit 2), before anything is sent.
fn cli(name: &'static str, args: &[&str], code: i32, text: &'static str) -> Case {
    let args = args.iter().map(|a| (*a).to_owned()).collect();
    Case { name, probe: Probe::Cli(args), want: Want::Exit(code, None, text) }
}

/// Refused by the daemon with an error of `kind` (exit 4).
fn refused(name: &'static str, args: &[&str], kind: ErrorKind, text: &'static str) -> Case {
    let args = args.iter().map(|a| (*a).to_owned()).collect();
    Case { name, probe: Probe::Cli(args), want: Want::Exit(4, Some(kind), text) }
}

/// A MessagePack map `{"id": 7, "body": {op: {field: <raw>}}}` whose one field is `raw`
/// (bytes no JSON value can express: invalid UTF-8, huge length claims).
fn with_raw_field(op: &str, field: &str, raw: &[u8]) -> Vec<u8> {
    let mut out = vec![0x82];
    out.extend(rmp_serde::to_vec(&"id").expect("encode"));
    out.push(7);
    out.extend(rmp_serde::to_vec(&"body").expect("encode"));
    out.push(0x81);
    out.extend(rmp_serde::to_vec(&op).expect("encode"));
    out.push(0x82);
    out.extend(rmp_serde::to_vec(&"ns").expect("encode"));
    out.extend(rmp_serde::to_vec(&"web").expect("encode"));
    out.extend(rmp_serde::to_vec(&field).expect("encode"));
    out.extend_from_slice(raw);
    out
}

pub fn socket_cases() -> Vec<Case> {
    use ErrorKind::*;
    let get = |ns: Value, key: Value| json!({"id": 7, "body": {"get": {"ns": ns, "key": key}}});
    let long_ns = "n".repeat(200);
    let long_key = "k".repeat(100_000);
    // 100k nested one-element arrays (fixarray 0x91), then nil.
    let mut nested = vec![0x91; 100_000];
    nested.push(0xc0);
    vec![
        Case {
            name: "payload not MessagePack",
            probe: Probe::Payload(b"\xc1\xc1\xc1".to_vec()),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "empty frame",
            probe: Probe::Payload(Vec::new()),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "integer instead of a request",
            probe: Probe::Payload(rmp_serde::to_vec(&42).unwrap()),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "string instead of a request",
            probe: Probe::Payload(rmp_serde::to_vec(&"get").unwrap()),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "deeply nested arrays",
            probe: Probe::Payload(nested),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "array claiming 4G items",
            probe: Probe::Payload(vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "map claiming 4G entries",
            probe: Probe::Payload(vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0x01]),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "string claiming 4 GB",
            probe: Probe::Payload(vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a']),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "invalid UTF-8 in a key",
            probe: Probe::Payload(with_raw_field("get", "key", &[0xa2, 0xff, 0xfe])),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "bin of invalid UTF-8 as a key",
            probe: Probe::Payload(with_raw_field("get", "key", &[0xc4, 0x02, 0xff, 0xfe])),
            want: Want::Error(Malformed, ""),
        },
        Case {
            name: "length prefix over the cap",
            probe: Probe::Bytes(u32::MAX.to_be_bytes().to_vec()),
            // The length it claimed.
            want: Want::Error(FrameTooLarge, "4294967295"),
        },
        body("request without an id", json!({"body": {"ping": {}}}), Malformed, ""),
        body("id of the wrong type", json!({"id": "seven", "body": {"ping": {}}}), Malformed, ""),
        body("negative id", json!({"id": -1, "body": {"ping": {}}}), Malformed, ""),
        body("request without a body", json!({"id": 7}), Malformed, "body"),
        body(
            "unknown operation",
            json!({"id": 7, "body": {"frobnicate": {}}}),
            Malformed,
            "frobnicate",
        ),
        body(
            "two operations in one body",
            json!({"id": 7, "body": {"ping": {}, "info": {}}}),
            Malformed,
            "",
        ),
        body("operation without arguments map", json!({"id": 7, "body": "ping"}), Malformed, ""),
        body("namespace of the wrong type", get(json!(5), json!("k")), Malformed, ""),
        body("key of the wrong type", get(json!("web"), json!([1, 2])), Malformed, ""),
        body("missing key", json!({"id": 7, "body": {"get": {"ns": "web"}}}), Malformed, "key"),
        body(
            "set without a value",
            json!({"id": 7, "body": {"set": {"ns": "web", "key": "k"}}}),
            Malformed,
            "value",
        ),
        body(
            "ttl that is not a number",
            json!({"id": 7, "body": {"set": {"ns": "web", "key": "k", "value": [1], "ttl_ms": "soon"}}}),
            Malformed,
            "",
        ),
        body(
            "negative ttl",
            json!({"id": 7, "body": {"expire": {"ns": "web", "key": "k", "ttl_ms": -5}}}),
            Malformed,
            "",
        ),
        body(
            "unknown set condition",
            json!({"id": 7, "body": {"set": {"ns": "web", "key": "k", "value": [1], "condition": "sometimes"}}}),
            Malformed,
            "sometimes",
        ),
        body(
            "empty namespace name",
            json!({"id": 7, "body": {"set": {"ns": "", "key": "k", "value": [1]}}}),
            InvalidArgument,
            "namespace",
        ),
        body(
            "namespace name too long",
            json!({"id": 7, "body": {"set": {"ns": long_ns, "key": "k", "value": [1]}}}),
            InvalidArgument,
            "namespace",
        ),
        body(
            "namespace with a slash",
            json!({"id": 7, "body": {"set": {"ns": "../etc", "key": "k", "value": [1]}}}),
            InvalidArgument,
            "namespace",
        ),
        body(
            "namespace with a space",
            json!({"id": 7, "body": {"set": {"ns": "a b", "key": "k", "value": [1]}}}),
            InvalidArgument,
            "namespace",
        ),
        body(
            "key over the key limit",
            json!({"id": 7, "body": {"set": {"ns": "web", "key": long_key, "value": [1]}}}),
            TooLarge,
            "key",
        ),
        body(
            "invalid glob",
            json!({"id": 7, "body": {"keys": {"ns": "web", "pattern": {"syntax": "glob", "pattern": "[a-"}}}}),
            InvalidArgument,
            "[a-",
        ),
        body(
            "invalid regex",
            json!({"id": 7, "body": {"keys": {"ns": "web", "pattern": {"syntax": "regex", "pattern": "(unclosed"}}}}),
            InvalidArgument,
            "(unclosed",
        ),
        body(
            "regex too big",
            json!({"id": 7, "body": {"delete_pattern": {"ns": "web", "pattern": {"syntax": "regex", "pattern": "(a{1000}){1000}"}}}}),
            InvalidArgument,
            "",
        ),
        body(
            "unknown pattern syntax",
            json!({"id": 7, "body": {"keys": {"ns": "web", "pattern": {"syntax": "sql", "pattern": "%"}}}}),
            Malformed,
            "sql",
        ),
        body(
            "second hello",
            json!({"id": 7, "body": {"hello": {"protocol": 1, "client": "again"}}}),
            InvalidArgument,
            "hello",
        ),
        body(
            "dump to a relative path",
            json!({"id": 7, "body": {"dump": {"path": "relative.cmdump"}}}),
            InvalidArgument,
            "relative.cmdump",
        ),
        body(
            "dump into a missing directory",
            json!({"id": 7, "body": {"dump": {"path": "/nonexistent-dir/x.cmdump"}}}),
            Storage,
            "/nonexistent-dir",
        ),
        body(
            "restore of a missing file",
            json!({"id": 7, "body": {"restore": {"path": "/nonexistent-dir/x.cmdump"}}}),
            Storage,
            "/nonexistent-dir/x.cmdump: No such file",
        ),
        body(
            "unknown restore mode",
            json!({"id": 7, "body": {"restore": {"path": "/tmp/x", "mode": "merge-ish"}}}),
            Malformed,
            "merge-ish",
        ),
        body(
            "autodump every 0 ms",
            json!({"id": 7, "body": {"autodump_start": {"path": "/tmp/x.cmdump", "every_ms": 0}}}),
            InvalidArgument,
            "",
        ),
        body(
            "key rotation of an unknown namespace",
            json!({"id": 7, "body": {"key_rotate": {"ns": "never-made"}}}),
            UnknownNamespace,
            "never-made",
        ),
        body(
            "show an unknown app",
            json!({"id": 7, "body": {"app_show": {"name": "no-such-app"}}}),
            InvalidArgument,
            "no-such-app",
        ),
        body(
            "app with an empty name",
            json!({"id": 7, "body": {"app_add": {"name": "", "settings": {"path": "/tmp/x.enc"}}}}),
            InvalidArgument,
            "name",
        ),
        body(
            "app name with a slash",
            json!({"id": 7, "body": {"app_add": {"name": "a/../b", "settings": {"path": "/tmp/x.enc"}}}}),
            InvalidArgument,
            "a/../b",
        ),
        body(
            "app path that is relative",
            json!({"id": 7, "body": {"app_add": {"name": "rel", "settings": {"path": "../../etc/passwd"}}}}),
            InvalidArgument,
            "../../etc/passwd",
        ),
        body(
            "app path that does not exist",
            json!({"id": 7, "body": {"app_add": {"name": "gone", "settings": {"path": "/nonexistent-dir/app.enc"}}}}),
            InvalidArgument,
            "/nonexistent-dir/app.enc",
        ),
        body(
            "app path under /etc",
            json!({"id": 7, "body": {"app_add": {"name": "etc", "settings": {"path": "/etc/passwd", "strategy": "none"}}}}),
            InvalidArgument,
            "/etc",
        ),
        body(
            "app_set with invalid JSON",
            json!({"id": 7, "body": {"app_set": {"name": "plain", "pointer": "/a", "value_json": "{not json"}}}),
            InvalidArgument,
            "JSON",
        ),
        body(
            "app_inspect with a bad pointer",
            json!({"id": 7, "body": {"app_inspect": {"name": "plain", "pointer": "no-slash", "show_values": false}}}),
            InvalidArgument,
            "no-slash",
        ),
        body(
            "dir add of /",
            json!({"id": 7, "body": {"dir_add": {"path": "/", "settings": {}}}}),
            InvalidArgument,
            "/",
        ),
        body(
            "dir add of a relative path",
            json!({"id": 7, "body": {"dir_add": {"path": "cache", "settings": {}}}}),
            InvalidArgument,
            "cache",
        ),
        body(
            "dir add of a missing path",
            json!({"id": 7, "body": {"dir_add": {"path": "/nonexistent-dir/cache", "settings": {}}}}),
            InvalidArgument,
            "/nonexistent-dir/cache",
        ),
        body(
            "dir clear of an unregistered dir",
            json!({"id": 7, "body": {"dir_clear": {"path": "/var/tmp"}}}),
            InvalidArgument,
            "/var/tmp",
        ),
    ]
}

pub fn cli_cases(dir: &std::path::Path) -> Vec<Case> {
    let garbage = dir.join("garbage.cmdump");
    std::fs::write(&garbage, b"not a dump at all").expect("write garbage dump");
    let link = dir.join("passwd-link.enc");
    let _ = symlink("/etc/shadow", &link);
    let (garbage, link) = (garbage.display().to_string(), link.display().to_string());
    let leak: &'static str = Box::leak(garbage.clone().into_boxed_str());
    vec![
        cli("unknown subcommand", &["frobnicate"], 2, "frobnicate"),
        cli(
            "ttl that does not parse",
            &["set", "web", "k", "v", "--ttl", "5 parsecs"],
            2,
            "parsecs",
        ),
        cli("missing arguments", &["set", "web"], 2, "required"),
        cli("mset pair without =", &["mset", "web", "novalue"], 2, "novalue"),
        refused("restore of a garbage file", &["restore", &garbage], ErrorKind::Corrupt, leak),
        refused(
            "app add through a symlink to a system file",
            &["app", "add", "shadow", "--path", &link],
            ErrorKind::InvalidArgument,
            // Refused by the path as named: the daemon never follows the link to see.
            "passwd-link.enc",
        ),
        refused(
            "backup restore of a backup name with ..",
            &["backup", "restore", "plain", "../../etc/passwd"],
            ErrorKind::InvalidArgument,
            "../../etc/passwd",
        ),
        refused(
            "backup restore of an absolute backup path",
            &["backup", "restore", "plain", "/etc/passwd"],
            ErrorKind::InvalidArgument,
            "/etc/passwd",
        ),
        cli(
            "app set with invalid JSON",
            &["app", "set", "plain", "/a", "{not json"],
            2,
            "is not JSON",
        ),
        cli(
            "app inspect with a bad pointer",
            &["app", "inspect", "plain", "--pointer", "no-slash"],
            2,
            "is not a JSON pointer",
        ),
    ]
}
