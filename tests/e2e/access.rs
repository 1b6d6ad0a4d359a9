//! Access control with real different uids: `cachectl` runs as `nobody` (through `setpriv`,
//! the test runs as root), with chosen supplementary groups, against a daemon whose socket
//! is group-accessible. Each denial and each allowed operation is checked.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Output};

use cachemgr_e2e::as_user::{ctl_as_nobody, NOBODY};
use cachemgr_e2e::{binary, Daemon};

const SOCKET_GROUP: u32 = 4242;
const ADMIN_GROUP: u32 = 4243;
const TEAM_READERS: u32 = 4244;

const CONFIG: &str = r#"
socket_group = "4242"
admin_group = "4243"

[namespaces.team]
readers = ["@4244"]
writers = ["0"]
"#;

fn text(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn start() -> Daemon {
    let mut daemon = Daemon::prepare(CONFIG);
    daemon.spawn();
    // Let other users reach the socket inside the test's private temp dirs (no listing).
    let run_dir = daemon.socket.parent().expect("socket dir").to_path_buf();
    for dir in [daemon.dir.path(), run_dir.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).expect("chmod");
    }
    daemon
}

#[test]
fn another_user_is_kept_to_what_the_rules_allow() {
    let daemon = start();
    let meta = std::fs::metadata(&daemon.socket).expect("socket");
    assert_eq!(meta.mode() & 0o777, 0o660, "system mode socket");
    assert_eq!(meta.gid(), SOCKET_GROUP);

    // As root (an admin): a private namespace of root, a team namespace, an open one.
    daemon.ctl_ok(&["set", "user:0", "secret", "root's value"]);
    daemon.ctl_ok(&["set", "team", "plan", "team value"]);
    daemon.ctl_ok(&["set", "open", "k", "open value"]);

    // Not in the socket group: the kernel refuses the connection itself.
    let (code, _, err) = text(&ctl_as_nobody(&daemon, &[NOBODY], &["ping"]));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.to_lowercase().contains("permission denied"), "{err}");

    let user = [SOCKET_GROUP];
    let ok = |groups: &[u32], args: &[&str]| {
        let (code, out, err) = text(&ctl_as_nobody(&daemon, groups, args));
        assert_eq!(code, Some(0), "{args:?} as nobody: {err}");
        out
    };
    let denied = |groups: &[u32], args: &[&str]| {
        let (code, out, err) = text(&ctl_as_nobody(&daemon, groups, args));
        assert_eq!(code, Some(4), "{args:?} as nobody must be refused: {out}{err}");
        assert!(err.starts_with("error (permission_denied): "), "{args:?}: {err}");
        assert!(!err.contains("value"), "{args:?} leaked data: {err}");
        err
    };
    assert_eq!(ok(&user, &["get", "open", "k"]), "open value");
    ok(&user, &["set", "open", "k2", "from nobody"]);
    // Their own private namespace.
    ok(&user, &["set", "user:65534", "mine", "nobody's value"]);
    assert_eq!(ok(&user, &["get", "user:65534", "mine"]), "nobody's value");
    // Someone else's: refused by name, the same whether the key exists or not.
    let existing = denied(&user, &["get", "user:0", "secret"]);
    let missing = denied(&user, &["get", "user:0", "no-such-key"]);
    assert_eq!(existing, missing, "a refusal must not tell whether the key exists");
    assert!(existing.contains("user:0"), "{existing}");
    denied(&user, &["set", "user:0", "secret", "overwrite"]);
    denied(&user, &["keys", "user:0"]);
    // The team namespace: readers by group, writers only root.
    denied(&user, &["get", "team", "plan"]);
    assert_eq!(ok(&[SOCKET_GROUP, TEAM_READERS], &["get", "team", "plan"]), "team value");
    denied(&[SOCKET_GROUP, TEAM_READERS], &["set", "team", "plan", "changed"]);
    // Listings show only what they may read.
    let stats = ok(&user, &["--json", "stats"]);
    assert!(stats.contains("\"open\"") && stats.contains("user:65534"), "{stats}");
    assert!(!stats.contains("user:0") && !stats.contains("\"team\""), "{stats}");
    // Management is for admins.
    for args in [
        &["clear", "--all"][..],
        &["shutdown"],
        &["reload"],
        &["key", "status"],
        &["clear", "team"],
        &["dir", "add", "/var/tmp"],
    ] {
        denied(&user, args);
    }
    // A member of admin_group is an admin.
    let admin = [SOCKET_GROUP, ADMIN_GROUP];
    assert_eq!(ok(&admin, &["get", "user:0", "secret"]), "root's value");
    ok(&admin, &["key", "status"]);
    ok(&admin, &["clear", "team"]);
    assert_eq!(daemon.ctl(&["get", "team", "plan"]).status.code(), Some(1), "cleared by the admin");
    assert_eq!(daemon.ctl_ok(&["get", "user:0", "secret"]), "root's value", "untouched");
}

#[test]
fn read_only_mode_refuses_management_and_serves_traffic() {
    let daemon = Daemon::start_with_config("read_only = true\n");
    daemon.ctl_ok(&["set", "web", "k", "v"]);
    assert_eq!(daemon.ctl_ok(&["get", "web", "k"]), "v");
    daemon.ctl_ok(&["del", "web", "k"]);
    daemon.ctl_ok(&["stats"]);
    let dump = daemon.dir.path().join("x.cmdump").display().to_string();
    for args in [
        &["clear", "web"][..],
        &["clear", "--all"],
        &["reload"],
        &["shutdown"],
        &["key", "rotate", "web"],
        &["restore", &dump],
        &["autodump", "start", "--every", "10m", "--to", &dump],
        &["dir", "add", "/var/tmp"],
        &["pressure", "check"],
    ] {
        let out = daemon.ctl(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?} must be refused: {err}");
        assert!(err.starts_with("error (permission_denied): "), "{args:?}: {err}");
        assert!(err.contains("read_only"), "names the setting: {args:?}: {err}");
    }
    daemon.ctl_ok(&["ping"]);
}

