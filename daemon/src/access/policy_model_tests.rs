//! The request table against a small model written apart from it: for every request kind,
//! every caller class, several namespaces and read-only mode on or off, `check` must decide
//! exactly as the model does. The sample list is kept exhaustive by `variant_index`, a match
//! without a catch-all: a new request does not compile here until it has a sample.

use cachemgr_proto::{
    AppSettings, DirSettings, Entry, KeyPattern, PeerIdentity, RequestBody, RestoreMode,
    SetCondition,
};
use proptest::prelude::*;
use serde_bytes::ByteBuf;

use super::{check, Caller};
use crate::config::{Config, NamespaceConfig};

const OWNER: u32 = 1000;
const READER_GROUP: u32 = 4244;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Admin,
    Owner,
    Reader,
    Stranger,
}

fn caller(class: Class) -> Caller {
    let (uid, groups, admin) = match class {
        Class::Admin => (0, vec![0], true),
        Class::Owner => (OWNER, vec![OWNER], false),
        Class::Reader => (1001, vec![1001, READER_GROUP], false),
        Class::Stranger => (1002, vec![1002], false),
    };
    Caller { peer: PeerIdentity { uid, gid: uid, pid: 1 }, name: None, groups, admin }
}

/// One request of every kind about `ns`, app `app`, and `path` wherever a path is named.
fn samples(ns: &str, app: &str, path: &str) -> Vec<RequestBody> {
    let (ns, app, path) = (ns.to_owned(), app.to_owned(), path.to_owned());
    let pattern = KeyPattern::glob("*");
    let app_settings = AppSettings {
        path: Some(path.clone()),
        external_dir: Some(path.clone()),
        ..AppSettings::default()
    };
    vec![
        RequestBody::Hello { protocol: 1, client: "t".into() },
        RequestBody::Ping {},
        RequestBody::Info {},
        RequestBody::Stats { ns: None },
        RequestBody::Stats { ns: Some(ns.clone()) },
        RequestBody::ListNamespaces {},
        RequestBody::Set {
            ns: ns.clone(),
            key: "k".into(),
            value: ByteBuf::new(),
            ttl_ms: None,
            condition: SetCondition::Always,
        },
        RequestBody::Get { ns: ns.clone(), key: "k".into() },
        RequestBody::Delete { ns: ns.clone(), keys: vec![] },
        RequestBody::Exists { ns: ns.clone(), key: "k".into() },
        RequestBody::Ttl { ns: ns.clone(), key: "k".into() },
        RequestBody::Expire { ns: ns.clone(), key: "k".into(), ttl_ms: None },
        RequestBody::GetMany { ns: ns.clone(), keys: vec![] },
        RequestBody::SetMany {
            ns: ns.clone(),
            entries: vec![Entry { key: "k".into(), value: ByteBuf::new(), ttl_ms: None }],
        },
        RequestBody::Keys { ns: ns.clone(), pattern: None, cursor: 0, count: 1 },
        RequestBody::PatternStats { ns: ns.clone(), pattern: None },
        RequestBody::DeletePattern { ns: ns.clone(), pattern: pattern.clone() },
        RequestBody::ExpirePattern { ns: ns.clone(), pattern: pattern.clone(), ttl_ms: None },
        RequestBody::Clear { ns: ns.clone() },
        RequestBody::ClearAll {},
        RequestBody::Reload {},
        RequestBody::Shutdown {},
        RequestBody::KeyStatus {},
        RequestBody::KeyRotate { ns: None, clear: false },
        RequestBody::Dump { path: path.clone(), ns: None, pattern: None },
        RequestBody::Restore { path: path.clone(), ns: None, mode: RestoreMode::Merge },
        RequestBody::AutodumpStart { path: path.clone(), every_ms: 1, ns: None, pattern: None },
        RequestBody::AutodumpChange { every_ms: None, path: None },
        RequestBody::AutodumpChange { every_ms: None, path: Some(path.clone()) },
        RequestBody::AutodumpStop {},
        RequestBody::AutodumpStatus {},
        RequestBody::Status {},
        RequestBody::AppAdd { name: app.clone(), settings: AppSettings::default() },
        RequestBody::AppAdd { name: app.clone(), settings: app_settings.clone() },
        RequestBody::AppEdit { name: app.clone(), settings: AppSettings::default() },
        RequestBody::AppEdit { name: app.clone(), settings: app_settings },
        RequestBody::AppRemove { name: app.clone(), delete_backups: false },
        RequestBody::AppList {},
        RequestBody::AppShow { name: app.clone() },
        RequestBody::AppImport { cache: None, backups: None },
        RequestBody::AppImport { cache: Some(path.clone()), backups: Some(path.clone()) },
        RequestBody::AppInspect {
            name: app.clone(),
            pointer: None,
            show_values: true,
            depth: None,
        },
        RequestBody::AppSet { name: app.clone(), pointer: "/a".into(), value_json: "1".into() },
        RequestBody::AppMigrate { name: app.clone(), strategy: None },
        RequestBody::BackupCreate { app: app.clone(), pin: false, note: None },
        RequestBody::BackupList { app: app.clone() },
        RequestBody::BackupPrune { app: app.clone(), dry_run: false },
        RequestBody::BackupVerify { app: None },
        RequestBody::BackupVerify { app: Some(app.clone()) },
        RequestBody::BackupRestore { app: app.clone(), backup: None },
        RequestBody::DirAdd { path: path.clone(), settings: DirSettings::default() },
        RequestBody::DirList {},
        RequestBody::DirRemove { path: path.clone() },
        RequestBody::DirClear { path: path.clone(), dry_run: false },
        RequestBody::DirTrim { path: None, dry_run: false },
        RequestBody::PressureStatus {},
        RequestBody::PressureCheck {},
        RequestBody::ScheduleList {},
        RequestBody::Subscribe { ns: None, pattern: None, kinds: None, values: false, queue: None },
        RequestBody::Subscribe {
            ns: Some(ns),
            pattern: None,
            kinds: None,
            values: false,
            queue: None,
        },
        RequestBody::Metrics {},
    ]
}

