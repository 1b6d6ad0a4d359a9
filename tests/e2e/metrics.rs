//! The `metrics` request through `cachectl stats --format prometheus`: the exposition parsed by
//! the reference Python parser, its counters equal to what was done, an app's backup age, and
//! a user kept to their own namespaces and apps.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use cachemgr_e2e::as_user::{ctl_as_nobody, NOBODY};
use cachemgr_e2e::prometheus::{label_values, parse, value, Sample};
use cachemgr_e2e::{deadline_in, poll_until, Daemon};

fn metrics(daemon: &Daemon) -> Vec<Sample> {
    parse(&daemon.ctl_ok(&["stats", "--format", "prometheus"]))
}

#[test]
fn metrics_count_what_was_done() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["set", "web", "a", "1"]);
    daemon.ctl_ok(&["set", "web", "b", "22"]);
    daemon.ctl_ok(&["set", "other", "x", "3"]);
    for _ in 0..2 {
        assert_eq!(daemon.ctl_ok(&["get", "web", "a"]), "1");
    }
    for key in ["nope", "b-typo", "c"] {
        assert_eq!(daemon.ctl(&["get", "web", key]).status.code(), Some(1), "{key} is missing");
    }
    daemon.ctl_ok(&["del", "web", "b"]);

    let samples = metrics(&daemon);
    let web_memory = [("namespace", "web"), ("layer", "memory")];
    let web = [("namespace", "web")];
    assert_eq!(value(&samples, "cachemgr_hits_total", &web_memory), Some(2.0));
    assert_eq!(value(&samples, "cachemgr_misses_total", &web_memory), Some(3.0));
    assert_eq!(value(&samples, "cachemgr_sets_total", &web_memory), Some(2.0));
    assert_eq!(value(&samples, "cachemgr_deletes_total", &web_memory), Some(1.0));
    assert_eq!(value(&samples, "cachemgr_entries", &web_memory), Some(1.0));
    assert_eq!(value(&samples, "cachemgr_namespace_hits_total", &web), Some(2.0));
    assert_eq!(value(&samples, "cachemgr_namespace_misses_total", &web), Some(3.0));
    assert_eq!(
        value(&samples, "cachemgr_sets_total", &[("namespace", "other"), ("layer", "memory")]),
        Some(1.0)
    );
    let used = value(&samples, "cachemgr_used_bytes", &web_memory).expect("used bytes");
    let limit = value(&samples, "cachemgr_limit_bytes", &web_memory).expect("limit");
    assert!(used > 0.0 && used < limit, "used {used} of {limit}");
    assert_eq!(
        value(&samples, "cachemgr_namespace_info", &[("namespace", "web"), ("tier", "memory")]),
        Some(1.0)
    );

    // The same numbers as `stats --json`, which reads the same counters.
    let stats = daemon.ctl_json(&["stats"]);
    let row = stats["namespaces"].as_array().expect("rows").iter().find(|r| r["ns"] == "web");
    assert_eq!(row.expect("web row")["stats"]["bytes_used"].as_f64(), Some(used));

    // Daemon-wide families, typed and documented.
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        value(&samples, "cachemgr_build_info", &[("version", version), ("protocol", "1")]),
        Some(1.0)
    );
    assert!(value(&samples, "cachemgr_uptime_seconds", &[]).is_some_and(|s| s > 0.0));
    assert_eq!(value(&samples, "cachemgr_memory_limit_bytes", &[]), Some(512.0 * 1024.0 * 1024.0));
    assert!(value(&samples, "cachemgr_pressure_memory_used_ratio", &[])
        .is_some_and(|r| r > 0.0 && r < 1.0));
    assert!(value(&samples, "cachemgr_connections", &[]).is_some_and(|c| c >= 1.0));
    assert!(samples.iter().all(|s| !s.help.is_empty()), "every family has a HELP line");
    let hits = samples.iter().find(|s| s.name == "cachemgr_hits_total").expect("hits");
    assert_eq!((hits.family.as_str(), hits.kind.as_str()), ("cachemgr_hits", "counter"));
    assert!(samples.iter().filter(|s| s.name.ends_with("_total")).all(|s| s.kind == "counter"));
    assert!(samples.iter().all(|s| s.kind == "counter" || s.kind == "gauge"), "all typed");
    // No Redis configured: no Redis families.
    assert!(samples.iter().all(|s| !s.name.starts_with("cachemgr_redis_")));
}

