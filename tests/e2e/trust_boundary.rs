//! The trust boundary, tried as attackers would: a root daemon in system mode (`socket_group`,
//! `admin_group`, `[apps] allowed_dirs` over several homes) and real, separate Unix users
//! (created for the test) running `cachectl` and raw protocol clients against it.

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use cachemgr_e2e::users::{let_users_pass, TestUser, ADMIN_GROUP, SOCKET_GROUP};
use cachemgr_e2e::{frame, Daemon};
use cachemgr_proto::{ErrorKind, Request, RequestBody, ResponseBody};

const MEMBER: &[u32] = &[SOCKET_GROUP];

/// A root daemon in system mode whose apps may live under `homes`; `extra` is more config.
fn system_daemon(homes: &Path, extra: &str) -> Daemon {
    let config = format!(
        "socket_group = \"{SOCKET_GROUP}\"\nadmin_group = \"{ADMIN_GROUP}\"\n{extra}\n\
         [apps]\nallowed_dirs = [{homes:?}]\nread_pause = \"20ms\"\n",
        homes = homes.display().to_string()
    );
    let mut daemon = Daemon::prepare(&config);
    daemon.spawn();
    let run_dir = daemon.socket.parent().expect("socket dir").to_path_buf();
    let_users_pass(&[daemon.dir.path(), &run_dir]);
    daemon
}

/// A directory for the test users' homes that they can reach.
fn homes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("homes");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Asserts `cachectl` failed with the daemon's error `kind` (as `cachectl` prints it).
fn refused(out: &Output, kind: &str, what: &str) {
    assert_eq!(out.status.code(), Some(4), "{what} must be refused: {}", text(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("error ({kind})")), "{what}: {stderr}");
}

