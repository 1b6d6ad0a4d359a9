//! `backup restore`: put a verified backup back in place of the live file, after saving the
//! live file (as a `before_restore` backup, or in quarantine when it does not decrypt).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cachemgr_proto::BackupSource;

use super::backup::{no_progress, BackupRequest};
use super::codec::AppCodec;
use super::error::AppError;
use super::live::{read_file, read_live, sha256_hex, VerifiedCopy};
use super::naming::stamp;
use super::registry::AppRecord;
use super::service::AppService;
use super::store::backup_path;
use crate::access::paths::{self, Place, Principal};
use crate::atomic_file::AtomicFile;
use crate::store::clock::unix_ms_now;

/// How a restore ended.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    /// The backup now live.
    pub backup: String,
    /// The backup made of the replaced file.
    pub saved_as: Option<String>,
    /// Where the replaced file went when it did not decrypt.
    pub quarantined: Option<PathBuf>,
}

impl AppService {
    /// Restores `backup` (or the newest verified one) over the live file.
    pub async fn restore(
        self: &Arc<Self>,
        name: &str,
        backup: Option<String>,
    ) -> Result<RestoreOutcome, AppError> {
        let _op = self.try_lock(name).await?;
        let app = self.record(name)?;
        if app.builtin {
            return Err(AppError::Invalid(format!(
                "{name:?} is the daemon's own state: stop the daemon and copy the registry and \
                 config out of the backup by hand (they are plain JSON)"
            )));
        }
        let codec = self.codec(&app).await?;
        let service = self.clone();
        tokio::task::spawn_blocking(move || service.restore_locked(&app, &codec, backup.as_deref()))
            .await
            .map_err(|e| AppError::Storage(format!("the restore task failed: {e}")))?
    }

    fn restore_locked(
        &self,
        app: &AppRecord,
        codec: &AppCodec,
        wanted: Option<&str>,
    ) -> Result<RestoreOutcome, AppError> {
        let dir = self.backup_dir(app);
        let catalog = self.catalog(app)?;
        let record = match wanted {
            Some(name) => catalog.find(name).cloned().ok_or_else(|| {
                AppError::Invalid(format!(
                    "app {:?} has no backup named {name:?} (see `cachectl backup list {}`)",
                    app.name, app.name
                ))
            })?,
            None => catalog.last_good().cloned().ok_or_else(|| {
                AppError::Invalid(format!("app {:?} has no verified backup to restore", app.name))
            })?,
        };
        let path = backup_path(&dir, &record.name).ok_or_else(|| {
            AppError::Invalid(format!("{:?} is not a backup file name", record.name))
        })?;
        let bytes = read_file(&path, self.config.max_file_bytes.as_u64())?;
        codec
            .verify(&bytes)
            .map_err(|err| AppError::corrupt(format!("backup {}", record.name), &err))?;
        let place = self.live_place(app)?;
        let (saved_as, quarantined) = self.save_live_before(app, &place, codec, &dir)?;
        replace_live(&place, &bytes).map_err(|err| {
            AppError::storage(format!("cannot replace {}", app.path.display()), err)
        })?;
        tracing::info!(app = %app.name, backup = %record.name, "backup restored");
        Ok(RestoreOutcome { backup: record.name, saved_as, quarantined })
    }

    /// Saves the live file before it is replaced: as a backup when it decrypts, else moved to
    /// `<backup dir>/quarantine/`. Nothing to save when it does not exist.
    pub(super) fn save_live_before(
        &self,
        app: &AppRecord,
        place: &Place,
        codec: &AppCodec,
        dir: &Path,
    ) -> Result<(Option<String>, Option<PathBuf>), AppError> {
        let bytes = match read_live(place, self.config.max_file_bytes.as_u64()) {
            Ok(bytes) => bytes,
            Err(err) if err.is_missing() => return Ok((None, None)),
            Err(super::live::LiveError::Empty(_)) => Vec::new(),
            Err(err) => return Err(err.into()),
        };
        if !bytes.is_empty() && codec.verify(&bytes).is_ok() {
            let copy = VerifiedCopy { sha256: sha256_hex(&bytes), bytes, bad_reads: 0 };
            let request = BackupRequest {
                source: BackupSource::BeforeRestore,
                pin: false,
                note: None,
                skip_unchanged: false,
            };
            let saved = self.store_copy(app, &copy, request, &no_progress())?.into_record();
            return Ok((Some(saved.name), None));
        }
        let quarantine = dir.join("quarantine");
        let file_name = app
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "live".into());
        let target = quarantine.join(format!("{file_name}.{}", stamp(unix_ms_now())));
        std::fs::create_dir_all(&quarantine)
            .and_then(|()| crate::atomic_file::write_atomic(&target, &bytes))
            .map_err(|err| {
                AppError::storage(format!("cannot quarantine {}", app.path.display()), err)
            })?;
        tracing::warn!(app = %app.name, file = %target.display(), "the live file did not decrypt; kept in quarantine");
        Ok((None, Some(target)))
    }
}

/// Replaces `path` atomically with `bytes`: as a user's file (an app's live file or an
/// external copy) when `user` names whose, through the path resolver (see
/// [`replace_live`]), or as one of the daemon's own files.
pub fn replace_file(path: &Path, user: Option<Principal>, bytes: &[u8]) -> std::io::Result<()> {
    match user {
        Some(principal) => replace_live(&paths::place(principal, path)?, bytes),
        None => crate::atomic_file::write_atomic(path, bytes),
    }
}

/// Replaces a user's file (an app's live file, an external copy) atomically through the
/// directory the path resolver opened, keeping its permission bits (never set-id bits) and,
/// when the daemon runs as root, giving it to the principal of the place (for root or the
/// daemon's user: to whoever owned the file, so the app can still write it).
pub fn replace_live(place: &Place, bytes: &[u8]) -> std::io::Result<()> {
    let principal = place.dir().principal();
    let dir = rustix::fs::fstat(place.dir().fd())?;
    let (mode, owner) = match place.stat()? {
        Some(stat) if principal.unrestricted || stat.st_uid == principal.uid => {
            (stat.st_mode & 0o777, (stat.st_uid, stat.st_gid))
        }
        // Someone else's file under the principal's name (a hard link put there): the new
        // file is the principal's, never its.
        Some(stat) => (stat.st_mode & 0o777, (principal.uid, dir.st_gid)),
        None if principal.unrestricted => (0o600, (dir.st_uid, dir.st_gid)),
        None => (0o600, (principal.uid, dir.st_gid)),
    };
    let mut file = AtomicFile::create_in(place.dir(), place.name())?;
    file.set_mode_and_owner(mode, Some(owner))?;
    file.write_all(bytes)?;
    file.commit()
}
