//! The bad-input suite: many distinct kinds of bad input thrown at one running daemon,
//! through the socket (raw frames and request bodies) and through `cachectl`. Each must get
//! a clear error naming what was wrong; after each, another client still gets correct data.
//! All mismatches are collected and reported together.

use cachemgr_e2e::{frame, Daemon, RawConn};
use cachemgr_proto::{Response, ResponseBody};

use crate::bad_input_cases::{cli_cases, socket_cases, Case, Probe, Want};

fn check(daemon: &Daemon, case: &Case) -> Result<(), String> {
    let got = match &case.probe {
        Probe::Cli(args) => {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = daemon.ctl(&args);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            let Want::Exit(code, kind, text) = case.want else { return Err("wrong want".into()) };
            let prefix = kind.map(|kind| format!("error ({kind}): ")).unwrap_or_default();
            if out.status.code() != Some(code) || !err.starts_with(&prefix) || !err.contains(text) {
                return Err(format!(
                    "exit {:?} `{}`, want {code} with `{prefix}` and `{text}`",
                    out.status.code(),
                    err.trim()
                ));
            }
            return Ok(());
        }
        probe => {
            let mut conn: RawConn = daemon.raw();
            conn.handshake();
            match probe {
                Probe::Body(value) => {
                    conn.write(&frame(&rmp_serde::to_vec_named(value).expect("encode")))
                }
                Probe::Payload(bytes) => conn.write(&frame(bytes)),
                Probe::Bytes(bytes) => conn.write(bytes),
                Probe::Cli(_) => unreachable!(),
            }
            conn.recv()
        }
    };
    let Want::Error(kind, text) = case.want else { return Err("wrong want".into()) };
    match got {
        Some(Response { body: ResponseBody::Error { kind: got, message }, .. }) => {
            if got != kind || !message.contains(text) {
                return Err(format!("{got} `{message}`, want {kind} with `{text}`"));
            }
            if message.trim().is_empty() {
                return Err("empty error message".into());
            }
            Ok(())
        }
        other => Err(format!("{other:?}, want a {kind} error")),
    }
}

#[test]
fn every_kind_of_bad_input_gets_a_clear_error_and_the_daemon_keeps_serving() {
    let apps = tempfile::tempdir().expect("tempdir");
    let plain = apps.path().join("plain.json");
    std::fs::write(&plain, br#"{"a": 1}"#).expect("write app file");
    let config = format!("[apps]\nallowed_dirs = [\"{}\"]\n", apps.path().display());
    let daemon = Daemon::start_with_config(&config);
    let plain = plain.display().to_string();
    daemon.ctl_ok(&["app", "add", "plain", "--path", &plain, "--strategy", "none"]);
    daemon.ctl_ok(&["set", "canary", "k", "still here"]);
    let cases: Vec<Case> = socket_cases().into_iter().chain(cli_cases(daemon.dir.path())).collect();
    let names: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases.len(), "case names are distinct");
    assert!(cases.len() >= 50, "the suite throws at least 50 kinds, not {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = check(&daemon, case) {
            failures.push(format!("{}: {why}", case.name));
        }
        // After each, another client is served with correct data.
        if daemon.ctl(&["get", "canary", "k"]).stdout != b"still here" {
            failures.push(format!("{}: the daemon stopped serving correct data", case.name));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_config_with_bad_values_is_refused_on_reload_and_the_old_one_kept() {
    let daemon = Daemon::start_with_config("[namespaces.web]\nmax_bytes = \"1MiB\"\n");
    daemon.ctl_ok(&["set", "web", "k", "kept"]);
    let bad = [
        ("not TOML at all", "this is = = not toml", "expected"),
        ("unknown key", "max_frame_byte = \"1MiB\"\n", "max_frame_byte"),
        ("frame cap out of range", "max_frame_bytes = 1\n", "max_frame_bytes"),
        ("duration that does not parse", "drain_timeout = \"5 parsecs\"\n", "parsecs"),
        ("unknown eviction policy", "[defaults]\neviction = \"random\"\n", "random"),
        ("unknown tier", "[defaults]\ntier = \"tape\"\n", "tape"),
        ("bad namespace name", "[namespaces.\"a b\"]\nmax_bytes = \"1MiB\"\n", "a b"),
        ("zero connections", "max_connections = 0\n", "max_connections"),
        (
            "a group that does not exist",
            "admin_group = \"no-such-group-here\"\n",
            "no-such-group-here",
        ),
        (
            "pressure marks upside down",
            "[pressure]\nmemory_high = 50\nmemory_low = 60\n",
            "memory_low",
        ),
    ];
    for (name, text, mention) in bad {
        std::fs::write(&daemon.config, text).expect("write config");
        let out = daemon.ctl(&["reload"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{name}: reload must be refused: {err}");
        assert!(err.starts_with("error (invalid_argument): "), "{name}: {err}");
        assert!(err.contains(mention), "{name}: names {mention:?}: {err}");
        assert_eq!(daemon.ctl_ok(&["get", "web", "k"]), "kept", "{name}: still serving");
    }
    let stats = daemon.ctl_json(&["stats", "web"]);
    assert_eq!(
        stats["namespaces"][0]["stats"]["bytes_limit"],
        1 << 20,
        "the old config is in force"
    );
}
