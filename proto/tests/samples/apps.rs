//! Samples of the app registry: `status`, the `app_*` requests and their answers, with
//! `AppSettings` complete and minimal, every `AppStrategy`, and apps in good and bad health.

use cachemgr_proto::{
    AppHealth, AppInfo, AppSettings, AppStrategy, DaemonStatus, JsonNode, Request, RequestBody,
    Response, ResponseBody,
};

use super::{req, resp};

/// A fixed "now" (2026-11-21T10:00:00Z), as in `keys_dumps`.
pub const NOW_MS: u64 = 1_795_255_200_000;
pub const DAY_MS: u64 = 86_400_000;

pub const SD_RUNNER: &str = "sd-runner";
pub const SD_RUNNER_FILE: &str = "/home/alice/.local/share/sd-runner/app_info_cache.enc";
pub const SD_RUNNER_BACKUPS: &str = "/home/alice/.local/state/cachemgr/backups/sd-runner";
pub const EXTERNAL_DIR: &str = "/mnt/nas/alice/cache-backups";
const SERVICE: &str = "MyPersonalApplicationsService";

/// Every field set: what `app_add` may send and what `app_show` reports for `sd-runner`.
fn sd_runner_settings() -> AppSettings {
    AppSettings {
        path: Some(SD_RUNNER_FILE.into()),
        service: Some(SERVICE.into()),
        app_id: Some("sd_runner".into()),
        strategy: Some(AppStrategy::Standard),
        backup_every_ms: Some(6 * 3_600_000),
        keep_last: Some(10),
        keep_daily: Some(7),
        keep_weekly: Some(4),
        keep_monthly: Some(12),
        stale_after_ms: Some(30 * DAY_MS),
        external_dir: Some(EXTERNAL_DIR.into()),
    }
}

fn sd_runner() -> AppInfo {
    AppInfo {
        name: SD_RUNNER.into(),
        safe_name: SD_RUNNER.into(),
        path: SD_RUNNER_FILE.into(),
        service: SERVICE.into(),
        app_id: "sd_runner".into(),
        strategy: AppStrategy::Standard,
        settings: sd_runner_settings(),
        backup_dir: SD_RUNNER_BACKUPS.into(),
        builtin: false,
        owner_uid: 1000,
        health: AppHealth::Ok,
        health_detail: None,
        last_good_backup_unix_ms: Some(NOW_MS + 900_000),
        backup_count: 14,
        next_backup_unix_ms: Some(NOW_MS + 900_000 + 6 * 3_600_000),
        last_verify_unix_ms: Some(NOW_MS - 3_600_000),
        last_verify_bad: 0,
        bad_reads: 1,
        last_error: None,
    }
}

/// A quantum-encrypted app whose keys are gone, without a schedule or an external copy.
fn photo_tagger() -> AppInfo {
    AppInfo {
        name: "photo-tagger".into(),
        safe_name: "photo-tagger".into(),
        path: "/home/alice/.local/share/photo-tagger/tag_cache.enc".into(),
        service: SERVICE.into(),
        app_id: "photo_tagger".into(),
        strategy: AppStrategy::Quantum,
        settings: AppSettings {
            path: Some("/home/alice/.local/share/photo-tagger/tag_cache.enc".into()),
            service: Some(SERVICE.into()),
            app_id: Some("photo_tagger".into()),
            strategy: Some(AppStrategy::Quantum),
            backup_every_ms: Some(0),
            keep_last: Some(5),
            keep_daily: Some(0),
            keep_weekly: Some(0),
            keep_monthly: Some(0),
            stale_after_ms: Some(7 * DAY_MS),
            external_dir: None,
        },
        backup_dir: "/home/alice/.local/state/cachemgr/backups/photo-tagger".into(),
        builtin: false,
        owner_uid: 1000,
        health: AppHealth::KeyMissing,
        health_detail: Some(
            "photo_tagger__private_key is not in the keyring service \
             MyPersonalApplicationsService"
                .into(),
        ),
        last_good_backup_unix_ms: Some(NOW_MS - 9 * DAY_MS),
        backup_count: 5,
        next_backup_unix_ms: None,
        last_verify_unix_ms: Some(NOW_MS - 2 * DAY_MS),
        last_verify_bad: 1,
        bad_reads: 3,
        last_error: Some("unavailable: photo_tagger__private_key is not in the keyring".into()),
    }
}

