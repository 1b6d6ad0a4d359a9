//! Samples of the pressure monitor (`pressure_status`, `pressure_check`, the `pressure`
//! answer) and of the scheduled clears (`schedule_list`, `schedules`).

use cachemgr_proto::{
    ClearScheduleInfo, DiskPressure, DiskUsage, MemoryPressure, PressureAction, PressureInfo,
    Request, RequestBody, Response, ResponseBody, TriggerState,
};

use super::{req, resp};

/// A fixed "now" (2026-11-21T10:00:00Z).
const NOW_MS: u64 = 1_795_255_200_000;

pub fn requests() -> Vec<(&'static str, Request)> {
    vec![
        ("request_pressure_status", req(90, RequestBody::PressureStatus {})),
        ("request_pressure_check", req(91, RequestBody::PressureCheck {})),
        ("request_schedule_list", req(92, RequestBody::ScheduleList {})),
    ]
}

pub fn responses() -> Vec<(&'static str, Response)> {
    let triggered = PressureInfo {
        enabled: true,
        check_every_ms: 5_000,
        last_check_unix_ms: Some(NOW_MS),
        checks: 12,
        memory: MemoryPressure {
            used_bytes: 3_758_096_384,
            total_bytes: 4_294_967_296,
            used_percent: 87.5,
            cgroup_limit_bytes: Some(4_294_967_296),
            high: 85.0,
            low: 75.0,
            state: TriggerState::Triggered,
        },
        disk: DiskPressure {
            filesystems: vec![DiskUsage {
                mount: "/".into(),
                paths: vec!["/var/lib/cachemgr".into(), "/var/lib/cachemgr/cache.redb".into()],
                used_bytes: 60_000_000_000,
                total_bytes: 100_000_000_000,
                used_percent: 60.0,
            }],
            high: 90.0,
            low: 80.0,
            state: TriggerState::Armed,
        },
        actions: vec![
            PressureAction {
                at_unix_ms: NOW_MS,
                trigger: "memory".into(),
                stage: "shrink_memory".into(),
                ns: None,
                used_percent: 87.5,
                entries: 5_000,
                bytes: 1_048_576,
                files: 0,
            },
            PressureAction {
                at_unix_ms: NOW_MS,
                trigger: "memory".into(),
                stage: "clear_namespace".into(),
                ns: Some("thumbnails".into()),
                used_percent: 86.25,
                entries: 120,
                bytes: 65_536,
                files: 0,
            },
        ],
    };
    let idle = PressureInfo {
        enabled: false,
        check_every_ms: 5_000,
        memory: MemoryPressure {
            used_bytes: 1_073_741_824,
            total_bytes: 8_589_934_592,
            used_percent: 12.5,
            high: 85.0,
            low: 75.0,
            ..MemoryPressure::default()
        },
        disk: DiskPressure { high: 90.0, low: 80.0, ..DiskPressure::default() },
        ..PressureInfo::default()
    };
    vec![
        ("response_pressure_triggered", resp(90, ResponseBody::Pressure(Box::new(triggered)))),
        ("response_pressure_idle", resp(91, ResponseBody::Pressure(Box::new(idle)))),
        (
            "response_schedules",
            resp(
                92,
                ResponseBody::Schedules {
                    schedules: vec![
                        ClearScheduleInfo {
                            ns: "sessions".into(),
                            every_ms: 7_200_000,
                            at: None,
                            last_run_unix_ms: Some(NOW_MS - 3_600_000),
                            last_result: Some("12 entries, 3456 bytes".into()),
                            next_run_unix_ms: NOW_MS + 3_600_000,
                        },
                        ClearScheduleInfo {
                            ns: "thumbnails".into(),
                            every_ms: 86_400_000,
                            at: Some("03:00".into()),
                            last_run_unix_ms: None,
                            last_result: None,
                            next_run_unix_ms: NOW_MS + 61_200_000,
                        },
                    ],
                },
            ),
        ),
    ]
}
