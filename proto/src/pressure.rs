//! The pressure monitor and the scheduled clears as clients see them: readings, thresholds,
//! the trigger state and what each action freed (`pressure_status`, `pressure_check`), and
//! each namespace's clear schedule (`schedule_list`).

use serde::{Deserialize, Serialize};

/// Whether a threshold pair may fire: `armed` until usage reaches `high`, then `triggered`
/// (the monitor has acted) until usage falls below `low` again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerState {
    /// Usage is below `high` (or has fallen below `low` since the last action): the next
    /// reading at or above `high` makes the monitor act.
    #[default]
    Armed,
    /// The monitor acted; it will not act again for this resource until usage falls below
    /// `low`.
    Triggered,
}

/// The memory reading and its thresholds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryPressure {
    /// Bytes in use (total minus available; within a cgroup limit: the cgroup's usage minus
    /// its reclaimable page cache).
    pub used_bytes: u64,
    /// Bytes the daemon may use: the machine's memory, or the cgroup limit when lower.
    pub total_bytes: u64,
    /// `used_bytes` as a percentage of `total_bytes`.
    pub used_percent: f64,
    /// The cgroup memory limit in force, when the daemon runs under one below the machine's
    /// memory; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_limit_bytes: Option<u64>,
    /// Act at or above this percentage.
    pub high: f64,
    /// Re-arm below this percentage.
    pub low: f64,
    /// Armed or triggered.
    pub state: TriggerState,
}

/// One watched file system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskUsage {
    /// Its mount point.
    pub mount: String,
    /// The watched paths it holds (state directory, disk layer file, extra paths).
    pub paths: Vec<String>,
    /// Bytes in use (total minus available to the daemon).
    pub used_bytes: u64,
    /// Its size.
    pub total_bytes: u64,
    /// `used_bytes` as a percentage of `total_bytes`.
    pub used_percent: f64,
}

/// The disk readings and their thresholds (the fullest file system decides).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskPressure {
    /// One row per file system holding a watched path.
    pub filesystems: Vec<DiskUsage>,
    /// Act when a file system is at or above this percentage.
    pub high: f64,
    /// Re-arm once every file system is below this percentage.
    pub low: f64,
    /// Armed or triggered.
    pub state: TriggerState,
}

/// One action the monitor took, and what it freed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PressureAction {
    /// When (Unix time, ms).
    pub at_unix_ms: u64,
    /// What fired: `"memory"` or `"disk"`.
    pub trigger: String,
    /// The stage: `"shrink_memory"` (a), `"clear_namespace"` (b) or `"trim_dirs"` (c).
    pub stage: String,
    /// The namespace cleared (stage `clear_namespace`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Usage (percent) of the resource that fired, when the action began.
    pub used_percent: f64,
    /// Cache entries dropped.
    pub entries: u64,
    /// Bytes freed (cache bytes as counted against the limits, or file bytes).
    pub bytes: u64,
    /// Files removed (stage `trim_dirs`).
    pub files: u64,
}

/// The answer to `pressure_status` and `pressure_check`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PressureInfo {
    /// Whether the monitor runs (`pressure.enabled`).
    pub enabled: bool,
    /// Interval between checks, ms.
    pub check_every_ms: u64,
    /// When the last check ran (Unix time, ms); absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check_unix_ms: Option<u64>,
    /// Checks run since the daemon started.
    pub checks: u64,
    /// Memory.
    pub memory: MemoryPressure,
    /// Disks.
    pub disk: DiskPressure,
    /// The last actions, oldest first (a bounded history).
    pub actions: Vec<PressureAction>,
}

/// One namespace's scheduled clear, a row of `schedules`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearScheduleInfo {
    /// The namespace.
    pub ns: String,
    /// Interval between clears, ms.
    pub every_ms: u64,
    /// Local time of day the clears are anchored to (`"03:00"`); absent = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// When it was last cleared on schedule (Unix time, ms); absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_unix_ms: Option<u64>,
    /// What the last scheduled clear freed, e.g. `"12 entries, 3456 bytes"`, or its error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    /// When the next clear is due (Unix time, ms).
    pub next_run_unix_ms: u64,
}
