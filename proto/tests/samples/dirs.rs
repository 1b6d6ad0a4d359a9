//! Samples of the disposable cache directories: `dir_*` requests (settings complete and
//! minimal, trims of one and of every directory, dry runs) and their answers.

use cachemgr_proto::{
    DirFreed, DirInfo, DirSettings, Request, RequestBody, Response, ResponseBody,
};

use super::apps::{DAY_MS, NOW_MS};
use super::{req, resp};

const THUMBS: &str = "/home/alice/.cache/thumbnails";
const PIP: &str = "/home/alice/.cache/pip";

fn thumbs_settings() -> DirSettings {
    DirSettings {
        max_size_bytes: Some(2 << 30),
        max_age_ms: Some(30 * DAY_MS),
        clear_on_pressure: true,
        priority: -5,
    }
}

fn thumbs() -> DirInfo {
    DirInfo {
        path: THUMBS.into(),
        settings: thumbs_settings(),
        size_bytes: 1_288_490_188,
        files: 5321,
        oldest_unix_ms: Some(NOW_MS - 29 * DAY_MS),
        last_trim_unix_ms: Some(NOW_MS - 600_000),
        last_trim_result: Some("ok: 12 files (3.4 MiB)".into()),
        problem: None,
    }
}

fn pip() -> DirInfo {
    DirInfo {
        path: PIP.into(),
        settings: DirSettings { max_age_ms: Some(90 * DAY_MS), ..DirSettings::default() },
        ..DirInfo::default()
    }
}

pub fn requests() -> Vec<(&'static str, Request)> {
    vec![
        (
            "request_dir_add",
            req(80, RequestBody::DirAdd { path: THUMBS.into(), settings: thumbs_settings() }),
        ),
        (
            "request_dir_add_minimal",
            req(81, RequestBody::DirAdd { path: PIP.into(), settings: DirSettings::default() }),
        ),
        ("request_dir_list", req(82, RequestBody::DirList {})),
        ("request_dir_remove", req(83, RequestBody::DirRemove { path: PIP.into() })),
        (
            "request_dir_clear",
            req(84, RequestBody::DirClear { path: THUMBS.into(), dry_run: true }),
        ),
        ("request_dir_trim", req(85, RequestBody::DirTrim { path: None, dry_run: false })),
        (
            "request_dir_trim_one",
            req(86, RequestBody::DirTrim { path: Some(THUMBS.into()), dry_run: true }),
        ),
    ]
}

pub fn responses() -> Vec<(&'static str, Response)> {
    vec![
        ("response_dir", resp(80, ResponseBody::Dir(Box::new(thumbs())))),
        ("response_dirs", resp(82, ResponseBody::Dirs { dirs: vec![pip(), thumbs()] })),
        (
            "response_dirs_freed",
            resp(
                85,
                ResponseBody::DirsFreed {
                    dry_run: false,
                    files: 53,
                    bytes: 9_437_184,
                    dirs: vec![
                        DirFreed { path: PIP.into(), files: 41, bytes: 2_202_009, failed: None },
                        DirFreed {
                            path: THUMBS.into(),
                            files: 12,
                            bytes: 7_235_175,
                            failed: Some(1),
                        },
                    ],
                },
            ),
        ),
    ]
}
