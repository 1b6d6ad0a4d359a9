//! One app's backup directory: writing a verified copy under a fresh name (and to the
//! external directory), and pruning by the retention rules once a new backup is safely on
//! disk. Every file goes through the atomic writer.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cachemgr_proto::BackupSource;
use jiff::tz::TimeZone;

use super::catalog::{BackupRecord, Catalog};
use super::naming::backup_file_name;
use super::retention::{keep_reasons, Candidate, RetentionPolicy};
use crate::access::paths::{self, Principal};
use crate::atomic_file::AtomicFile;

/// Bytes written between two progress reports.
const PROGRESS_CHUNK: usize = 1 << 20;

/// What to record with a new backup.
#[derive(Debug, Clone)]
pub struct NewBackup {
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// When the copy was taken.
    pub created_unix_ms: u64,
    /// What made it.
    pub source: BackupSource,
    /// Never prune it.
    pub pinned: bool,
    /// Free text.
    pub note: Option<String>,
}

/// An app's external backup folder, with the user it is written for: it is opened (and
/// created) through the path resolver as that user.
#[derive(Debug, Clone, Copy)]
pub struct ExternalDir<'a> {
    /// The folder.
    pub path: &'a Path,
    /// The app's owner.
    pub owner: Principal,
}

/// Writes verified `bytes` as a backup into `dir` under the first free name for `safe` at
/// its time, records it in `catalog` (not yet saved) and copies it to `external` when
/// given. A failed external copy is reported in the second value; the backup itself is kept.
pub fn write_backup(
    dir: &Path,
    safe: &str,
    catalog: &mut Catalog,
    bytes: &[u8],
    backup: NewBackup,
    external: Option<ExternalDir<'_>>,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<(BackupRecord, Option<String>)> {
    std::fs::create_dir_all(dir)?;
    let name = free_name(dir, safe, catalog, backup.created_unix_ms, external.map(|e| e.path));
    write_with_progress(&dir.join(&name), bytes, progress)?;
    let copied = external.map(|ext| {
        copy_external(ext, &name, |mut out| {
            out.write_all(bytes)?;
            out.commit()
        })
    });
    Ok(record_backup(catalog, name, backup, copied))
}

/// Puts a verified copy staged under `dir/name` in place (see `capture`), records it in
/// `catalog` (not yet saved) and copies it to `external` when given, like [`write_backup`].
pub fn commit_staged(
    dir: &Path,
    name: String,
    catalog: &mut Catalog,
    staged: AtomicFile,
    backup: NewBackup,
    external: Option<ExternalDir<'_>>,
) -> io::Result<(BackupRecord, Option<String>)> {
    staged.commit()?;
    let copied =
        external.map(|ext| copy_external(ext, &name, |out| copy_file(&dir.join(&name), out)));
    Ok(record_backup(catalog, name, backup, copied))
}

/// Writes the external copy `ext/name` with `write` (given the new file, to commit): its
/// path, or why it failed. The folder is opened, or created, as the app's owner.
fn copy_external(
    ext: ExternalDir<'_>,
    name: &str,
    write: impl FnOnce(AtomicFile) -> io::Result<()>,
) -> Result<PathBuf, String> {
    let written = paths::ensure_dir(ext.owner, ext.path).map_err(io::Error::from).and_then(|dir| {
        let mut out = AtomicFile::create_in(&dir, name.as_ref())?;
        // The copy is the owner's, like the folder it is in.
        let gid = rustix::fs::fstat(dir.fd())?.st_gid;
        out.set_mode_and_owner(0o600, Some((ext.owner.uid, gid)))?;
        write(out)
    });
    match written {
        Ok(()) => Ok(ext.path.join(name)),
        Err(err) => Err(format!("the copy to {} failed: {err}", ext.path.display())),
    }
}

/// Atomically copies `from` into `out` (in the kernel where the filesystems allow it).
fn copy_file(from: &Path, mut out: AtomicFile) -> io::Result<()> {
    let mut source = File::open(from)?;
    io::copy(&mut source, out.file()?)?;
    out.commit()
}

/// Adds the record of a backup now on disk to `catalog`.
fn record_backup(
    catalog: &mut Catalog,
    name: String,
    backup: NewBackup,
    external: Option<Result<PathBuf, String>>,
) -> (BackupRecord, Option<String>) {
    let (external_path, external_error) = match external {
        Some(Ok(path)) => (Some(path), None),
        Some(Err(err)) => (None, Some(err)),
        None => (None, None),
    };
    let record = BackupRecord {
        name,
        created_unix_ms: backup.created_unix_ms,
        size: backup.size,
        sha256: backup.sha256,
        verified: true,
        verified_unix_ms: Some(backup.created_unix_ms),
        verify_error: None,
        pinned: backup.pinned,
        note: backup.note,
        source: backup.source,
        external_path,
        quarantined: None,
    };
    catalog.last_issued = Some(record.name.clone());
    catalog.add(record.clone());
    (record, external_error)
}