fn ok(out: Output, what: &str) -> String {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const BOB_SECRET: &[u8] = br#"{"password": "bob-s3cret-do-not-leak"}"#;

#[test]
fn a_user_cannot_point_an_app_at_another_users_file_or_folder() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "");
    let (alice, bob) = (TestUser::create(homes.path()), TestUser::create(homes.path()));
    let secret = bob.write("notes/secret.json", BOB_SECRET);
    let mine = alice.write("app/cache.json", br#"{"theme": "dark"}"#);
    let as_alice = |args: &[&str]| alice.ctl(&daemon, MEMBER, args);
    let path = |p: &Path| p.display().to_string();

    ok(as_alice(&["app", "add", "mine", "--path", &path(&mine), "--strategy", "none"]), "add");
    ok(as_alice(&["backup", "create", "mine"]), "backup");
    // Registering or moving the app onto Bob's file: refused as not hers, nothing read.
    refused(
        &as_alice(&["app", "add", "stolen", "--path", &path(&secret), "--strategy", "none"]),
        "permission_denied",
        "app add of another user's file",
    );
    refused(
        &as_alice(&["app", "edit", "mine", "--path", &path(&secret)]),
        "permission_denied",
        "app edit onto another user's file",
    );
    let shown = ok(as_alice(&["--json", "app", "show", "mine"]), "show");
    assert!(shown.contains(&path(&mine)), "the path did not change: {shown}");
    // Through symlinks of her own, to the file or to its folder: refused, never followed.
    let link = alice.home.join("link.json");
    symlink(&secret, &link).expect("symlink");
    alice.own(&link, 0o777);
    let dir_link = alice.home.join("notes");
    symlink(secret.parent().expect("bob's folder"), &dir_link).expect("symlink");
    alice.own(&dir_link, 0o777);
    let via_dir = dir_link.join("secret.json");
    for target in [&link, &via_dir] {
        refused(
            &as_alice(&["app", "edit", "mine", "--path", &path(target)]),
            "invalid_argument",
            "app edit through a symlink",
        );
        refused(
            &as_alice(&["app", "add", "linked", "--path", &path(target), "--strategy", "none"]),
            "invalid_argument",
            "app add through a symlink",
        );
    }
    // What she can still do touches only her file.
    let inspected = ok(as_alice(&["app", "inspect", "mine", "--show-values"]), "inspect");
    assert!(inspected.contains("dark") && !inspected.contains("s3cret"), "{inspected}");
    ok(as_alice(&["app", "set", "mine", "/theme", "\"light\""]), "set");
    ok(as_alice(&["backup", "restore", "mine", "--latest"]), "restore");
    assert_eq!(std::fs::read(&secret).expect("bob's file"), BOB_SECRET, "Bob's file untouched");
    let meta = std::fs::metadata(&secret).expect("bob's file");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (bob.uid, 0o600));
    let meta = std::fs::metadata(&mine).expect("alice's file");
    assert_eq!(meta.uid(), alice.uid, "a restored file stays its owner's");

    // External folders: never created outside what she owns, never in Bob's home.
    let outside = format!("/root/cachemgr-e2e-{}/sub", std::process::id());
    refused(
        &as_alice(&["app", "edit", "mine", "--external-dir", &outside]),
        "permission_denied",
        "an external dir under /root",
    );
    assert!(!Path::new(&outside).parent().expect("parent").exists(), "nothing created in /root");
    let in_bob = bob.home.join("drop");
    refused(
        &as_alice(&["app", "edit", "mine", "--external-dir", &path(&in_bob)]),
        "permission_denied",
        "an external dir in another user's home",
    );
    assert!(!in_bob.exists());
    refused(
        &as_alice(&["app", "edit", "mine", "--external-dir", &path(&dir_link.join("x"))]),
        "invalid_argument",
        "an external dir through a symlink",
    );
    // Her own folder is created for her, hers and private, and gets her copies.
    let ext = alice.home.join("copies/nested");
    ok(as_alice(&["app", "edit", "mine", "--external-dir", &path(&ext)]), "own external dir");
    for dir in [&ext, ext.parent().expect("copies")] {
        let meta = std::fs::metadata(dir).expect("created");
        assert_eq!((meta.uid(), meta.mode() & 0o777), (alice.uid, 0o700), "{}", dir.display());
    }
    let made = ok(as_alice(&["--json", "backup", "create", "mine", "--pin"]), "backup");
    let made: serde_json::Value = serde_json::from_str(&made).expect("json");
    let copy = ext.join(made["name"].as_str().expect("name"));
    assert_eq!(std::fs::metadata(&copy).expect("external copy").uid(), alice.uid);
}