/// Exhaustive on purpose (no `_` arm): a new request kind must be added to [`samples`].
fn variant_index(body: &RequestBody) -> usize {
    use RequestBody as R;
    match body {
        R::Hello { .. } => 0,
        R::Ping {} => 1,
        R::Info {} => 2,
        R::Stats { .. } => 3,
        R::ListNamespaces {} => 4,
        R::Set { .. } => 5,
        R::Get { .. } => 6,
        R::Delete { .. } => 7,
        R::Exists { .. } => 8,
        R::Ttl { .. } => 9,
        R::Expire { .. } => 10,
        R::GetMany { .. } => 11,
        R::SetMany { .. } => 12,
        R::Keys { .. } => 13,
        R::PatternStats { .. } => 14,
        R::DeletePattern { .. } => 15,
        R::ExpirePattern { .. } => 16,
        R::Clear { .. } => 17,
        R::ClearAll {} => 18,
        R::Reload {} => 19,
        R::Shutdown {} => 20,
        R::KeyStatus {} => 21,
        R::KeyRotate { .. } => 22,
        R::Dump { .. } => 23,
        R::Restore { .. } => 24,
        R::AutodumpStart { .. } => 25,
        R::AutodumpChange { .. } => 26,
        R::AutodumpStop {} => 27,
        R::AutodumpStatus {} => 28,
        R::Status {} => 29,
        R::AppAdd { .. } => 30,
        R::AppEdit { .. } => 31,
        R::AppRemove { .. } => 32,
        R::AppList {} => 33,
        R::AppShow { .. } => 34,
        R::AppImport { .. } => 35,
        R::AppInspect { .. } => 36,
        R::AppSet { .. } => 37,
        R::AppMigrate { .. } => 38,
        R::BackupCreate { .. } => 39,
        R::BackupList { .. } => 40,
        R::BackupPrune { .. } => 41,
        R::BackupVerify { .. } => 42,
        R::BackupRestore { .. } => 43,
        R::DirAdd { .. } => 44,
        R::DirList {} => 45,
        R::DirRemove { .. } => 46,
        R::DirClear { .. } => 47,
        R::DirTrim { .. } => 48,
        R::PressureStatus {} => 49,
        R::PressureCheck {} => 50,
        R::ScheduleList {} => 51,
        R::Subscribe { .. } => 52,
        R::Metrics {} => 53,
    }
}
const KINDS: usize = 54;

/// What changes state, by name: refused in read-only mode.
const CHANGES_STATE: &[&str] = &[
    "delete_pattern",
    "expire_pattern",
    "clear",
    "clear_all",
    "reload",
    "shutdown",
    "key_rotate",
    "dump",
    "restore",
    "autodump_start",
    "autodump_change",
    "autodump_stop",
    "pressure_check",
    "app_import",
    "app_add",
    "app_edit",
    "app_remove",
    "app_set",
    "app_migrate",
    "backup_create",
    "backup_prune",
    "backup_restore",
    "dir_add",
    "dir_remove",
    "dir_clear",
    "dir_trim",
];
const FOR_ANYONE: &[&str] = &[
    "hello",
    "ping",
    "info",
    "status",
    "list_namespaces",
    "app_list",
    "pressure_status",
    "schedule_list",
    "dir_list",
    "metrics",
    "app_add",
];
const READS_NS: &[&str] = &["get", "exists", "ttl", "get_many", "keys", "pattern_stats"];
const WRITES_NS: &[&str] =
    &["set", "delete", "expire", "set_many", "delete_pattern", "expire_pattern", "clear"];
const FOR_APP_OWNER: &[&str] = &[
    "app_show",
    "app_inspect",
    "app_edit",
    "app_remove",
    "app_set",
    "app_migrate",
    "backup_create",
    "backup_list",
    "backup_prune",
    "backup_restore",
];

