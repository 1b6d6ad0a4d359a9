//! Backups over time: retention (keep-last, keep-daily over fabricated timestamps, pins,
//! dry runs), verification of stored backups, staleness and `status`, and a schedule missed
//! while the daemon was down.

use std::fs;
use std::time::{Duration, Instant};

use cachemgr_e2e::apps::AppsEnv;
use cachemgr_e2e::{deadline_in, poll_until};
use serde_json::Value;

const DAY_MS: u64 = 24 * 3_600_000;

fn names(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .expect(key)
        .iter()
        .map(|b| b["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Rewrites the catalog so backup `i` (oldest first) was taken `days[i]` days before now.
fn fabricate_ages(env: &AppsEnv, safe: &str, days: &[u64]) {
    let path = env.backup_dir(safe).join("backups.json");
    let mut catalog: Value =
        serde_json::from_slice(&fs::read(&path).expect("catalog")).expect("json");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let backups = catalog["backups"].as_array_mut().expect("backups");
    assert_eq!(backups.len(), days.len());
    for (backup, age) in backups.iter_mut().zip(days) {
        backup["created_unix_ms"] = Value::from(now - age * DAY_MS);
    }
    fs::write(&path, serde_json::to_vec(&catalog).expect("json")).expect("write catalog");
}

#[test]
fn retention_keeps_last_daily_and_pinned() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.daemon.ctl_ok(&["app", "add", "muse", "--path", &live.display().to_string()]);
    let pinned =
        env.daemon.ctl_json(&["backup", "create", "muse", "--pin", "--note", "before upgrade"]);
    let pinned = pinned["name"].as_str().expect("name").to_owned();
    for _ in 0..7 {
        env.daemon.ctl_ok(&["backup", "create", "muse"]);
    }
    let all = names(&env.daemon.ctl_json(&["backup", "list", "muse"]), "backups");
    assert_eq!(all.len(), 8, "under the default keep-last 10 nothing goes");
    // Oldest first: the pin 9 days ago, then 6, 5, 5, 3, 2, 1 and 0 days ago.
    fabricate_ages(&env, "muse", &[9, 6, 5, 5, 3, 2, 1, 0]);
    env.daemon.ctl_ok(&["app", "edit", "muse", "--keep-last", "2", "--keep-daily", "3"]);
    let mut oldest_first = all.clone();
    oldest_first.reverse();

    let list = env.daemon.ctl_json(&["backup", "list", "muse"]);
    let why = |name: &str| -> Vec<String> {
        let backup = list["backups"]
            .as_array()
            .expect("backups")
            .iter()
            .find(|b| b["name"] == name)
            .expect("listed");
        backup["kept_because"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    assert_eq!(why(&pinned), ["pinned"]);
    assert!(
        why(&oldest_first[7]).iter().any(|r| r == "last 2")
            && why(&oldest_first[7]).iter().any(|r| r.starts_with("daily "))
    );
    assert!(
        why(&oldest_first[5]).iter().all(|r| r.starts_with("daily "))
            && !why(&oldest_first[5]).is_empty()
    );
    assert!(why(&oldest_first[1]).is_empty(), "6 days old goes");

    let dry = env.daemon.ctl_json(&["backup", "prune", "muse", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    let would = names(&dry, "removed");
    assert_eq!(would, oldest_first[1..5].to_vec(), "{dry}");
    for name in &would {
        assert!(env.backup_dir("muse").join(name).exists(), "a dry run deletes nothing");
    }
    let pruned = env.daemon.ctl_json(&["backup", "prune", "muse"]);
    assert_eq!(names(&pruned, "removed"), would, "the dry run said what goes");
    assert_eq!(pruned["kept"], 4);
    for name in &would {
        assert!(!env.backup_dir("muse").join(name).exists(), "{name} was pruned");
    }
    let left = names(&env.daemon.ctl_json(&["backup", "list", "muse"]), "backups");
    assert_eq!(left.len(), 4);
    assert!(left.contains(&pinned));
}

#[test]
fn verify_reports_a_damaged_backup_and_status_fails() {
    let env = AppsEnv::start("");
    let live = env.place("sd_runner-big.enc", "sd/app_info_cache.enc");
    env.add_app("sd", &live, &["--app-id", "sd_runner"]);
    let first = env.daemon.ctl_json(&["backup", "create", "sd"]);
    env.daemon.ctl_ok(&["backup", "create", "sd"]);
    let ok = env.daemon.ctl_json(&["backup", "verify", "sd"]);
    assert_eq!(ok["checked"], 2, "{ok}");
    assert_eq!(ok["bad"].as_array().map(Vec::len), Some(0));
    let all = env.daemon.ctl_json(&["backup", "verify", "--all"]);
    assert!(all["checked"].as_u64() >= Some(2), "{all}");
    assert_eq!(all["bad"].as_array().map(Vec::len), Some(0), "{all}");

    let damaged = env.backup_dir("sd").join(first["name"].as_str().expect("name"));
    let mut bytes = fs::read(&damaged).expect("backup");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(&damaged, bytes).expect("flip a byte");
    let out = env.daemon.ctl(&["--json", "backup", "verify", "sd"]);
    assert_eq!(out.status.code(), Some(4), "a bad backup fails the command");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["bad"][0]["backup"], first["name"], "{report}");
    let list = env.daemon.ctl_json(&["app", "list"]);
    let sd = list["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["name"] == "sd")
        .expect("sd")
        .clone();
    assert_eq!(sd["health"], "backup_damaged", "{sd}");
    assert_eq!(sd["last_verify_bad"], 1);
    let status = env.daemon.ctl(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", String::from_utf8_lossy(&status.stdout));

    // A damaged backup is never pruned: it waits in quarantine for an operator.
    env.daemon.ctl_ok(&["app", "edit", "sd", "--keep-last", "1"]);
    env.daemon.ctl_ok(&["backup", "prune", "sd"]);
    let quarantined =
        env.backup_dir("sd").join("quarantine").join(first["name"].as_str().expect("name"));
    assert!(quarantined.exists(), "kept in quarantine");
    assert_eq!(env.daemon.ctl_json(&["app", "show", "sd"])["health"], "backup_damaged");
    // Once the operator removes it, the next verification forgets it and the app is healthy.
    fs::remove_file(&quarantined).expect("operator removes it");
    env.daemon.ctl_ok(&["backup", "verify", "sd"]);
    assert_eq!(env.daemon.ctl_json(&["app", "show", "sd"])["health"], "ok");
    assert_eq!(env.daemon.ctl(&["status"]).status.code(), Some(0));
}

#[test]
fn a_stale_app_makes_status_fail() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &["--stale-after", "2s"]);
    // The backup is taken after this instant, so the app may not go stale before 2 s.
    let before_backup = Instant::now();
    env.daemon.ctl_ok(&["backup", "create", "muse"]);
    assert_eq!(env.daemon.ctl(&["status"]).status.code(), Some(0));
    let stale = poll_until(deadline_in(Duration::from_secs(15)), || {
        let show = env.daemon.ctl_json(&["app", "show", "muse"]);
        (show["health"] == "stale").then(|| before_backup.elapsed())
    });
    let stale = stale.unwrap_or_else(|| panic!("the app never went stale"));
    assert!(stale >= Duration::from_secs(2), "stale after {stale:?}, not after 2 s");
    let out = env.daemon.ctl(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("muse") && text.contains("stale"), "{text}");
    // The daemon says so in its log on its own (the journal is where an operator who asks
    // nothing learns it; no other channel carries this warning), once.
    let warnings = |app: &str| {
        let log = env.daemon.log_text();
        let field = format!("app={app}");
        log.lines().filter(|l| l.contains("app is stale") && l.contains(&field)).count()
    };
    let once =
        poll_until(deadline_in(Duration::from_secs(10)), || (warnings("muse") > 0).then_some(()));
    assert!(once.is_some(), "no stale warning:\n{}", env.daemon.log_text());
    // Another app that goes stale at once: the check that warns about it looks at muse
    // again, so once its warning is there, muse's would have been repeated.
    let other = env.home.join("other/settings.json");
    fs::create_dir_all(other.parent().expect("parent")).expect("mkdir");
    fs::write(&other, br#"{"a": 1}"#).expect("other app file");
    env.add_app("other", &other, &["--strategy", "none", "--stale-after", "1ms"]);
    let later =
        poll_until(deadline_in(Duration::from_secs(10)), || (warnings("other") > 0).then_some(()));
    assert!(later.is_some(), "no stale warning for the other app:\n{}", env.daemon.log_text());
    assert_eq!(warnings("muse"), 1, "{}", env.daemon.log_text());
}

#[test]
fn a_schedule_missed_while_down_runs_after_start() {
    let mut env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &["--backup-every", "1h"]);
    env.daemon.ctl_ok(&["backup", "create", "muse"]);
    env.daemon.kill_hard();
    // Pretend the last backup and scheduled run were two hours ago.
    fabricate_ages(&env, "muse", &[0]);
    let path = env.backup_dir("muse").join("backups.json");
    let mut catalog: Value =
        serde_json::from_slice(&fs::read(&path).expect("catalog")).expect("json");
    let two_hours_ago =
        catalog["backups"][0]["created_unix_ms"].as_u64().expect("time") - 2 * 3_600_000;
    catalog["backups"][0]["created_unix_ms"] = Value::from(two_hours_ago);
    catalog["last_scheduled_unix_ms"] = Value::from(two_hours_ago);
    // A different file, so the catch-up backup is not skipped as unchanged.
    fs::copy(cachemgr_e2e::vectors_dir().join("muse-flag0.enc"), &live).expect("new content");
    fs::write(&path, serde_json::to_vec(&catalog).expect("json")).expect("write");
    env.daemon.spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = env.daemon.ctl_json(&["backup", "list", "muse"]);
        if list["backups"].as_array().expect("backups").iter().any(|b| b["source"] == "schedule") {
            break;
        }
        assert!(Instant::now() < deadline, "no catch-up backup: {list}\n{}", env.daemon.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    let show = env.daemon.ctl_json(&["app", "show", "muse"]);
    assert!(show["next_backup_unix_ms"].as_u64().is_some(), "{show}");
}

/// The plain progress lines in `stderr` (`label: N% (done/total unit)`).
fn progress_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|line| line.contains("% (") && line.ends_with(')'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn long_operations_stream_progress_lines_and_nothing_extra_with_json() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &[]);
    // Not a terminal here: plain lines on stderr, ending at 100%.
    let cases: [(&[&str], &str); 3] = [
        (&["backup", "create", "muse"], "B)"),
        (&["backup", "verify", "--all"], "files)"),
        (&["app", "migrate", "muse", "--new-keys"], "files)"),
    ];
    for (args, unit) in cases {
        let out = env.daemon.ctl(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let lines = progress_lines(&out.stderr);
        assert!(
            lines.iter().any(|l| l.contains(": 100% (") && l.ends_with(unit)),
            "{args:?}: {lines:?}"
        );
        let mut json_args = vec!["--json"];
        json_args.extend_from_slice(args);
        let out = env.daemon.ctl(&json_args);
        assert!(out.status.success(), "{json_args:?}");
        assert!(out.stderr.is_empty(), "{json_args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).expect("only JSON on stdout");
    }
}

#[test]
fn a_damaged_backup_is_not_restored_and_the_live_file_stays() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &[]);
    let first = env.daemon.ctl_json(&["backup", "create", "muse"]);
    let name = first["name"].as_str().expect("name").to_owned();
    let file = env.backup_dir("muse").join(&name);
    let mut bytes = fs::read(&file).expect("backup");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&file, &bytes).expect("damage the backup");
    let live_before = fs::read(&live).expect("live");

    let out = env.daemon.ctl(&["backup", "restore", "muse", &name]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&name), "names the backup: {err}");
    assert_eq!(fs::read(&live).expect("live"), live_before, "the live file is untouched");
    let list = env.daemon.ctl_json(&["backup", "list", "muse"]);
    assert_eq!(names(&list, "backups"), [name], "no before-restore copy was made");
}

#[test]
fn the_daemons_own_state_is_backed_up_like_an_app() {
    let env = AppsEnv::start("");
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &[]);
    let made = env.daemon.ctl_json(&["backup", "create", "cachemgrd"]);
    let file = env.backup_dir("cachemgrd").join(made["name"].as_str().expect("name"));
    let state: Value =
        serde_json::from_slice(&fs::read(&file).expect("state backup")).expect("json");
    assert_eq!(state["kind"], "cachemgrd-state");
    let apps = state["registry"]["apps"].as_array().expect("registry apps");
    assert!(apps.iter().any(|a| a["name"] == "muse"), "{state}");
    let verify = env.daemon.ctl_json(&["backup", "verify", "cachemgrd"]);
    assert_eq!(verify["bad"].as_array().map(Vec::len), Some(0), "{verify}");
}