#[test]
fn admins_cannot_repoint_a_users_app_and_a_reused_name_inherits_no_backups() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "");
    let (alice, bob, admin) = (
        TestUser::create(homes.path()),
        TestUser::create(homes.path()),
        TestUser::create(homes.path()),
    );
    let first = alice.write("app/cache.json", br#"{"theme": "dark"}"#);
    let other = alice.write("private/diary.json", br#"{"entry": "alice-private-diary"}"#);
    let path = |p: &Path| p.display().to_string();
    let as_alice = |args: &[&str]| alice.ctl(&daemon, MEMBER, args);
    ok(as_alice(&["app", "add", "shared", "--path", &path(&first), "--strategy", "none"]), "add");
    ok(as_alice(&["backup", "create", "shared"]), "backup");
    // An admin_group member may manage the app, but not point it at another of her files.
    let as_admin = |args: &[&str]| admin.ctl(&daemon, &[SOCKET_GROUP, ADMIN_GROUP], args);
    ok(as_admin(&["app", "show", "shared"]), "an admin sees the app");
    refused(
        &as_admin(&["app", "edit", "shared", "--path", &path(&other)]),
        "permission_denied",
        "an admin re-pointing a user's app",
    );
    let inspected = ok(as_admin(&["app", "inspect", "shared", "--show-values"]), "inspect");
    assert!(!inspected.contains("alice-private-diary"), "{inspected}");
    // Removed with its backups kept: the name is not Bob's to take over with them.
    ok(as_alice(&["app", "remove", "shared"]), "remove");
    let bobs = bob.write("app/cache.json", br#"{"theme": "light"}"#);
    refused(
        &bob.ctl(
            &daemon,
            MEMBER,
            &["app", "add", "shared", "--path", &path(&bobs), "--strategy", "none"],
        ),
        "permission_denied",
        "registering a name whose backups belong to someone else",
    );
    // Alice takes her name back, with her backups.
    ok(
        as_alice(&["app", "add", "shared", "--path", &path(&first), "--strategy", "none"]),
        "re-add",
    );
    let list = ok(as_alice(&["--json", "backup", "list", "shared"]), "list");
    assert!(list.contains("\"manual\""), "her backup is still hers: {list}");
}

#[test]
fn symlinks_swapped_in_while_the_daemon_works_never_reach_another_users_file() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "");
    let (alice, bob) = (TestUser::create(homes.path()), TestUser::create(homes.path()));
    let secret = bob.write("data/cache.json", BOB_SECRET);
    let real = alice.write("data/cache.json", br#"{"theme": "dark"}"#);
    let data = real.parent().expect("alice's data").to_path_buf();
    let path = real.display().to_string();
    let as_alice = |args: &[&str]| alice.ctl(&daemon, MEMBER, args);
    ok(as_alice(&["app", "add", "mine", "--path", &path, "--strategy", "none"]), "add");

    // A thread flips Alice's folder between her real one and a symlink to Bob's, many times.
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, data) = (stop.clone(), data.clone());
        let parked = alice.home.join("data-real");
        let bobs = secret.parent().expect("bob's data").to_path_buf();
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::fs::rename(&data, &parked).expect("park the real folder");
                symlink(&bobs, &data).expect("swap in the link");
                std::thread::yield_now();
                std::fs::remove_file(&data).expect("remove the link");
                std::fs::rename(&parked, &data).expect("put the real folder back");
                flips += 1;
            }
            flips
        })
    };
    let mut outputs = String::new();
    for round in 0..60 {
        let args: &[&str] = match round % 3 {
            0 => &["app", "inspect", "mine", "--show-values"],
            1 => &["backup", "create", "mine"],
            _ => &["app", "set", "mine", "/round", &format!("{round}")],
        };
        outputs.push_str(&text(&as_alice(args)));
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().expect("flipper");
    assert!(flips > 10, "the swap raced the requests ({flips} flips)");
    assert!(!outputs.contains("s3cret"), "Bob's secret leaked: {outputs}");
    assert_eq!(std::fs::read(&secret).expect("bob's file"), BOB_SECRET, "Bob's file untouched");
    let backups = daemon.state_dir().join("backups/mine");
    // Every backup may have met the link (the race decides), and then none was made.
    for entry in std::fs::read_dir(&backups).into_iter().flatten().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&bytes).contains("s3cret"), "{}", entry.path().display());
    }
}

#[test]
fn get_many_of_one_big_key_many_times_is_refused_before_it_eats_memory() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "max_frame_bytes = \"16MiB\"\n");
    let big = vec![7u8; 8 << 20];
    daemon.ctl_with_stdin(&["set", "web", "big"], Some(&big));
    let mallory = TestUser::create(homes.path());
    let peak_before = peak_rss_kib(daemon.pid());
    let mut conn = mallory.connect(&daemon.socket, MEMBER).expect("connect");
    conn.handshake();
    for id in 2..6u64 {
        let keys = vec!["big".to_owned(); 128];
        conn.send(&Request { id, body: RequestBody::GetMany { ns: "web".into(), keys } });
        let answer = conn.recv().expect("an answer");
        assert_eq!(answer.id, id);
        match answer.body {
            ResponseBody::Error { kind, .. } => assert_eq!(kind, ErrorKind::TooLarge),
            other => panic!("expected too_large, got {other:?}"),
        }
    }
    let grown_mib = (peak_rss_kib(daemon.pid()) - peak_before) / 1024;
    assert!(grown_mib < 256, "the daemon's peak RSS grew by {grown_mib} MiB for 1 KiB of requests");
    // Asking for what fits still works.
    let keys = vec!["big".to_owned(); 1];
    conn.send(&Request { id: 9, body: RequestBody::GetMany { ns: "web".into(), keys } });
    assert!(matches!(conn.recv().expect("answer").body, ResponseBody::Values { .. }));
}

