//! Canned answers of the mock daemon for `status`, `app_*` and `backup_*`.
//!
//! `status` is always unhealthy (one stale app). `app_show missing` is refused as an unknown
//! app. `app_add` / `app_edit` echo the settings they got as the app's, so a test sees the
//! paths the CLI sent. The streamed requests send their progress frames at once, then the
//! answer: `backup_create` 0, 512, 1024 of 1024 bytes; `backup_verify` one file per backup
//! (two for an app, three for `--all`, one of them bad); `app_migrate` and `app_import` two
//! files / steps.

use cachemgr_proto::{
    AppHealth, AppInfo, AppSettings, AppStrategy, BackupInfo, BackupSource, BadBackup,
    DaemonStatus, ErrorKind, JsonNode, RequestBody, Response, ResponseBody,
};

use super::answers::now_ms;

const HOUR: u64 = 3_600_000;

fn app(name: &str, settings: AppSettings) -> AppInfo {
    let path = settings.path.clone().unwrap_or_else(|| format!("/srv/{name}/cache.enc"));
    AppInfo {
        name: name.into(),
        safe_name: name.into(),
        path,
        service: "MyPersonalApplicationsService".into(),
        app_id: name.into(),
        strategy: settings.strategy.unwrap_or(AppStrategy::Standard),
        settings,
        backup_dir: format!("/backups/{name}"),
        builtin: false,
        owner_uid: 1000,
        health: AppHealth::Ok,
        health_detail: None,
        last_good_backup_unix_ms: Some(now_ms() - 3 * HOUR),
        backup_count: 4,
        next_backup_unix_ms: Some(now_ms() + 3 * HOUR + 60_000),
        last_verify_unix_ms: None,
        last_verify_bad: 0,
        bad_reads: 0,
        last_error: None,
    }
}

fn backup(name: &str, kept_because: &[&str]) -> BackupInfo {
    BackupInfo {
        name: name.into(),
        path: format!("/backups/sd/{name}"),
        created_unix_ms: now_ms() - HOUR,
        size: 1024,
        sha256: "00112233445566778899aabbccddeeff".into(),
        verified: true,
        pinned: false,
        note: None,
        source: BackupSource::Manual,
        external_path: None,
        kept_because: kept_because.iter().map(|why| (*why).to_owned()).collect(),
        quarantined: None,
    }
}

fn progress(what: &str, done: u64, total: u64, unit: &str) -> ResponseBody {
    ResponseBody::Progress { ns: what.into(), done, total, unit: Some(unit.into()) }
}

/// The frames a streamed request is answered with (progress first), or `None` when `body`
/// is not one of the streamed app requests.
pub fn stream(body: &RequestBody) -> Option<Vec<ResponseBody>> {
    let frames = match body {
        RequestBody::BackupCreate { app, pin, note } => {
            let mut made = backup("sd_20261121_100000.enc", &["last 10"]);
            made.pinned = *pin;
            made.note.clone_from(note);
            let name = made.name.clone();
            let mut frames: Vec<ResponseBody> =
                [0, 512, 1024].iter().map(|done| progress(&name, *done, 1024, "bytes")).collect();
            if app == "sd" {
                frames.push(ResponseBody::Backup(Box::new(made)));
            } else {
                frames.push(ResponseBody::Error {
                    kind: ErrorKind::Storage,
                    message: "no space left on device".into(),
                });
            }
            frames
        }
        RequestBody::BackupVerify { app } => {
            let total = if app.is_some() { 2 } else { 3 };
            let mut frames: Vec<ResponseBody> =
                (0..=total).map(|done| progress("verify", done, total, "files")).collect();
            let bad = if app.is_some() {
                vec![]
            } else {
                vec![BadBackup {
                    app: "notes".into(),
                    backup: "notes_1.enc".into(),
                    error: "GCM tag mismatch".into(),
                }]
            };
            frames.push(ResponseBody::Verified { checked: total, bad });
            frames
        }
        RequestBody::AppMigrate { name, strategy } => vec![
            progress(name, 1, 2, "files"),
            progress(name, 2, 2, "files"),
            ResponseBody::Migrated {
                app: name.clone(),
                strategy: strategy.unwrap_or(AppStrategy::Standard),
                backups: 1,
            },
        ],
        RequestBody::AppImport { .. } => vec![
            progress("import", 1, 2, "steps"),
            progress("import", 2, 2, "steps"),
            ResponseBody::Imported { apps: vec!["sd".into()], backups: 3, skipped: vec![] },
        ],
        _ => return None,
    };
    Some(frames)
}

/// The answer to a single-response app request, or `None` when `body` is not one.
pub fn answer(id: u64, body: &RequestBody) -> Option<Response> {
    let body = match body {
        RequestBody::Status {} => ResponseBody::Status(Box::new(DaemonStatus {
            healthy: false,
            apps: 2,
            problems: vec!["notes: stale: last good backup is 40 days old".into()],
            notices: vec![],
            redis: None,
            jobs: vec![],
        })),
        RequestBody::AppList {} => {
            let mut notes = app("notes", AppSettings::default());
            notes.health = AppHealth::Stale;
            notes.health_detail = Some("last good backup is 40 days old".into());
            notes.last_good_backup_unix_ms = Some(now_ms() - 40 * 24 * HOUR);
            notes.next_backup_unix_ms = None;
            ResponseBody::Apps { apps: vec![notes, app("sd", AppSettings::default())] }
        }
        RequestBody::AppShow { name } if name == "missing" => {
            return Some(Response::error(id, ErrorKind::InvalidArgument, "no app named missing"))
        }
        RequestBody::AppShow { name } => ResponseBody::App(Box::new(app(name, Default::default()))),
        RequestBody::AppAdd { name, settings } | RequestBody::AppEdit { name, settings } => {
            ResponseBody::App(Box::new(app(name, settings.clone())))
        }
        RequestBody::AppRemove { .. } => ResponseBody::Done {},
        RequestBody::AppInspect { name, .. } => ResponseBody::Inspected {
            app: name.clone(),
            nodes: vec![
                JsonNode {
                    pointer: String::new(),
                    kind: "object".into(),
                    bytes: 20,
                    items: Some(1),
                    value: None,
                },
                JsonNode {
                    pointer: "/theme".into(),
                    kind: "string".into(),
                    bytes: 6,
                    items: None,
                    value: None,
                },
            ],
        },
        RequestBody::AppSet { name, .. } => {
            ResponseBody::AppModified { app: name.clone(), backup: "sd_before.enc".into() }
        }
        RequestBody::BackupList { app } => ResponseBody::Backups {
            app: app.clone(),
            backups: vec![backup("sd_2.enc", &["last 10"]), backup("sd_1.enc", &[])],
        },
        RequestBody::BackupPrune { app, dry_run } => ResponseBody::Pruned {
            app: app.clone(),
            dry_run: *dry_run,
            removed: vec![backup("sd_1.enc", &["older than the 10 kept by the rules"])],
            kept: 10,
        },
        RequestBody::BackupRestore { app, backup } => ResponseBody::AppRestored {
            app: app.clone(),
            backup: backup.clone().unwrap_or_else(|| "newest.enc".into()),
            saved_as: Some("sd_saved.enc".into()),
            quarantined: None,
        },
        _ => return None,
    };
    Some(Response { id, body })
}
