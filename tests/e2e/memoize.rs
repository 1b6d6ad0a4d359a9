//! `cachectl run`: a command memoized in the real daemon, run through the real binaries.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cachemgr_e2e::{binary, deadline_in, poll_until, Daemon};

fn lines(file: &Path) -> usize {
    std::fs::read_to_string(file).map(|text| text.lines().count()).unwrap_or(0)
}

fn run(daemon: &Daemon, args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    daemon.ctl(&all)
}

fn script(body: &str) -> Vec<String> {
    vec!["--".into(), "sh".into(), "-c".into(), body.into()]
}

fn run_script(daemon: &Daemon, options: &[&str], body: &str) -> Output {
    let mut args: Vec<String> = options.iter().map(|s| (*s).to_owned()).collect();
    args.extend(script(body));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(daemon, &args)
}

#[test]
fn a_command_runs_once_within_its_ttl_and_again_after() {
    let daemon = Daemon::start();
    let counter = daemon.dir.path().join("runs");
    let body = format!(
        "echo x >> {0}; printf 'out %s\\n' $(wc -l < {0}); printf 'to stderr\\n' >&2; printf '\\377\\000'",
        counter.display()
    );
    // The result is stored after this instant, so its TTL may not run out before 700 ms.
    let before_first = Instant::now();
    let first = run_script(&daemon, &["--ttl", "700ms"], &body);
    assert_eq!(first.status.code(), Some(0));
    assert_eq!(first.stdout, b"out 1\n\xff\x00");
    assert_eq!(first.stderr, b"to stderr\n");
    let second = run_script(&daemon, &["--ttl", "700ms"], &body);
    assert_eq!((second.stdout, second.stderr), (first.stdout.clone(), first.stderr.clone()));
    assert_eq!(lines(&counter), 1, "replayed, not run again");
    // The result lives in the caller's private namespace (the test runs as root: uid 0).
    let key = run_key(&daemon);

    let expired = poll_until(deadline_in(Duration::from_secs(10)), || {
        let present = daemon.ctl(&["exists", "user:0", &key]).status.success();
        (!present).then(|| before_first.elapsed())
    });
    let expired = expired.unwrap_or_else(|| panic!("the cached result never expired"));
    assert!(expired >= Duration::from_millis(700), "a 700 ms TTL ran out after {expired:?}");
    let third = run_script(&daemon, &["--ttl", "700ms"], &body);
    assert_eq!(third.stdout, b"out 2\n\xff\x00");
    assert_eq!(lines(&counter), 2, "run again after the TTL");
    assert_eq!(run_key(&daemon), key, "stored again under the same key");
}

/// The one key `cachectl run` stored in root's private namespace (`run:<hex>`).
fn run_key(daemon: &Daemon) -> String {
    let keys = daemon.ctl_ok(&["keys", "user:0"]);
    let runs: Vec<&str> = keys.lines().filter(|key| key.starts_with("run:")).collect();
    assert_eq!(runs.len(), 1, "{keys}");
    runs[0].to_owned()
}

#[test]
fn exit_codes_and_stderr_are_replayed_and_failures_cached_only_when_asked() {
    let daemon = Daemon::start();
    let counter = daemon.dir.path().join("runs");
    let body = format!("echo x >> {}; echo partial; echo boom >&2; exit 7", counter.display());
    for expected_runs in 1..=2 {
        let out = run_script(&daemon, &["--ttl", "1h"], &body);
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(lines(&counter), expected_runs, "a failure is not cached by default");
    }
    let ran = run_script(&daemon, &["--ttl", "1h", "--cache-failures"], &body);
    let replayed = run_script(&daemon, &["--ttl", "1h", "--cache-failures"], &body);
    assert_eq!(lines(&counter), 3, "with --cache-failures the failure is replayed");
    // A caller without --cache-failures does not get the stored failure: it runs.
    assert_eq!(run_script(&daemon, &["--ttl", "1h"], &body).status.code(), Some(7));
    assert_eq!(lines(&counter), 4);
    for out in [&ran, &replayed] {
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(out.stdout, b"partial\n");
        assert_eq!(out.stderr, b"boom\n");
    }

    let missing = run(&daemon, &["--ttl", "1h", "--", "no-such-command-anywhere"]);
    assert_eq!(missing.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot run no-such-command-anywhere")
    );
    let usage = run(&daemon, &["--", "true"]);
    assert_eq!(usage.status.code(), Some(2), "--ttl is required");
}