fn peak_rss_kib(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("kib")
}

#[test]
fn groups_are_the_ones_the_kernel_recorded_at_connect() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "");
    let user = TestUser::create(homes.path());
    // Two connections of the same user from the same process, with different groups: each
    // is judged by its own, whatever the process's /proc entry says now.
    let mut admin = user.connect(&daemon.socket, &[SOCKET_GROUP, ADMIN_GROUP]).expect("connect");
    let mut plain = user.connect(&daemon.socket, &[SOCKET_GROUP]).expect("connect");
    for conn in [&mut admin, &mut plain] {
        conn.handshake();
        conn.send(&Request { id: 5, body: RequestBody::KeyStatus {} });
    }
    let admin_answer = admin.recv().expect("answer").body;
    assert!(matches!(admin_answer, ResponseBody::KeyStatus { .. }), "{admin_answer:?}");
    match plain.recv().expect("answer").body {
        ResponseBody::Error { kind, .. } => assert_eq!(kind, ErrorKind::PermissionDenied),
        other => panic!("a non-admin got {other:?}"),
    }
}

#[test]
fn one_user_cannot_take_every_connection_and_quiet_ones_are_closed() {
    let homes = homes();
    let extra = "max_connections = 10\nadmin_reserved_connections = 3\n\
                 max_connections_per_user = 3\nidle_timeout = \"2s\"\n";
    let daemon = system_daemon(homes.path(), extra);
    let users: Vec<TestUser> = (0..3).map(|_| TestUser::create(homes.path())).collect();
    let mut held = Vec::new();
    let mut admitted = |user: &TestUser| {
        let mut conn = user.connect(&daemon.socket, MEMBER).expect("connect");
        conn.handshake();
        held.push(conn);
    };
    // A connection over a limit is answered under id 0 at once, before any hello.
    let refusal = |user: &TestUser| {
        let mut conn = user.connect(&daemon.socket, MEMBER).expect("connect");
        match conn.recv().map(|r| (r.id, r.body)) {
            Some((0, ResponseBody::Error { kind, message })) => (kind, message),
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    // Mallory holds her share; the next is refused, and she cannot lock anyone else out.
    for _ in 0..3 {
        admitted(&users[0]);
    }
    let (kind, message) = refusal(&users[0]);
    assert_eq!(kind, ErrorKind::Unavailable);
    assert!(message.contains("max_connections_per_user"), "{message}");
    for _ in 0..3 {
        admitted(&users[1]);
    }
    admitted(&users[2]);
    let (kind, message) = refusal(&users[2]);
    assert_eq!(kind, ErrorKind::Unavailable);
    assert!(message.contains("admin_reserved_connections"), "{message}");
    // An admin still gets in, and can act.
    daemon.ctl_ok(&["ping"]);

    // A subscriber stays while it streams; a quiet connection is told and closed.
    let mut watcher = daemon.raw();
    watcher.handshake();
    let subscribe = RequestBody::Subscribe {
        ns: Some("open".into()),
        pattern: None,
        kinds: None,
        values: false,
        queue: None,
    };
    watcher.send(&Request { id: 3, body: subscribe });
    assert!(matches!(watcher.recv().expect("subscribed").body, ResponseBody::Subscribed { .. }));
    // Opened after the subscriber: once it is closed as idle, the subscriber has been quiet
    // longer than idle_timeout too.
    let mut quiet = daemon.raw();
    quiet.handshake();
    match quiet.recv().map(|r| (r.id, r.body)) {
        Some((0, ResponseBody::Error { kind: ErrorKind::Timeout, .. })) => {}
        other => panic!("an idle connection must be told it timed out: {other:?}"),
    }
    assert!(quiet.is_closed());
    daemon.ctl_ok(&["set", "open", "after-idle", "v"]);
    match watcher.recv().map(|r| r.body) {
        Some(ResponseBody::Event { event }) => {
            assert_eq!(event.key.as_deref(), Some("after-idle"));
        }
        other => panic!("the subscriber must still be served: {other:?}"),
    }
    drop(held);
}

#[test]
fn read_only_mode_refuses_every_bulk_change_and_file_write() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "read_only = true\n");
    daemon.ctl_ok(&["set", "web", "k", "v"]);
    let dump = daemon.dir.path().join("x.cmdump").display().to_string();
    for args in [
        &["del-pattern", "web", "*"][..],
        &["clear", "web", "--pattern", "*"],
        &["expire-pattern", "web", "*", "1h"],
        &["dump", &dump],
        &["clear", "web"],
    ] {
        refused(&daemon.ctl(args), "permission_denied", &format!("{args:?} in read-only mode"));
    }
    assert_eq!(daemon.ctl_ok(&["get", "web", "k"]), "v", "nothing was deleted");
    assert!(!Path::new(&dump).exists(), "no dump file was written");
}

