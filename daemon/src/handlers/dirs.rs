//! `dir_*`: disposable cache directories. Each call goes to the `DirService`, which does the
//! file work off the runtime threads; `dir_add` needs the caller's uid (from the kernel), so
//! the connection hands it over with the request.

use std::sync::Arc;

use cachemgr_proto::{DirFreed, DirSettings, ErrorKind, ResponseBody};

use super::error;
use crate::context::DaemonContext;
use crate::dirs::{DirService, DirsError, DirsFreed};

/// The directory service, or the answer that says it is off.
fn service(ctx: &DaemonContext) -> Result<&Arc<DirService>, ResponseBody> {
    ctx.dirs.as_ref().ok_or_else(|| {
        error(
            ErrorKind::Unavailable,
            "cache directories are off: their registry could not be loaded (see `cachectl info`)",
        )
    })
}

/// The answer of a directory operation.
fn answer(result: Result<Result<ResponseBody, DirsError>, ResponseBody>) -> ResponseBody {
    match result {
        Ok(Ok(body)) => body,
        Ok(Err(err)) => dirs_error(err),
        Err(off) => off,
    }
}

/// `dir_add`: registers a directory of `uid`'s (resolved as theirs).
pub async fn add(ctx: &DaemonContext, path: &str, settings: DirSettings, uid: u32) -> ResponseBody {
    let dirs = match service(ctx) {
        Ok(dirs) => dirs,
        Err(off) => return off,
    };
    answer(Ok(dirs.add(path, settings, uid).await.map(|dir| ResponseBody::Dir(Box::new(dir)))))
}

/// `dir_list`.
pub async fn list(ctx: &DaemonContext) -> ResponseBody {
    match service(ctx) {
        Ok(dirs) => ResponseBody::Dirs { dirs: dirs.list().await },
        Err(off) => off,
    }
}

/// `dir_remove`: forgets a registered directory (its files stay).
pub fn remove(ctx: &DaemonContext, path: &str) -> ResponseBody {
    answer(service(ctx).map(|dirs| dirs.remove(path).map(|()| ResponseBody::Done {})))
}

/// `dir_clear`: empties one registered directory.
pub async fn clear(ctx: &DaemonContext, path: &str, dry_run: bool) -> ResponseBody {
    let dirs = match service(ctx) {
        Ok(dirs) => dirs,
        Err(off) => return off,
    };
    answer(Ok(dirs.clear(path, dry_run).await.map(|done| freed(done, dry_run))))
}

/// `dir_trim`: applies the age and size limits of one registered directory, or of all.
pub async fn trim(ctx: &DaemonContext, path: Option<&str>, dry_run: bool) -> ResponseBody {
    let dirs = match service(ctx) {
        Ok(dirs) => dirs,
        Err(off) => return off,
    };
    answer(Ok(dirs.trim(path, dry_run).await.map(|done| freed(done, dry_run))))
}

fn freed(done: DirsFreed, dry_run: bool) -> ResponseBody {
    let dirs = done
        .dirs
        .into_iter()
        .map(|d| DirFreed {
            path: d.path.display().to_string(),
            files: d.files,
            bytes: d.bytes,
            failed: (d.failed > 0).then_some(d.failed),
        })
        .collect();
    ResponseBody::DirsFreed { dry_run, files: done.files, bytes: done.bytes, dirs }
}

fn dirs_error(err: DirsError) -> ResponseBody {
    let kind = match &err {
        DirsError::Relative(_)
        | DirsError::Missing(_)
        | DirsError::NotADirectory { .. }
        | DirsError::Refused { .. }
        | DirsError::NotRegistered(_) => ErrorKind::InvalidArgument,
        DirsError::NotOwner { .. } => ErrorKind::PermissionDenied,
        DirsError::Inspect { .. }
        | DirsError::Registry { .. }
        | DirsError::RegistryInvalid { .. }
        | DirsError::Walk { .. } => ErrorKind::Storage,
        DirsError::Task(_) => ErrorKind::Internal,
    };
    error(kind, err.to_string())
}