#[test]
fn metrics_formats_and_the_old_outputs() {
    let daemon = Daemon::start();
    daemon.ctl_ok(&["set", "web", "k", "v"]);
    // The table and JSON outputs are unchanged, and --format json is --json.
    let table = daemon.ctl_ok(&["stats"]);
    assert!(table.starts_with("NAMESPACE") && table.contains("web"), "{table}");
    assert_eq!(daemon.ctl_ok(&["stats", "--format", "table"]), table);
    let json: serde_json::Value =
        serde_json::from_str(&daemon.ctl_ok(&["stats", "--format", "json"])).expect("json");
    assert_eq!(json["namespaces"][0]["ns"], "web");
    assert_eq!(json["namespaces"][0]["stats"]["sets"], 1);
    // The Prometheus text is what the daemon answered, ending with a newline.
    let text = daemon.ctl_ok(&["stats", "--format", "prometheus"]);
    assert!(text.starts_with("# HELP cachemgr_") && text.ends_with('\n'), "{text}");
    // Contradictions are usage errors, caught before connecting.
    for args in [
        &["--json", "stats", "--format", "prometheus"][..],
        &["stats", "web", "--format", "prometheus"],
        &["stats", "--format", "yaml"],
    ] {
        let out = daemon.ctl(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn metrics_show_an_apps_backup_age() {
    let files = tempfile::tempdir().expect("tempdir");
    let live = files.path().join("notes.json");
    fs::write(&live, br#"{"theme": "dark"}"#).expect("write app file");
    let config = format!("[apps]\nallowed_dirs = [\"{}\"]\n", files.path().display());
    let daemon = Daemon::start_with_config(&config);
    let path = live.display().to_string();
    daemon.ctl_ok(&["app", "add", "notes", "--path", &path, "--strategy", "none"]);
    // The backup is taken after this instant: its age may not reach 1 s before 1 s passed.
    let before_backup = std::time::Instant::now();
    daemon.ctl_ok(&["backup", "create", "notes"]);

    let app = [("app", "notes")];
    let age_of = |samples: &[Sample]| value(samples, "cachemgr_app_last_backup_age_seconds", &app);
    let aged = poll_until(deadline_in(std::time::Duration::from_secs(10)), || {
        let samples = metrics(&daemon);
        let age = age_of(&samples).expect("age");
        (age >= 1.0).then(|| (samples, age, before_backup.elapsed()))
    });
    let (samples, age, waited) = aged.unwrap_or_else(|| panic!("the backup age never reached 1 s"));
    // (Plus the millisecond the daemon's wall-clock stamp may have been rounded down.)
    assert!(waited.as_secs_f64() + 0.001 >= age, "an age of {age} s after {waited:?}");
    assert!(age < 120.0, "the backup was made a second ago: {age}");
    let listed = daemon.ctl_json(&["app", "list"]);
    let apps = listed["apps"].as_array().expect("apps");
    let row = apps.iter().find(|a| a["name"] == "notes").expect("notes");
    let count = row["backup_count"].as_f64().expect("backup_count");
    assert!(count >= 1.0, "{row}");
    assert_eq!(value(&samples, "cachemgr_app_backups", &app), Some(count));
    let taken = row["last_good_backup_unix_ms"].as_f64().expect("last good") / 1000.0;
    assert_eq!(value(&samples, "cachemgr_app_last_backup_timestamp_seconds", &app), Some(taken));
    assert_eq!(
        value(&samples, "cachemgr_app_health", &[("app", "notes"), ("state", "ok")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "cachemgr_app_health", &[("app", "notes"), ("state", "stale")]),
        Some(0.0)
    );
    assert_eq!(value(&samples, "cachemgr_app_bad_backups", &app), Some(0.0));
}

#[test]
fn metrics_keep_a_user_to_their_own_namespaces_and_apps() {
    const SOCKET_GROUP: u32 = 4242;
    let files = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(files.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let live = files.path().join("roots.json");
    fs::write(&live, br#"{"a": 1}"#).expect("write app file");
    let config = format!(
        "socket_group = \"{SOCKET_GROUP}\"\n[apps]\nallowed_dirs = [\"{}\"]\n",
        files.path().display()
    );
    let daemon = Daemon::start_with_config(&config);
    let run_dir = daemon.socket.parent().expect("socket dir").to_path_buf();
    for dir in [daemon.dir.path(), run_dir.as_path()] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o711)).expect("chmod");
    }
    daemon.ctl_ok(&["set", "user:0", "secret", "root's value"]);
    daemon.ctl_ok(&["set", "open", "k", "v"]);
    let path = live.display().to_string();
    daemon.ctl_ok(&["app", "add", "roots", "--path", &path, "--strategy", "none"]);
    let out = ctl_as_nobody(&daemon, &[SOCKET_GROUP], &["set", "user:65534", "mine", "x"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = ctl_as_nobody(&daemon, &[SOCKET_GROUP], &["stats", "--format", "prometheus"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let theirs = parse(&text);
    let namespaces = label_values(&theirs, "cachemgr_namespace_sets_total", "namespace");
    assert!(namespaces.contains(&"open".to_owned()), "{namespaces:?}");
    assert!(namespaces.contains(&"user:65534".to_owned()), "{namespaces:?}");
    assert!(!text.contains("user:0"), "uid {NOBODY} sees root's namespace:\n{text}");
    assert!(!text.contains("roots"), "uid {NOBODY} sees root's app:\n{text}");
    assert!(label_values(&theirs, "cachemgr_app_backups", "app").is_empty());
    assert_eq!(
        value(&theirs, "cachemgr_namespace_sets_total", &[("namespace", "user:65534")]),
        Some(1.0)
    );

    // An admin sees everything.
    let all = metrics(&daemon);
    let namespaces = label_values(&all, "cachemgr_namespace_sets_total", "namespace");
    assert!(namespaces.contains(&"user:0".to_owned()), "{namespaces:?}");
    // Root's app and the daemon's own state (an app of the daemon's user).
    let mut apps = label_values(&all, "cachemgr_app_backups", "app");
    apps.sort();
    assert_eq!(apps, ["cachemgrd", "roots"]);
}

#[test]
fn every_background_job_is_supervised_and_reported() {
    let daemon = Daemon::start();
    let status = daemon.ctl_json(&["status"]);
    let jobs = status["jobs"].as_array().expect("status lists the background jobs");
    let names: Vec<&str> = jobs.iter().filter_map(|j| j["name"].as_str()).collect();
    for job in ["memory-sweeper", "disk-sweeper", "pressure-monitor", "clear-scheduler"] {
        assert!(names.contains(&job), "{job} is supervised: {names:?}");
    }
    for job in jobs {
        assert_eq!(job["running"], true, "{job}");
        assert_eq!(job["restarts"], 0, "{job}");
    }
    assert_eq!(status["healthy"], true);
    let samples = metrics(&daemon);
    for job in &names {
        assert_eq!(value(&samples, "cachemgr_job_up", &[("job", job)]), Some(1.0), "{job}");
        assert_eq!(value(&samples, "cachemgr_job_restarts_total", &[("job", job)]), Some(0.0));
    }
}
