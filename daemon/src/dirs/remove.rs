//! Deleting planned files safely. Each file is reached again from the registered directory's
//! descriptor, one `O_NOFOLLOW` directory at a time, and examined once more just before
//! `unlinkat`: a file that changed since the walk (another inode, rewritten, turned into a
//! directory) is left alone, and a parent swapped for a symlink cannot be entered, so an
//! unlink can only ever happen inside the registered directory.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, FileType, OFlags};

use super::walk::{id_of, mtime_ms_of, open_rel, FileEntry};

/// What deleting a list of files did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Files unlinked.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files left in place: changed since the walk, or the unlink failed.
    pub failed: u64,
    /// Subdirectories removed because the trim emptied them.
    pub dirs: u64,
}

/// Unlinks `files` (relative to `root`), then the subdirectories they leave empty. The
/// registered directory itself is never removed. Stops early once `stop` is set.
pub fn remove_files(root: &OwnedFd, files: &[&FileEntry], stop: &AtomicBool) -> Removal {
    let mut done = Removal::default();
    let mut emptied: BTreeSet<PathBuf> = BTreeSet::new();
    for file in files {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        match remove_one(root, file) {
            Ok(()) => {
                done.files += 1;
                done.bytes += file.size;
                if let Some(parent) = file.rel.parent().filter(|p| !p.as_os_str().is_empty()) {
                    emptied.insert(parent.to_path_buf());
                }
            }
            Err(err) => {
                done.failed += 1;
                tracing::debug!(file = %file.rel.display(), "not deleted: {err}");
            }
        }
    }
    done.dirs = remove_empty_dirs(root, emptied);
    done
}

/// Unlinks one file if it is still the file the walk saw.
fn remove_one(root: &OwnedFd, file: &FileEntry) -> io::Result<()> {
    let (parent, name) = split(&file.rel)?;
    let dir = open_rel(root, parent, OFlags::PATH)?;
    let stat = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let kind = FileType::from_raw_mode(stat.st_mode);
    if !matches!(kind, FileType::RegularFile | FileType::Symlink) {
        return Err(io::Error::other("no longer a file or a symlink"));
    }
    if id_of(&stat) != file.id || mtime_ms_of(&stat) != file.mtime_ms {
        return Err(io::Error::other("changed since the directory was walked"));
    }
    Ok(rustix::fs::unlinkat(&dir, name, AtFlags::empty())?)
}

/// Removes the directories in `candidates` that are now empty, deepest first, and their
/// parents in turn when that empties them; never the root. Returns how many went.
fn remove_empty_dirs(root: &OwnedFd, mut candidates: BTreeSet<PathBuf>) -> u64 {
    let mut removed = 0;
    while let Some(deepest) =
        candidates.iter().max_by_key(|p| (p.components().count(), (*p).clone())).cloned()
    {
        candidates.remove(&deepest);
        let Ok((parent, name)) = split(&deepest) else { continue };
        let Ok(dir) = open_rel(root, parent, OFlags::PATH) else { continue };
        // Fails (ENOTEMPTY, ENOTDIR for a symlink) unless it is an empty directory.
        if rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR).is_ok() {
            removed += 1;
            if !parent.as_os_str().is_empty() {
                candidates.insert(parent.to_path_buf());
            }
        }
    }
    removed
}

/// The parent (relative, possibly empty) and file name of a relative path.
fn split(rel: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    match (rel.parent(), rel.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a file path")),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::dirs::walk::{open_root, scan};

    #[test]
    fn a_tree_swapped_after_the_walk_is_not_followed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = tmp.path().join("cache");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(cache.join("sub")).expect("mkdir");
        fs::create_dir_all(&outside).expect("mkdir");
        fs::write(cache.join("sub/f"), b"cache").expect("write");
        fs::write(cache.join("changed"), b"cache").expect("write");
        fs::write(outside.join("f"), b"precious").expect("write");
        let root = open_root(&fs::canonicalize(&cache).expect("canonical")).expect("open");
        let go = AtomicBool::new(false);
        let found = scan(&root, &go).expect("scan");
        assert_eq!(found.files.len(), 2);

        // Between the walk and the unlink: `sub` becomes a symlink to a directory outside
        // holding a file of the same name, and `changed` is rewritten.
        fs::rename(cache.join("sub"), tmp.path().join("moved")).expect("rename");
        std::os::unix::fs::symlink(&outside, cache.join("sub")).expect("symlink");
        let file = fs::File::options().write(true).open(cache.join("changed")).expect("open");
        file.set_modified(SystemTime::now() + Duration::from_secs(60)).expect("mtime");

        let all: Vec<&FileEntry> = found.files.iter().collect();
        let done = remove_files(&root, &all, &go);
        assert_eq!((done.files, done.failed), (0, 2), "{done:?}");
        assert_eq!(fs::read(outside.join("f")).expect("outside"), b"precious");
        assert!(cache.join("changed").exists(), "a file rewritten since the walk stays");
        assert!(fs::symlink_metadata(cache.join("sub")).is_ok(), "the swapped-in link stays");
    }
}
