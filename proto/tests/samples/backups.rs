//! Samples of the `backup_*` requests and their answers (every `BackupSource`, pinned and
//! unpinned, verified or not, with and without an external copy), `progress` with a `unit`,
//! and the errors the app and backup operations answer with.

use cachemgr_proto::{
    BackupInfo, BackupSource, BadBackup, ErrorKind, Request, RequestBody, Response, ResponseBody,
};

use super::apps::{EXTERNAL_DIR, NOW_MS, SD_RUNNER, SD_RUNNER_BACKUPS};
use super::{req, resp};

/// SHA-256 of made-up backup contents, so that each backup has a distinct, real-looking hash.
const SHA256: [&str; 8] = [
    "c3a00d80842e67069aebb4c48655ee2d54bb370aa4ad5469cc8b3f8aa6ea15cc",
    "257ef7b297be5c5e8d2c6adcc9fb360617ddcee52ee3a1ff5f135072b3fc88b3",
    "f7cbc9a0c3c4e21c58b947b8a0efafede20c62ce3729a4122ad8995a03e9b438",
    "bd3f3c6a702e7492e1bc24c117cff31e925de5eb9238a4fa7390f8fd5b2a7254",
    "9ad2e60da8c6d23df61a2c504d9d4fe6298795abd02949f6c32a4ffcdc675a5e",
    "a7a020c55f0d48e7716450141242f35148ca143d82a47dab1bb1f878f45cd049",
    "03a096e1d20f42fbce3e407af623ca503110dc62d3da52ed447e136329ef020d",
    "54319edaa73df47a984becf6b97fef2b87dc427754b0cacec59eefce258a232f",
];

/// A backup of `sd-runner` taken at `stamp` (`YYYYMMDD_HHMMSS`, UTC), `offset_ms` from now,
/// verified, unpinned, with its external copy.
fn backup(
    i: usize,
    stamp: &str,
    offset_ms: i64,
    source: BackupSource,
    kept: &[&str],
) -> BackupInfo {
    let name = format!("{SD_RUNNER}_{stamp}.enc");
    BackupInfo {
        path: format!("{SD_RUNNER_BACKUPS}/{name}"),
        external_path: Some(format!("{EXTERNAL_DIR}/{SD_RUNNER}/{name}")),
        name,
        created_unix_ms: NOW_MS.checked_add_signed(offset_ms).unwrap(),
        size: 48_256 - 64 * i as u64,
        sha256: SHA256[i].into(),
        verified: true,
        pinned: false,
        note: None,
        source,
        kept_because: kept.iter().map(|k| k.to_string()).collect(),
        quarantined: None,
    }
}

fn pinned_manual() -> BackupInfo {
    BackupInfo {
        pinned: true,
        note: Some("before upgrading sd-runner to 2.0".into()),
        ..backup(
            0,
            "20261121_101500",
            900_000,
            BackupSource::Manual,
            &["pinned", "last 10", "daily 2026-11-21", "weekly 2026-W47", "monthly 2026-11"],
        )
    }
}

/// Adopted from the Python Cache Manager, never copied outside, failed its last verification
/// and so moved to quarantine.
fn damaged_import() -> BackupInfo {
    let why = "the GCM tag does not match: damaged, or encrypted for other keys";
    BackupInfo {
        verified: false,
        external_path: None,
        path: format!("{SD_RUNNER_BACKUPS}/quarantine/{SD_RUNNER}_20260930_070000.enc"),
        quarantined: Some(why.into()),
        ..backup(
            7,
            "20260930_070000",
            -4_503_600_000,
            BackupSource::Imported,
            &[format!("quarantined: {why}").as_str()],
        )
    }
}

fn all_backups() -> Vec<BackupInfo> {
    use BackupSource::*;
    vec![
        pinned_manual(),
        backup(1, "20261121_040000", -21_600_000, Schedule, &["last 10"]),
        backup(2, "20261120_183212", -55_668_000, Change, &["last 10", "daily 2026-11-20"]),
        backup(3, "20261119_220000", -129_600_000, BeforeRestore, &["last 10", "daily 2026-11-19"]),
        backup(4, "20261116_093000", -433_800_000, BeforeModify, &["last 10", "daily 2026-11-16"]),
        backup(
            5,
            "20261102_080000",
            -1_648_800_000,
            BeforeMigrate,
            &["last 10", "daily 2026-11-02", "weekly 2026-W45"],
        ),
        BackupInfo {
            external_path: None,
            ..backup(
                6,
                "20261015_120000",
                -3_189_600_000,
                Imported,
                &["last 10", "daily 2026-10-15", "weekly 2026-W42", "monthly 2026-10"],
            )
        },
        damaged_import(),
    ]
}