/// The daemon's own state, registered automatically: a plain JSON file.
fn builtin_state() -> AppInfo {
    let path = "/home/alice/.local/state/cachemgr/apps.json";
    AppInfo {
        name: "cachemgr".into(),
        safe_name: "cachemgr".into(),
        path: path.into(),
        service: SERVICE.into(),
        app_id: "cachemgr".into(),
        strategy: AppStrategy::None,
        settings: AppSettings {
            path: Some(path.into()),
            service: Some(SERVICE.into()),
            app_id: Some("cachemgr".into()),
            strategy: Some(AppStrategy::None),
            backup_every_ms: Some(DAY_MS),
            keep_last: Some(10),
            keep_daily: Some(0),
            keep_weekly: Some(0),
            keep_monthly: Some(0),
            stale_after_ms: Some(30 * DAY_MS),
            external_dir: None,
        },
        backup_dir: "/home/alice/.local/state/cachemgr/backups/cachemgr".into(),
        builtin: true,
        owner_uid: 1000,
        health: AppHealth::Ok,
        health_detail: None,
        last_good_backup_unix_ms: Some(NOW_MS - 7_200_000),
        backup_count: 10,
        next_backup_unix_ms: Some(NOW_MS - 7_200_000 + DAY_MS),
        last_verify_unix_ms: None,
        last_verify_bad: 0,
        bad_reads: 0,
        last_error: None,
    }
}

pub fn requests() -> Vec<(&'static str, Request)> {
    let name = || SD_RUNNER.to_string();
    vec![
        ("request_status", req(43, RequestBody::Status {})),
        (
            "request_app_add",
            req(44, RequestBody::AppAdd { name: name(), settings: sd_runner_settings() }),
        ),
        (
            "request_app_add_minimal",
            req(
                45,
                RequestBody::AppAdd {
                    name: "photo-tagger".into(),
                    settings: AppSettings {
                        path: Some("/home/alice/.local/share/photo-tagger/tag_cache.enc".into()),
                        ..AppSettings::default()
                    },
                },
            ),
        ),
        (
            // No schedule, no daily rule, no external copy, keep 20; the rest unchanged.
            "request_app_edit",
            req(
                46,
                RequestBody::AppEdit {
                    name: name(),
                    settings: AppSettings {
                        backup_every_ms: Some(0),
                        keep_last: Some(20),
                        keep_daily: Some(0),
                        external_dir: Some(String::new()),
                        ..AppSettings::default()
                    },
                },
            ),
        ),
        (
            "request_app_remove",
            req(47, RequestBody::AppRemove { name: name(), delete_backups: false }),
        ),
        (
            "request_app_remove_delete_backups",
            req(48, RequestBody::AppRemove { name: "photo-tagger".into(), delete_backups: true }),
        ),
        ("request_app_list", req(49, RequestBody::AppList {})),
        ("request_app_show", req(50, RequestBody::AppShow { name: name() })),
        ("request_app_import", req(51, RequestBody::AppImport { cache: None, backups: None })),
        (
            "request_app_import_paths",
            req(
                52,
                RequestBody::AppImport {
                    cache: Some("/home/alice/.local/share/cache_manager/app_info_cache.enc".into()),
                    backups: Some("/mnt/nas/alice/cache_manager_backups".into()),
                },
            ),
        ),
        (
            "request_app_inspect",
            req(
                53,
                RequestBody::AppInspect {
                    name: name(),
                    pointer: Some("/settings".into()),
                    show_values: true,
                    depth: Some(1),
                },
            ),
        ),
        (
            "request_app_inspect_root",
            req(
                54,
                RequestBody::AppInspect {
                    name: name(),
                    pointer: None,
                    show_values: false,
                    depth: None,
                },
            ),
        ),
        (
            "request_app_set",
            req(
                55,
                RequestBody::AppSet {
                    name: name(),
                    pointer: "/settings/default_steps".into(),
                    value_json: "40".into(),
                },
            ),
        ),
        (
            "request_app_migrate",
            req(56, RequestBody::AppMigrate { name: name(), strategy: Some(AppStrategy::Quantum) }),
        ),
        (
            "request_app_migrate_new_keys",
            req(57, RequestBody::AppMigrate { name: name(), strategy: None }),
        ),
    ]
}