/// Atomically writes `bytes` to `target`, reporting bytes written.
pub fn write_with_progress(
    target: &Path,
    bytes: &[u8],
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<()> {
    let mut file = AtomicFile::create(target)?;
    let total = bytes.len() as u64;
    let mut done = 0u64;
    for chunk in bytes.chunks(PROGRESS_CHUNK) {
        file.write_all(chunk)?;
        done += chunk.len() as u64;
        progress(done, total);
    }
    file.commit()
}

/// The first name for a backup of `safe` taken at `unix_ms` that no backup (listed, on
/// disk, or external) has and that sorts after the last one handed out.
pub fn free_name(
    dir: &Path,
    safe: &str,
    catalog: &Catalog,
    unix_ms: u64,
    external: Option<&Path>,
) -> String {
    // Start past the last name handed out in the same second, so names keep their order.
    let base = backup_file_name(safe, unix_ms, 0);
    let stem = base.trim_end_matches(".enc");
    let mut attempt = match catalog.last_issued.as_deref() {
        Some(last) if last == base => 1,
        Some(last) => last
            .strip_prefix(stem)
            .and_then(|rest| rest.strip_prefix('_'))
            .and_then(|rest| rest.strip_suffix(".enc"))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0),
        None => 0,
    };
    loop {
        let name = backup_file_name(safe, unix_ms, attempt);
        let taken = catalog.has(&name)
            || dir.join(&name).exists()
            || external.is_some_and(|ext| ext.join(&name).exists());
        if !taken {
            return name;
        }
        attempt += 1;
    }
}

/// The retention verdict for each backup of `catalog`, in its order. A backup that failed
/// verification (in quarantine or not yet moved there) is always kept: it counts for no rule,
/// and only an operator removes it.
pub fn verdicts(catalog: &Catalog, policy: &RetentionPolicy) -> Vec<Vec<String>> {
    let candidates: Vec<Candidate> = catalog
        .backups
        .iter()
        .map(|b| Candidate {
            created_unix_ms: b.created_unix_ms,
            pinned: b.pinned,
            verified: b.is_good(),
        })
        .collect();
    let mut verdicts = keep_reasons(&candidates, policy, &TimeZone::system());
    for (record, reasons) in catalog.backups.iter().zip(verdicts.iter_mut()) {
        if let Some(why) = &record.quarantined {
            reasons.push(format!("quarantined: {why}"));
        } else if !record.verified {
            reasons.push("failed verification: kept for an operator".to_owned());
        }
    }
    verdicts
}

/// A backup the rules let go, and why.
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The backup.
    pub record: BackupRecord,
    /// Why it goes.
    pub reason: String,
}

/// The one prune path, step one: takes the backups no rule keeps out of `catalog` and
/// returns them; nothing is deleted. Save the catalog, then [`delete_pruned`] (off the async
/// runtime): a crash in between leaves an unlisted file, never a listed one that is gone.
/// A backup that failed verification always has a reason to stay.
pub fn prune(catalog: &mut Catalog, policy: &RetentionPolicy) -> Vec<Pruned> {
    let verdicts = verdicts(catalog, policy);
    let mut pruned = Vec::new();
    let mut keep = Vec::with_capacity(catalog.backups.len());
    for (record, reasons) in catalog.backups.drain(..).zip(verdicts) {
        if reasons.is_empty() {
            let reason = format!("older than the {} kept by the rules", policy.last.max(1));
            pruned.push(Pruned { record, reason });
        } else {
            keep.push(record);
        }
    }
    catalog.backups = keep;
    pruned
}

/// The one prune path, step two: deletes the files of backups [`prune`] took out of a
/// catalog that is saved already. Blocking. Returns the ones whose files could not be
/// deleted (logged), for the caller to list again.
pub fn delete_pruned(dir: &Path, app: &str, pruned: &[Pruned]) -> Vec<Pruned> {
    let mut kept = Vec::new();
    for gone in pruned {
        match remove_backup_files(dir, &gone.record) {
            Ok(()) => tracing::info!(app, backup = %gone.record.name, "pruned: {}", gone.reason),
            Err(err) => {
                tracing::warn!(app, backup = %gone.record.name, "cannot delete a pruned backup: {err}");
                kept.push(gone.clone());
            }
        }
    }
    kept
}

