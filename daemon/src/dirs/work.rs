//! The blocking work on one directory (walk, plan, delete), run by the service inside
//! `spawn_blocking` so the daemon's runtime threads stay free.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::error::DirsError;
use super::plan::{plan_clear, plan_trim, Limits};
use super::remove::{remove_files, Removal};
use super::walk::{open_root, scan, Scan};

/// What to do with a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Delete what the limits say must go.
    Trim(Limits),
    /// Delete every file.
    Clear,
}

/// Walks `dir` (without following symlinks) and says what it holds.
pub fn measure(dir: &Path, stop: &AtomicBool) -> Result<Scan, DirsError> {
    let root = open_root(dir).map_err(|err| walk_error(dir, err))?;
    scan(&root, stop).map_err(|err| walk_error(dir, err))
}

/// Runs `job` on `dir` at `now_ms`; with `dry_run` deletes nothing and reports what the
/// job would delete. Stops early once `stop` is set (the daemon is shutting down).
pub fn run(
    dir: &Path,
    job: Job,
    dry_run: bool,
    now_ms: u64,
    stop: &AtomicBool,
) -> Result<Removal, DirsError> {
    let root = open_root(dir).map_err(|err| walk_error(dir, err))?;
    let found = scan(&root, stop).map_err(|err| walk_error(dir, err))?;
    let doomed = match job {
        Job::Trim(limits) => plan_trim(&found.files, limits, now_ms),
        Job::Clear => plan_clear(&found.files),
    };
    if dry_run {
        return Ok(Removal {
            files: doomed.len() as u64,
            bytes: doomed.iter().map(|f| f.size).sum(),
            ..Removal::default()
        });
    }
    Ok(remove_files(&root, &doomed, stop))
}

fn walk_error(dir: &Path, err: std::io::Error) -> DirsError {
    let reason = match err.raw_os_error() {
        Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => {
            "a component of the path is now a symlink; refusing to follow it".to_owned()
        }
        Some(code) if code == rustix::io::Errno::NOTDIR.raw_os_error() => {
            "a component of the path is no longer a directory".to_owned()
        }
        _ => err.to_string(),
    };
    DirsError::Walk { path: dir.display().to_string(), reason }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::{Duration, SystemTime};

    use super::*;

    fn aged(path: &Path, bytes: usize, age_s: u64) {
        fs::write(path, vec![b'x'; bytes]).expect("write");
        let file = fs::File::options().write(true).open(path).expect("open");
        file.set_modified(SystemTime::now() - Duration::from_secs(age_s)).expect("mtime");
    }

    #[test]
    fn a_trim_deletes_inside_only_and_never_through_a_symlink() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = tmp.path().join("cache");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(cache.join("sub/deeper")).expect("mkdir");
        fs::create_dir_all(&outside).expect("mkdir");
        aged(&outside.join("precious"), 1000, 10_000);
        aged(&cache.join("old"), 100, 5000);
        aged(&cache.join("sub/deeper/older"), 100, 6000);
        aged(&cache.join("new"), 100, 10);
        std::os::unix::fs::symlink(&outside, cache.join("link-dir")).expect("symlink");
        std::os::unix::fs::symlink(outside.join("precious"), cache.join("link-file"))
            .expect("symlink");
        let dir = fs::canonicalize(&cache).expect("canonical");

        let go = AtomicBool::new(false);
        let scan = measure(&dir, &go).expect("measure");
        assert_eq!(scan.files.len(), 5, "{:?}", scan.files);

        let now = crate::store::clock::unix_ms_now();
        let dry = run(&dir, Job::Clear, true, now, &go).expect("dry run");
        assert_eq!(dry.files, 5);
        assert!(cache.join("old").exists(), "a dry run deletes nothing");

        let limits = Limits { max_size: None, max_age_ms: Some(1000 * 1000) };
        let done = run(&dir, Job::Trim(limits), false, now, &go).expect("trim");
        assert_eq!((done.files, done.bytes, done.dirs), (2, 200, 2));
        assert!(!cache.join("sub").exists(), "emptied subdirectories go");

        let done = run(&dir, Job::Clear, false, now, &go).expect("clear");
        assert_eq!(done.files, 3);
        assert!(dir.is_dir(), "the directory itself stays");
        assert_eq!(fs::read_dir(&dir).expect("list").count(), 0);
        assert_eq!(fs::metadata(outside.join("precious")).expect("target").len(), 1000);
    }
}