pub fn responses() -> Vec<(&'static str, Response)> {
    let node =
        |pointer: &str, kind: &str, bytes: u64, items: Option<u64>, value: Option<&str>| JsonNode {
            pointer: pointer.into(),
            kind: kind.into(),
            bytes,
            items,
            value: value.map(str::to_owned),
        };
    vec![
        (
            "response_status_healthy",
            resp(
                43,
                ResponseBody::Status(Box::new(DaemonStatus {
                    healthy: true,
                    apps: 2,
                    problems: vec![],
                    notices: vec![],
                    redis: None,
                    jobs: vec![],
                })),
            ),
        ),
        (
            "response_status_problems",
            resp(
                43,
                ResponseBody::Status(Box::new(DaemonStatus {
                    healthy: false,
                    apps: 3,
                    problems: vec![
                        "photo-tagger: key_missing: photo_tagger__private_key is not in the \
                         keyring service MyPersonalApplicationsService"
                            .into(),
                        "sd-runner: stale: the last good backup is 41 days old (stale after 30 \
                         days)"
                            .into(),
                        "redis: circuit breaker open for 4s (GET: Connection refused (os error \
                         111)); serving from the local layers"
                            .into(),
                    ],
                    notices: vec![
                        "ephemeral key: no key source was available, so values on disk are \
                         unreadable after the daemon stops"
                            .into(),
                    ],
                    redis: Some(cachemgr_proto::RedisStatus {
                        url: "redis://***@10.0.0.5:6379/0".into(),
                        breaker: "open".into(),
                        consecutive_failures: 5,
                        since_ms: 4_200,
                        times_opened: 1,
                        last_error: Some("GET: Connection refused (os error 111)".into()),
                        invalidations_live: false,
                        degraded: 1_310,
                        refused: 42,
                    }),
                    jobs: vec![
                        cachemgr_proto::JobStatus {
                            name: "pressure-monitor".into(),
                            running: true,
                            restarts: 1,
                            last_failure: Some("it panicked: index out of range".into()),
                        },
                        cachemgr_proto::JobStatus {
                            name: "store-sweeper".into(),
                            running: true,
                            restarts: 0,
                            last_failure: None,
                        },
                    ],
                })),
            ),
        ),
        ("response_app", resp(50, ResponseBody::App(Box::new(sd_runner())))),
        ("response_app_key_missing", resp(50, ResponseBody::App(Box::new(photo_tagger())))),
        (
            "response_apps",
            resp(
                49,
                ResponseBody::Apps { apps: vec![builtin_state(), photo_tagger(), sd_runner()] },
            ),
        ),
        ("response_apps_empty", resp(49, ResponseBody::Apps { apps: vec![] })),
        (
            "response_imported",
            resp(
                51,
                ResponseBody::Imported {
                    apps: vec!["photo-tagger".into(), SD_RUNNER.into()],
                    backups: 37,
                    skipped: vec![
                        "simple-image-compare: /home/alice/.local/share/simple-image-compare/\
                         app_info_cache.enc does not exist"
                            .into(),
                        "backup sd-runner_20250102_120000.enc: does not decrypt".into(),
                    ],
                },
            ),
        ),
        (
            "response_imported_all",
            resp(
                52,
                ResponseBody::Imported {
                    apps: vec![SD_RUNNER.into()],
                    backups: 12,
                    skipped: vec![],
                },
            ),
        ),
        (
            "response_inspected",
            resp(
                53,
                ResponseBody::Inspected {
                    app: SD_RUNNER.into(),
                    nodes: vec![
                        node("/settings", "object", 94, Some(4), None),
                        node("/settings/default_steps", "number", 2, None, Some("30")),
                        node(
                            "/settings/output_dir",
                            "string",
                            25,
                            None,
                            Some("\"/home/alice/Pictures/sd\""),
                        ),
                        node("/settings/upscale", "bool", 5, None, Some("false")),
                        node("/settings/last_prompt", "null", 4, None, Some("null")),
                    ],
                },
            ),
        ),
        (
            "response_app_modified",
            resp(
                55,
                ResponseBody::AppModified {
                    app: SD_RUNNER.into(),
                    backup: "sd-runner_20261121_103000.enc".into(),
                },
            ),
        ),
        (
            "response_migrated",
            resp(
                56,
                ResponseBody::Migrated {
                    app: SD_RUNNER.into(),
                    strategy: AppStrategy::Quantum,
                    backups: 14,
                },
            ),
        ),
    ]
}