#[test]
fn apps_belong_to_the_user_who_added_them() {
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(files.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let roots = files.path().join("root-app.json");
    // A user's app file lives in a folder of theirs (the daemon writes beside it).
    let own_dir = files.path().join("nobody");
    std::fs::create_dir(&own_dir).expect("nobody's folder");
    let nobodys = own_dir.join("nobody-app.json");
    for file in [&roots, &nobodys] {
        std::fs::write(file, br#"{"theme": "dark"}"#).expect("write app file");
    }
    for owned in [&own_dir, &nobodys] {
        rustix::fs::chown(owned, Some(rustix::process::Uid::from_raw(NOBODY)), None)
            .expect("chown");
    }
    let config = format!("{CONFIG}\n[apps]\nallowed_dirs = [\"{}\"]\n", files.path().display());
    let mut daemon = Daemon::prepare(&config);
    daemon.spawn();
    let run_dir = daemon.socket.parent().expect("socket dir").to_path_buf();
    for dir in [daemon.dir.path(), run_dir.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).expect("chmod");
    }
    let (roots, nobodys) = (roots.display().to_string(), nobodys.display().to_string());
    daemon.ctl_ok(&["app", "add", "roots", "--path", &roots, "--strategy", "none"]);
    let user = [SOCKET_GROUP];
    let run = |groups: &[u32], args: &[&str]| text(&ctl_as_nobody(&daemon, groups, args));

    // A user may not register someone else's file, but may register their own.
    let (code, _, err) =
        run(&user, &["app", "add", "stolen", "--path", &roots, "--strategy", "none"]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.starts_with("error (permission_denied)") && err.contains("own"), "{err}");
    let (code, _, err) =
        run(&user, &["app", "add", "mine", "--path", &nobodys, "--strategy", "none"]);
    assert_eq!(code, Some(0), "{err}");

    // They see and manage only their own.
    let (_, list, _) = run(&user, &["--json", "app", "list"]);
    assert!(list.contains("\"mine\"") && !list.contains("\"roots\""), "{list}");
    for args in [
        &["app", "show", "roots"][..],
        &["app", "inspect", "roots"],
        &["backup", "create", "roots"],
        &["app", "remove", "roots"],
    ] {
        let (code, _, err) = run(&user, args);
        assert_eq!(code, Some(4), "{args:?}: {err}");
        assert!(err.starts_with("error (permission_denied): "), "{args:?}: {err}");
        assert!(err.contains("roots"), "names the app: {args:?}: {err}");
    }
    let (code, _, err) = run(&user, &["backup", "create", "mine"]);
    assert_eq!(code, Some(0), "{err}");
    // An admin sees every app.
    let (code, out, err) = run(&[SOCKET_GROUP, ADMIN_GROUP], &["app", "show", "roots"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("roots"), "{out}");
    let all = daemon.ctl_json(&["app", "list"]).to_string();
    assert!(all.contains("\"mine\"") && all.contains("\"roots\""), "{all}");
}

#[test]
fn a_user_hears_only_what_they_may_read_and_only_admins_write_broadcast() {
    let daemon = start();
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg(format!("--groups={SOCKET_GROUP}"))
        .arg(binary("cachectl"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(["--json", "watch"])
        .env_remove("CACHEMGR_SOCKET");
    let watcher = cachemgr_e2e::watcher::LineReader::spawn(command);
    watcher.first_line_after(|| {
        daemon.ctl_ok(&["set", "open", "probe", "p"]);
    });
    watcher.drain();

    // Changes nobody may not read come first; then two it may read.
    daemon.ctl_ok(&["set", "user:0", "secret", "root's value"]);
    daemon.ctl_ok(&["set", "team", "plan", "team value"]);
    daemon.ctl_ok(&["set", "broadcast", "motd", "maintenance at 6"]);
    daemon.ctl_ok(&["set", "open", "last", "x"]);
    let lines = watcher.lines_until(std::time::Duration::from_secs(10), |l| l.contains("\"last\""));
    let namespaces: Vec<String> = lines
        .iter()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("json");
            event["ns"].as_str().expect("ns").to_owned()
        })
        .collect();
    assert_eq!(namespaces, ["broadcast", "open"], "events of user:0 and team stay hidden");

    // Everyone reads broadcast; only admins write it.
    let (code, out, _) =
        text(&ctl_as_nobody(&daemon, &[SOCKET_GROUP], &["get", "broadcast", "motd"]));
    assert_eq!((code, out.as_str()), (Some(0), "maintenance at 6"));
    let (code, _, err) =
        text(&ctl_as_nobody(&daemon, &[SOCKET_GROUP], &["set", "broadcast", "motd", "hacked"]));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.starts_with("error (permission_denied): "), "{err}");
    assert!(err.contains("broadcast"), "names the namespace: {err}");
    let (code, _, _) = text(&ctl_as_nobody(
        &daemon,
        &[SOCKET_GROUP, ADMIN_GROUP],
        &["set", "broadcast", "motd", "from an admin"],
    ));
    assert_eq!(code, Some(0));
    // Subscribing to a namespace one may not read is refused by name.
    let (code, _, err) = text(&ctl_as_nobody(&daemon, &[SOCKET_GROUP], &["watch", "user:0"]));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.starts_with("error (permission_denied): "), "{err}");
    assert!(err.contains("user:0"), "names the namespace: {err}");
}
