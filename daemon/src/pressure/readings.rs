//! What the monitor reads: memory (the machine's, or the cgroup limit's when lower) through
//! sysinfo, and the file systems holding the watched paths through sysinfo's disk list
//! (`statvfs` of the path itself when no listed mount holds it, e.g. a tmpfs sysinfo skips).
//! Both touch `/proc` and the file systems: call them from `spawn_blocking`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cachemgr_proto::DiskUsage;
use sysinfo::{Disks, MemoryRefreshKind, RefreshKind, System};

use super::cgroup;

/// One memory reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MemoryReading {
    /// Bytes in use.
    pub used: u64,
    /// Bytes the daemon may use.
    pub total: u64,
    /// The cgroup limit, when it is below the machine's memory.
    pub cgroup_limit: Option<u64>,
}

impl MemoryReading {
    /// Percent used.
    pub fn percent(&self) -> f64 {
        percent(self.used, self.total)
    }
}

/// Reads memory now.
pub fn memory() -> MemoryReading {
    let system = System::new_with_specifics(
        RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let total = system.total_memory();
    let used = total.saturating_sub(system.available_memory());
    match cgroup::own_limit() {
        Some(limit) if limit.limit < total => MemoryReading {
            used: limit.used.min(limit.limit),
            total: limit.limit,
            cgroup_limit: Some(limit.limit),
        },
        _ => MemoryReading { used, total, cgroup_limit: None },
    }
}

/// The file systems holding `paths` (each listed once, with the paths it holds), fullest
/// first. A path that does not exist yet is measured at its nearest existing ancestor.
pub fn disks(paths: &[PathBuf]) -> Vec<DiskUsage> {
    let list = Disks::new_with_refreshed_list();
    let mut by_mount: BTreeMap<String, DiskUsage> = BTreeMap::new();
    for path in paths {
        let Some(existing) = existing_ancestor(path) else { continue };
        let mounted = list
            .list()
            .iter()
            .filter(|disk| existing.starts_with(disk.mount_point()))
            .max_by_key(|disk| disk.mount_point().as_os_str().len());
        let usage = match mounted {
            Some(disk) => {
                Some(usage_row(disk.mount_point(), disk.total_space(), disk.available_space()))
            }
            None => statvfs_row(&existing),
        };
        let Some(row) = usage else { continue };
        let entry = by_mount.entry(row.mount.clone()).or_insert(row);
        entry.paths.push(path.display().to_string());
    }
    let mut rows: Vec<DiskUsage> = by_mount.into_values().collect();
    rows.sort_by(|a, b| b.used_percent.total_cmp(&a.used_percent));
    rows
}

fn usage_row(mount: &Path, total: u64, available: u64) -> DiskUsage {
    let used = total.saturating_sub(available);
    DiskUsage {
        mount: mount.display().to_string(),
        paths: Vec::new(),
        used_bytes: used,
        total_bytes: total,
        used_percent: percent(used, total),
    }
}

fn statvfs_row(path: &Path) -> Option<DiskUsage> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let total = stat.f_blocks.saturating_mul(stat.f_frsize);
    let available = stat.f_bavail.saturating_mul(stat.f_frsize);
    Some(usage_row(path, total, available))
}

fn existing_ancestor(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut here = absolute.as_path();
    loop {
        if let Ok(real) = here.canonicalize() {
            return Some(real);
        }
        here = here.parent()?;
    }
}

/// `part` of `whole` in percent (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