/// Deletes a backup's file and its external copy (a copy already gone is fine). Never
/// called for a backup in quarantine.
pub fn remove_backup_files(dir: &Path, record: &BackupRecord) -> io::Result<()> {
    if record.quarantined.is_some() || !record.verified {
        return Err(io::Error::other(format!("{} failed verification: kept", record.name)));
    }
    let gone_ok = |result: io::Result<()>| match result {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    };
    gone_ok(std::fs::remove_file(dir.join(&record.name)))?;
    if let Some(ext) = &record.external_path {
        // Never through a symlink: the folder was the owner's when the copy was made, and a
        // link swapped in since must not point the unlink elsewhere.
        let removed =
            paths::place(Principal::of_uid(0), ext).map_err(io::Error::from).and_then(|place| {
                rustix::fs::unlinkat(place.dir().fd(), place.name(), rustix::fs::AtFlags::empty())
                    .map_err(io::Error::from)
            });
        if let Err(err) = gone_ok(removed) {
            tracing::warn!(file = %ext.display(), "cannot remove the external copy: {err}");
        }
    }
    Ok(())
}

/// Moves a backup's file within its backup directory (into or out of quarantine) by one
/// rename, made durable in both directories: at every moment the file is in one place.
/// Refuses to replace a file already at `to`.
pub fn move_backup_file(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if to.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", to.display()),
        ));
    }
    std::fs::rename(from, to)?;
    for dir in [to.parent(), from.parent()].into_iter().flatten() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The path of a backup file of `dir` by name, refusing names that would leave `dir`.
pub fn backup_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = !name.is_empty()
        && !name.contains('/')
        && !name.contains('\0')
        && name != "."
        && name != "..";
    plain.then(|| dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_never_handed_out_twice_within_a_second() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut catalog = Catalog::default();
        let mut names = Vec::new();
        for _ in 0..4 {
            let backup = NewBackup {
                size: 1,
                sha256: "00".to_owned(),
                created_unix_ms: 1_795_000_000_000,
                source: BackupSource::Manual,
                pinned: false,
                note: None,
            };
            let (record, _) =
                write_backup(dir.path(), "muse", &mut catalog, b"x", backup, None, &mut |_, _| {})
                    .expect("write");
            // Pruned at once: neither the catalog nor the directory holds it any more.
            remove_backup_files(dir.path(), &record).expect("remove");
            catalog.backups.clear();
            names.push(record.name);
        }
        let suffixes: Vec<String> = names
            .iter()
            .map(|n| n.trim_start_matches("muse_").chars().skip(15).collect())
            .collect();
        assert_eq!(suffixes, [".enc", "_2.enc", "_3.enc", "_4.enc"], "{names:?}");
    }
}

#[cfg(test)]
mod quarantine_tests {
    use super::*;

    fn record(name: &str, at: u64, verified: bool, quarantined: Option<&str>) -> BackupRecord {
        BackupRecord {
            name: name.to_owned(),
            created_unix_ms: at,
            size: 1,
            sha256: "00".to_owned(),
            verified,
            verified_unix_ms: None,
            verify_error: (!verified).then(|| "bad tag".to_owned()),
            pinned: false,
            note: None,
            source: BackupSource::Schedule,
            external_path: None,
            quarantined: quarantined.map(str::to_owned),
        }
    }

    #[test]
    fn a_backup_that_failed_verification_is_never_pruned_nor_deleted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut catalog = Catalog::default();
        catalog.add(record("old_bad.enc", 1, false, Some("bad tag")));
        catalog.add(record("failed.enc", 2, false, None));
        for i in 3..6 {
            catalog.add(record(&format!("good{i}.enc"), i, true, None));
        }
        let policy = RetentionPolicy { last: 1, ..Default::default() };
        let pruned = prune(&mut catalog, &policy);
        delete_pruned(dir.path(), "test", &pruned);
        let gone: Vec<&str> = pruned.iter().map(|p| p.record.name.as_str()).collect();
        assert_eq!(gone, ["good3.enc", "good4.enc"]);
        let kept: Vec<&str> = catalog.backups.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(kept, ["old_bad.enc", "failed.enc", "good5.enc"]);
        let reasons = verdicts(&catalog, &policy);
        assert_eq!(reasons[0], ["quarantined: bad tag"]);
        assert_eq!(reasons[1], ["failed verification: kept for an operator"]);
        // Neither the newest good backup nor the "unchanged since" check sees a damaged one.
        catalog.add(record("newest_bad.enc", 9, true, Some("bad tag")));
        assert_eq!(catalog.newest().map(|b| b.name.as_str()), Some("good5.enc"));
        assert_eq!(catalog.last_good().map(|b| b.name.as_str()), Some("good5.enc"));
        assert!(remove_backup_files(dir.path(), &catalog.backups[0]).is_err());
    }
}