/// Whether the sample names a filesystem path (one the daemon opens for it).
fn model_names_path(body: &RequestBody) -> bool {
    match body {
        RequestBody::Dump { .. }
        | RequestBody::Restore { .. }
        | RequestBody::AutodumpStart { .. }
        | RequestBody::DirAdd { .. } => true,
        RequestBody::AutodumpChange { path, .. } => path.is_some(),
        RequestBody::AppImport { cache, backups } => cache.is_some() || backups.is_some(),
        RequestBody::AppAdd { settings, .. } | RequestBody::AppEdit { settings, .. } => {
            settings.path.is_some() || settings.external_dir.is_some()
        }
        _ => false,
    }
}

/// A path the resolver can take: absolute, no `.`/`..` component, no NUL.
fn model_plain(path: &str) -> bool {
    path.starts_with('/') && !path.contains('\0') && !path.split('/').any(|c| c == "." || c == "..")
}

/// Whether `ns` is the private namespace of the class's uid.
fn own_private(class: Class, ns: &str) -> bool {
    ns == format!("user:{}", caller(class).peer.uid)
}

fn model_reads(class: Class, ns: &str) -> bool {
    match (class, ns) {
        (Class::Admin, _) => true,
        (_, ns) if ns.starts_with("user:") => own_private(class, ns),
        (_, "team") => class == Class::Reader,
        _ => true,
    }
}

fn model_writes(class: Class, ns: &str) -> bool {
    match (class, ns) {
        (Class::Admin, _) => true,
        (_, ns) if ns.starts_with("user:") => own_private(class, ns),
        (_, "team" | "broadcast") => false,
        _ => true,
    }
}

/// The model's decision: allowed or not.
fn model(body: &RequestBody, class: Class, read_only: bool) -> bool {
    let name = body.name();
    if read_only && CHANGES_STATE.contains(&name) {
        return false;
    }
    let scoped_ns = match body {
        RequestBody::Stats { ns } | RequestBody::Subscribe { ns, .. } => Some(ns.as_deref()),
        _ => None,
    };
    match scoped_ns {
        Some(None) => return true,
        Some(Some(ns)) => return model_reads(class, ns),
        None => {}
    }
    let ns = match body {
        RequestBody::Get { ns, .. }
        | RequestBody::Exists { ns, .. }
        | RequestBody::Ttl { ns, .. }
        | RequestBody::GetMany { ns, .. }
        | RequestBody::Keys { ns, .. }
        | RequestBody::PatternStats { ns, .. }
        | RequestBody::Set { ns, .. }
        | RequestBody::Delete { ns, .. }
        | RequestBody::Expire { ns, .. }
        | RequestBody::SetMany { ns, .. }
        | RequestBody::DeletePattern { ns, .. }
        | RequestBody::ExpirePattern { ns, .. }
        | RequestBody::Clear { ns } => ns.as_str(),
        _ => "",
    };
    if FOR_ANYONE.contains(&name) {
        true
    } else if READS_NS.contains(&name) {
        model_reads(class, ns)
    } else if WRITES_NS.contains(&name) {
        model_writes(class, ns)
    } else if FOR_APP_OWNER.contains(&name)
        || matches!(body, RequestBody::BackupVerify { app: Some(_) })
    {
        matches!(class, Class::Admin | Class::Owner)
    } else {
        class == Class::Admin
    }
}

fn config(read_only: bool) -> Config {
    let mut config = Config { read_only, ..Config::default() };
    let team = NamespaceConfig {
        readers: Some(vec![format!("@{READER_GROUP}")]),
        writers: Some(vec!["0".into()]),
        ..NamespaceConfig::default()
    };
    config.namespaces.insert("team".into(), team);
    config
}

#[test]
fn the_samples_cover_every_request_kind() {
    let mut seen = [false; KINDS];
    for body in samples("open", "app", "/tmp/x") {
        seen[variant_index(&body)] = true;
    }
    let missing: Vec<usize> = (0..KINDS).filter(|&i| !seen[i]).collect();
    assert!(missing.is_empty(), "no sample of request kinds {missing:?}");
}

proptest! {
    #[test]
    fn the_table_decides_as_the_model(
        class in prop::sample::select(vec![Class::Admin, Class::Owner, Class::Reader, Class::Stranger]),
        ns in prop::sample::select(vec!["open", "user:1000", "team", "broadcast", "user:1001"]),
        app in prop::sample::select(vec!["owned", "missing"]),
        read_only in any::<bool>(),
        path in prop::sample::select(vec!["/tmp/x", "tmp/x", "/tmp/../etc/x", "/tmp/./x", "/tmp/x\0y", "/", "/tmp/x.."]),
    ) {
        let config = config(read_only);
        let who = caller(class);
        let owner_of = |name: &str| Some((name == "owned").then_some(OWNER));
        for body in samples(ns, app, path) {
            let decided = check(&who, &body, &config, owner_of).is_ok();
            // An app nobody registered is refused alike for everyone ("no such app").
            let names_app = FOR_APP_OWNER.contains(&body.name())
                || matches!(body, RequestBody::BackupVerify { app: Some(_) });
            let expected = model(&body, class, read_only)
                && !(app == "missing" && names_app)
                && (model_plain(path) || !model_names_path(&body));
            prop_assert_eq!(decided, expected, "{} as {:?} on {:?}, read_only {}", body.name(), class, ns, read_only);
        }
    }
}