pub fn requests() -> Vec<(&'static str, Request)> {
    let app = || SD_RUNNER.to_string();
    vec![
        (
            "request_backup_create",
            req(
                58,
                RequestBody::BackupCreate {
                    app: app(),
                    pin: true,
                    note: Some("before upgrading sd-runner to 2.0".into()),
                },
            ),
        ),
        (
            "request_backup_create_plain",
            req(59, RequestBody::BackupCreate { app: app(), pin: false, note: None }),
        ),
        ("request_backup_list", req(60, RequestBody::BackupList { app: app() })),
        ("request_backup_prune", req(61, RequestBody::BackupPrune { app: app(), dry_run: false })),
        (
            "request_backup_prune_dry_run",
            req(62, RequestBody::BackupPrune { app: app(), dry_run: true }),
        ),
        ("request_backup_verify_all", req(63, RequestBody::BackupVerify { app: None })),
        ("request_backup_verify_app", req(64, RequestBody::BackupVerify { app: Some(app()) })),
        (
            "request_backup_restore_newest",
            req(65, RequestBody::BackupRestore { app: app(), backup: None }),
        ),
        (
            "request_backup_restore_named",
            req(
                66,
                RequestBody::BackupRestore {
                    app: app(),
                    backup: Some("sd-runner_20261121_040000.enc".into()),
                },
            ),
        ),
    ]
}

pub fn responses() -> Vec<(&'static str, Response)> {
    let mut list = vec![
        (
            "response_progress_bytes",
            resp(
                58,
                ResponseBody::Progress {
                    ns: SD_RUNNER.into(),
                    done: 32_768,
                    total: 48_256,
                    unit: Some("bytes".into()),
                },
            ),
        ),
        (
            "response_progress_files",
            resp(
                63,
                ResponseBody::Progress {
                    ns: "photo-tagger".into(),
                    done: 3,
                    total: 5,
                    unit: Some("files".into()),
                },
            ),
        ),
        ("response_backup", resp(58, ResponseBody::Backup(Box::new(pinned_manual())))),
        (
            "response_backups",
            resp(60, ResponseBody::Backups { app: SD_RUNNER.into(), backups: all_backups() }),
        ),
        (
            "response_pruned_dry_run",
            resp(
                62,
                ResponseBody::Pruned {
                    app: SD_RUNNER.into(),
                    dry_run: true,
                    // A damaged backup is never pruned: a good one past the rules goes.
                    removed: vec![backup(
                        6,
                        "20261015_120000",
                        -3_189_600_000,
                        BackupSource::Imported,
                        &["older than the 10 kept by the rules"],
                    )],
                    kept: 7,
                },
            ),
        ),
        (
            "response_pruned_nothing",
            resp(
                61,
                ResponseBody::Pruned {
                    app: SD_RUNNER.into(),
                    dry_run: false,
                    removed: vec![],
                    kept: 14,
                },
            ),
        ),
        (
            "response_verified",
            resp(
                63,
                ResponseBody::Verified {
                    checked: 29,
                    bad: vec![BadBackup {
                        app: "photo-tagger".into(),
                        backup: "photo-tagger_20261012_080000.enc".into(),
                        error: "does not decrypt: AES-GCM tag mismatch".into(),
                    }],
                },
            ),
        ),
        ("response_verified_clean", resp(64, ResponseBody::Verified { checked: 14, bad: vec![] })),
        (
            "response_app_restored",
            resp(
                66,
                ResponseBody::AppRestored {
                    app: SD_RUNNER.into(),
                    backup: "sd-runner_20261121_040000.enc".into(),
                    saved_as: Some("sd-runner_20261121_104500.enc".into()),
                    quarantined: None,
                },
            ),
        ),
        (
            "response_app_restored_quarantined",
            resp(
                65,
                ResponseBody::AppRestored {
                    app: SD_RUNNER.into(),
                    backup: "sd-runner_20261121_101500.enc".into(),
                    saved_as: None,
                    quarantined: Some(
                        "/home/alice/.local/state/cachemgr/quarantine/sd-runner/\
                         app_info_cache.enc.20261121_104500"
                            .into(),
                    ),
                },
            ),
        ),
    ];

    // The error kinds of section 9 as the app and backup operations use them.
    let errors: [(&'static str, u64, ErrorKind, &str); 5] = [
        (
            "response_error_app_invalid_name",
            44,
            ErrorKind::InvalidArgument,
            "invalid app name \"sd runner/2\": use letters, digits, space, '.', '_' and '-' \
             (at most 64 bytes)",
        ),
        (
            "response_error_backup_corrupt",
            66,
            ErrorKind::Corrupt,
            "backup sd-runner_20261121_040000.enc of sd-runner does not decrypt (AES-GCM tag \
             mismatch); the live file was not touched",
        ),
        (
            "response_error_keyring_locked",
            56,
            ErrorKind::Unavailable,
            "the keyring is locked: cannot read sd_runner__private_key from \
             MyPersonalApplicationsService",
        ),
        (
            "response_error_app_busy",
            58,
            ErrorKind::Busy,
            "sd-runner is being migrated (6 of 15 files); try again when it is done",
        ),
        (
            "response_error_backup_storage",
            58,
            ErrorKind::Storage,
            "cannot write /mnt/nas/alice/cache-backups/sd-runner/sd-runner_20261121_101500.enc: \
             read-only file system (os error 30)",
        ),
    ];
    for (name, id, kind, message) in errors {
        list.push((name, Response::error(id, kind, message)));
    }
    list
}