#[test]
fn admin_dumps_never_follow_a_symlink_in_their_directories() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "");
    daemon.ctl_ok(&["set", "web", "k", "v"]);
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    let link = daemon.dir.path().join("out");
    symlink(elsewhere.path(), &link).expect("symlink");
    let target = link.join("cache.cmdump").display().to_string();
    refused(&daemon.ctl(&["dump", &target]), "invalid_argument", "a dump through a symlink");
    assert_eq!(std::fs::read_dir(elsewhere.path()).expect("dir").count(), 0, "nothing written");
    // A member of admin_group is an admin for the cache, but writes files only where they
    // could themselves.
    let admin = TestUser::create(homes.path());
    let into_root = format!("{}/cache.cmdump", daemon.dir.path().display());
    refused(
        &admin.ctl(&daemon, &[SOCKET_GROUP, ADMIN_GROUP], &["dump", &into_root]),
        "permission_denied",
        "an admin_group member dumping into root's directory",
    );
    let own = admin.home.join("mine.cmdump").display().to_string();
    ok(admin.ctl(&daemon, &[SOCKET_GROUP, ADMIN_GROUP], &["dump", &own]), "own dump");
    let meta = std::fs::metadata(&own).expect("dump");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (admin.uid, 0o600), "the dump is theirs");
}

#[test]
fn a_request_too_deep_to_decode_is_answered_under_its_own_id() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "");
    let user = TestUser::create(homes.path());
    let mut conn = user.connect(&daemon.socket, MEMBER).expect("connect");
    conn.handshake();
    // {"body": [[[[...]]]], "id": 77}: the id after ten thousand levels.
    let mut payload = vec![0x82, 0xa4, b'b', b'o', b'd', b'y'];
    payload.extend(std::iter::repeat_n(0x91, 10_000));
    payload.push(0xc0);
    payload.extend([0xa2, b'i', b'd', 77]);
    conn.write(&frame(&payload));
    let answer = conn.recv().expect("an answer");
    assert_eq!(answer.id, 77);
    assert!(matches!(answer.body, ResponseBody::Error { kind: ErrorKind::Malformed, .. }));
    conn.send(&Request { id: 78, body: RequestBody::Ping {} });
    assert_eq!(conn.recv().expect("still served").id, 78);
    // user:<uid> is the one meaning of a private namespace: a user's uid, never a name.
    let own = format!("user:{}", user.uid);
    ok(user.ctl(&daemon, MEMBER, &["set", &own, "k", "v"]), "own namespace");
    refused(
        &user.ctl(&daemon, MEMBER, &["set", &format!("user:{}", user.name), "k", "v"]),
        "permission_denied",
        "user:<login name> is not a private namespace of the user",
    );
    refused(&user.ctl(&daemon, MEMBER, &["get", "user:0", "k"]), "permission_denied", "root's");
}