#[test]
fn the_key_follows_env_cwd_and_an_explicit_key() {
    let daemon = Daemon::start();
    let counter = daemon.dir.path().join("runs");
    let body = format!("echo x >> {}; echo \"$GREETING\"", counter.display());
    let with_env = |value: &str, dir: &Path, extra: &[&str]| {
        let mut command = Command::new(binary("cachectl"));
        command.arg("--socket").arg(&daemon.socket).args(["run", "--ttl", "1h"]).args(extra);
        command.args(script(&body)).env("GREETING", value).current_dir(dir);
        command.output().expect("run cachectl")
    };
    let root = daemon.dir.path();
    let elsewhere = daemon.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    // Without --env, the variable is not part of the key: the first result is replayed.
    assert_eq!(with_env("hello", root, &[]).stdout, b"hello\n");
    assert_eq!(with_env("bonjour", root, &[]).stdout, b"hello\n");
    assert_eq!(lines(&counter), 1);
    // With --env GREETING, each value has its own result.
    assert_eq!(with_env("bonjour", root, &["--env", "GREETING"]).stdout, b"bonjour\n");
    assert_eq!(with_env("hola", root, &["--env", "GREETING"]).stdout, b"hola\n");
    assert_eq!(with_env("bonjour", root, &["--env", "GREETING"]).stdout, b"bonjour\n");
    assert_eq!(lines(&counter), 3);
    // With --cwd, each directory has its own result.
    with_env("a", root, &["--cwd"]);
    with_env("a", &elsewhere, &["--cwd"]);
    with_env("a", &elsewhere, &["--cwd"]);
    assert_eq!(lines(&counter), 5);
    // An explicit namespace and key are used as given.
    with_env("named", root, &["--ns", "memo", "--key", "greeting"]);
    assert!(daemon.ctl(&["exists", "memo", "greeting"]).status.success());
}

/// How far past its TTL a result is waited for before it is taken as stale (ms).
const STALE_MARGIN_MS: u64 = 20;

#[test]
fn stale_while_revalidate_answers_at_once_and_refreshes_in_the_background() {
    let daemon = Daemon::start();
    let dir = daemon.dir.path();
    let (go, counter) = (dir.join("go"), dir.join("runs"));
    // The command cannot finish until `go` exists: a caller that returns while it is
    // missing cannot have waited for the command.
    let body = format!(
        "while [ ! -e {go} ]; do sleep 0.05; done; echo x >> {runs}; wc -l < {runs}",
        go = go.display(),
        runs = counter.display()
    );
    let options = ["--ttl", "300ms", "--stale-while-revalidate", "1h"];
    std::fs::write(&go, b"").expect("go");
    assert_eq!(run_script(&daemon, &options, &body).stdout, b"1\n");
    // The result is kept for 300 ms + 1 h from when it was stored (after the command
    // finished, which is what its age counts from): once less than the hour is left, it is
    // past its 300 ms TTL. The margin covers the daemon's and the wall clock's rounding.
    let key = run_key(&daemon);
    let stale = poll_until(deadline_in(Duration::from_secs(10)), || {
        let ttl = daemon.ctl_json(&["ttl", "user:0", &key]);
        let left = ttl["ttl_ms"].as_u64().expect("kept for the stale window");
        (left + STALE_MARGIN_MS <= 3_600_000).then_some(left)
    });
    assert!(stale.is_some(), "the result never went stale");

    std::fs::remove_file(&go).expect("stop the command");
    let stale = run_script(&daemon, &options, &body);
    assert_eq!((stale.status.code(), stale.stdout.as_slice()), (Some(0), &b"1\n"[..]));
    let again = run_script(&daemon, &options, &body);
    assert_eq!(again.stdout, b"1\n", "still stale, and the refresh is already under way");
    assert_eq!(lines(&counter), 1, "the refresh waits for `go`");

    std::fs::write(&go, b"").expect("let the refresh finish");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = run_script(&daemon, &options, &body);
        if out.stdout == b"2\n" {
            break;
        }
        assert_eq!(out.stdout, b"1\n");
        assert!(Instant::now() < deadline, "the background refresh never stored its result");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lines(&counter), 2, "one refresh ran, however many stale answers were given");
}

#[test]
fn without_a_daemon_the_command_still_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(binary("cachectl"))
        .arg("--socket")
        .arg(dir.path().join("nobody-home.sock"))
        .args(["run", "--ttl", "1m", "--", "sh", "-c", "echo fine; exit 5"])
        .output()
        .expect("run cachectl");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(out.stdout, b"fine\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cachectl run: not cached") && err.contains("cannot reach"), "{err}");
}
