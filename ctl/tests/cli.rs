//! The `cachectl` binary against the mock daemon: output and the exit-code contract.

mod common;

use common::run::{cachectl, text};

#[tokio::test]
async fn exit_codes_follow_the_contract() {
    let mock = common::start();
    let s = &mock.socket;

    let out = cachectl(s, &["get", "ns", "abc"], b"").await;
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "abc".to_owned()));

    let out = cachectl(s, &["get", "ns", "missing"], b"").await;
    assert_eq!(out.status.code(), Some(1));

    let out = cachectl(s, &["clear", "ns"], b"").await;
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(text(&out.stderr), "error (invalid_argument): mock does not support clear\n");

    let out = cachectl(s, &["expire", "ns", "k", "soon"], b"").await;
    assert_eq!(out.status.code(), Some(2));

    let out = cachectl(s, &["mset", "ns", "nokey"], b"").await;
    assert_eq!(out.status.code(), Some(2));

    let missing = mock.socket.with_file_name("nothing.sock");
    let out = cachectl(&missing, &["ping"], b"").await;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("Start it with `cachemgrd`"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn human_and_json_output() {
    let mock = common::start();
    let s = &mock.socket;

    let out = cachectl(s, &["set", "ns", "k"], b"\x00\xffbinary").await;
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "OK\n".to_owned()));

    let out = cachectl(s, &["del", "ns", "a", "b"], b"").await;
    assert_eq!(text(&out.stdout), "2\n");

    let out = cachectl(s, &["--json", "get", "ns", "xyz"], b"").await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json, serde_json::json!({ "found": true, "value": "xyz" }));

    let out = cachectl(s, &["ping"], b"").await;
    assert!(text(&out.stdout).starts_with("PONG"), "{}", text(&out.stdout));
}

#[tokio::test]
async fn bench_reports_each_test() {
    let mock = common::start();
    let s = &mock.socket;
    let args = ["bench", "-c", "3", "-n", "200", "-P", "4", "-t", "set,get,ping"];
    let out = cachectl(s, &args, b"").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("SET: ") && lines[0].contains("requests per second, p50="));

    let out = cachectl(s, &["--json", "bench", "-c", "2", "-n", "50", "-t", "get"], b"").await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json[0]["test"], "get");
    assert_eq!(json[0]["requests"], 50);
    assert_eq!(json[0]["errors"], 0);
}