#[test]
fn a_socket_directory_the_daemon_makes_is_passable_by_the_socket_group() {
    let homes = homes();
    let config = format!("socket_group = \"{SOCKET_GROUP}\"\n");
    let mut daemon = Daemon::prepare(&config);
    daemon.socket = daemon.dir.path().join("made/by/daemon/cachemgrd.sock");
    daemon.spawn();
    let_users_pass(&[daemon.dir.path()]);
    for dir in ["made", "made/by", "made/by/daemon"] {
        let meta = std::fs::metadata(daemon.dir.path().join(dir)).expect("made");
        assert_eq!((meta.mode() & 0o777, meta.gid()), (0o750, SOCKET_GROUP), "{dir}");
    }
    let member = TestUser::create(homes.path());
    ok(member.ctl(&daemon, MEMBER, &["ping"]), "a socket group member reaches the socket");
    let outsider = member.ctl(&daemon, &[], &["ping"]);
    assert_eq!(outsider.status.code(), Some(3), "{}", text(&outsider));
}

#[test]
fn files_and_folders_stay_private_whatever_umask_started_the_daemon() {
    let config = "[namespaces.web]\ntier = \"memory+disk\"\n";
    let mut daemon = Daemon::prepare(config);
    daemon.spawn_with_umask(0o022);
    daemon.ctl_ok(&["set", "web", "k", "v"]);
    let dump = daemon.dir.path().join("web.cmdump");
    daemon.ctl_ok(&["dump", &dump.display().to_string()]);
    let mut checked = 0;
    let mut pending = vec![daemon.state_dir()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("state").flatten() {
            let meta = entry.metadata().expect("meta");
            let mode = meta.mode() & 0o777;
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", entry.path().display());
            if meta.is_dir() {
                pending.push(entry.path());
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "the state dir holds the daemon's files");
    assert_eq!(std::fs::metadata(&dump).expect("dump").mode() & 0o777, 0o600);
}

#[test]
fn paths_the_resolver_cannot_take_are_refused_before_any_handler_runs() {
    let homes = homes();
    let daemon = system_daemon(homes.path(), "");
    let alice = TestUser::create(homes.path());
    let home = alice.home.display().to_string();
    let mut conn = alice.connect(&daemon.socket, MEMBER).expect("connect");
    conn.handshake();
    let sneaky = [
        format!("{home}/../{}/app_info_cache.enc", "other"),
        "relative/app_info_cache.enc".to_owned(),
        format!("{home}/./app_info_cache.enc"),
        format!("{home}/a\0b"),
    ];
    for (id, path) in (10u64..).zip(&sneaky) {
        let settings =
            cachemgr_proto::AppSettings { path: Some(path.clone()), ..Default::default() };
        let body = RequestBody::AppAdd { name: format!("sneaky{id}"), settings };
        conn.send(&Request { id, body });
        let answer = conn.recv().expect("an answer");
        assert_eq!(answer.id, id);
        match answer.body {
            ResponseBody::Error { kind, .. } => {
                assert_eq!(kind, ErrorKind::InvalidArgument, "{path:?}")
            }
            other => panic!("{path:?} must be refused, got {other:?}"),
        }
    }
    let listed = ok(alice.ctl(&daemon, MEMBER, &["app", "list"]), "app list");
    assert!(!listed.contains("sneaky"), "nothing was registered: {listed}");
}
