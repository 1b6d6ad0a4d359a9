//! Which files a trim deletes: pure, so the order and the limits are tested without a disk.
//!
//! Files go oldest first (by modification time; ties by path, so a plan is reproducible):
//! every file older than `max_age`, then more of the oldest until what is left fits
//! `max_size`. Nothing else goes, however old the directory's other files may be.

use super::walk::FileEntry;

/// The limits of one directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// What the directory may hold, in bytes.
    pub max_size: Option<u64>,
    /// The age (from the modification time) past which a file goes, in ms.
    pub max_age_ms: Option<u64>,
}

/// The files to delete to bring `files` within `limits` at `now_ms`, oldest first.
pub fn plan_trim(files: &[FileEntry], limits: Limits, now_ms: u64) -> Vec<&FileEntry> {
    let mut order: Vec<&FileEntry> = files.iter().collect();
    order.sort_by(|a, b| a.mtime_ms.cmp(&b.mtime_ms).then_with(|| a.rel.cmp(&b.rel)));
    let mut left: u64 = files.iter().map(|f| f.size).sum();
    let mut doomed = Vec::new();
    for file in order {
        let too_old =
            limits.max_age_ms.is_some_and(|age| now_ms.saturating_sub(file.mtime_ms) > age);
        let too_big = limits.max_size.is_some_and(|max| left > max);
        if !too_old && !too_big {
            // Sorted oldest first: no later file is older, and the size already fits.
            break;
        }
        left -= file.size;
        doomed.push(file);
    }
    doomed
}

/// Every file, oldest first: what a clear deletes.
pub fn plan_clear(files: &[FileEntry]) -> Vec<&FileEntry> {
    let mut order: Vec<&FileEntry> = files.iter().collect();
    order.sort_by(|a, b| a.mtime_ms.cmp(&b.mtime_ms).then_with(|| a.rel.cmp(&b.rel)));
    order
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const DAY: u64 = 86_400_000;
    const NOW: u64 = 100 * DAY;

    fn file(name: &str, size: u64, age_days: u64) -> FileEntry {
        FileEntry {
            rel: PathBuf::from(name),
            size,
            mtime_ms: NOW - age_days * DAY,
            id: (1, name.len() as u64),
        }
    }

    fn names(plan: &[&FileEntry]) -> Vec<String> {
        plan.iter().map(|f| f.rel.display().to_string()).collect()
    }

    fn sample() -> Vec<FileEntry> {
        vec![
            file("new", 100, 1),
            file("a/oldest", 100, 40),
            file("b/c/middle", 100, 10),
            file("older", 100, 20),
        ]
    }

    #[test]
    fn no_limits_delete_nothing() {
        assert!(plan_trim(&sample(), Limits::default(), NOW).is_empty());
    }

    #[test]
    fn size_deletes_oldest_first_until_under_the_limit() {
        let files = sample();
        let plan = plan_trim(&files, Limits { max_size: Some(250), max_age_ms: None }, NOW);
        assert_eq!(names(&plan), ["a/oldest", "older"]);
        let plan = plan_trim(&files, Limits { max_size: Some(400), max_age_ms: None }, NOW);
        assert!(plan.is_empty(), "exactly at the limit is within it");
        let plan = plan_trim(&files, Limits { max_size: Some(0), max_age_ms: None }, NOW);
        assert_eq!(names(&plan), ["a/oldest", "older", "b/c/middle", "new"]);
    }

    #[test]
    fn age_deletes_every_older_file_and_only_those() {
        let files = sample();
        let plan = plan_trim(&files, Limits { max_size: None, max_age_ms: Some(15 * DAY) }, NOW);
        assert_eq!(names(&plan), ["a/oldest", "older"]);
        let plan = plan_trim(&files, Limits { max_size: None, max_age_ms: Some(40 * DAY) }, NOW);
        assert!(plan.is_empty(), "a file exactly max_age old stays");
    }

    #[test]
    fn both_limits_take_the_union_oldest_first() {
        let files = sample();
        let limits = Limits { max_size: Some(150), max_age_ms: Some(30 * DAY) };
        let plan = plan_trim(&files, limits, NOW);
        assert_eq!(names(&plan), ["a/oldest", "older", "b/c/middle"]);
    }

    #[test]
    fn ties_are_broken_by_path_and_big_files_count_once() {
        let files = vec![file("b", 10, 5), file("a", 10, 5), file("huge", 1000, 1)];
        let plan = plan_trim(&files, Limits { max_size: Some(500), max_age_ms: None }, NOW);
        // The oldest go first even though the newest file alone is over the limit.
        assert_eq!(names(&plan), ["a", "b", "huge"]);
        assert_eq!(names(&plan_clear(&files)), ["a", "b", "huge"]);
    }

    #[test]
    fn future_mtimes_are_not_old() {
        let mut files = sample();
        files.push(FileEntry { mtime_ms: NOW + DAY, ..file("future", 100, 0) });
        let plan = plan_trim(&files, Limits { max_size: None, max_age_ms: Some(0) }, NOW);
        assert_eq!(names(&plan), ["a/oldest", "older", "b/c/middle", "new"]);
    }
}
