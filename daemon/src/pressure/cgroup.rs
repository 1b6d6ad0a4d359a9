//! The memory limit of the daemon's own cgroup, read from `/proc/self/cgroup` and the cgroup
//! file system (v2 `memory.max`/`memory.current`, v1 `memory.limit_in_bytes`/
//! `memory.usage_in_bytes`).
//!
//! sysinfo's `System::cgroup_limits()` is not used: it reads the root of the cgroup mount
//! (not the daemon's own cgroup, so a systemd `MemoryMax=` on the unit goes unseen) and
//! counts the page cache as used (a v1 host with a full page cache reads ~95% used). Here the
//! smallest limit on the path from the daemon's cgroup up to the root wins, and its usage is
//! counted without the reclaimable page cache (`inactive_file`), as the kernel would reclaim
//! that before it invokes the OOM killer.

use std::path::{Path, PathBuf};

/// A cgroup limit in force and the usage it is held against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupMemory {
    /// The limit, bytes.
    pub limit: u64,
    /// Usage without reclaimable page cache, bytes.
    pub used: u64,
}

/// The tightest cgroup limit of this process, if any is set.
pub fn own_limit() -> Option<CgroupMemory> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    limit_from(&text, Path::new("/sys/fs/cgroup"))
}

/// [`own_limit`] for a given `/proc/self/cgroup` text and cgroup mount root (tests).
pub fn limit_from(proc_cgroup: &str, root: &Path) -> Option<CgroupMemory> {
    let mut best: Option<CgroupMemory> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let found = if controllers.is_empty() {
            walk(root, path, "memory.max", "memory.current", "inactive_file")
        } else if controllers.split(',').any(|c| c == "memory") {
            walk(
                &root.join("memory"),
                path,
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
        } else {
            None
        };
        if let Some(found) = found {
            if best.is_none_or(|b| found.limit < b.limit) {
                best = Some(found);
            }
        }
    }
    best
}

/// From the cgroup at `path` up to the mount root: the smallest limit and its usage.
fn walk(
    mount: &Path,
    path: &str,
    max: &str,
    current: &str,
    inactive: &str,
) -> Option<CgroupMemory> {
    let mut dir: PathBuf = mount.join(path.trim_start_matches('/'));
    let mut best: Option<CgroupMemory> = None;
    loop {
        if let (Some(limit), Some(usage)) = (read_u64(&dir.join(max)), read_u64(&dir.join(current)))
        {
            let reclaimable = read_stat(&dir.join("memory.stat"), inactive).unwrap_or(0);
            let used = usage.saturating_sub(reclaimable);
            if best.is_none_or(|b| limit < b.limit) {
                best = Some(CgroupMemory { limit, used });
            }
        }
        if dir == mount || !dir.pop() || !dir.starts_with(mount) {
            break;
        }
    }
    best
}

/// A file holding one number; `max` (no limit) and absurd v1 "unlimited" values are `None`.
fn read_u64(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: u64 = text.trim().parse().ok()?;
    // cgroup v1 says "no limit" with a value near i64::MAX rounded to a page.
    (value < 1 << 62).then_some(value)
}

fn read_stat(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_limit_of_the_own_cgroup_wins_over_an_unlimited_parent() {
        let root = tempfile::tempdir().unwrap();
        let unit = root.path().join("system.slice/cachemgrd.service");
        std::fs::create_dir_all(&unit).unwrap();
        std::fs::write(root.path().join("system.slice/memory.max"), "max\n").unwrap();
        std::fs::write(root.path().join("system.slice/memory.current"), "9000\n").unwrap();
        std::fs::write(unit.join("memory.max"), "1048576\n").unwrap();
        std::fs::write(unit.join("memory.current"), "600000\n").unwrap();
        std::fs::write(unit.join("memory.stat"), "anon 1\ninactive_file 100000\n").unwrap();
        let found = limit_from("0::/system.slice/cachemgrd.service\n", root.path());
        assert_eq!(found, Some(CgroupMemory { limit: 1_048_576, used: 500_000 }));
    }

    #[test]
    fn no_limit_anywhere_is_none() {
        let root = tempfile::tempdir().unwrap();
        let own = root.path().join("memory/box");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(own.join("memory.usage_in_bytes"), "4096\n").unwrap();
        assert_eq!(limit_from("4:memory:/box\n1:cpu:/\n", root.path()), None);
    }
}
