//! `dir_*`: disposable cache directories. Each call goes to the `DirService`, which does the
//! file work off the runtime threads; `dir_add` needs the caller's uid (from the kernel), so
//! the connection hands it over with the request.

use std::sync::Arc;

use cachemgr_proto::{DirFreed, ErrorKind, PeerIdentity, RequestBody, ResponseBody};

use super::error;
use crate::context::DaemonContext;
use crate::dirs::{DirService, DirsError, DirsFreed};

/// Whether this module answers `body`.
pub fn owns(body: &RequestBody) -> bool {
    matches!(
        body,
        RequestBody::DirAdd { .. }
            | RequestBody::DirList {}
            | RequestBody::DirRemove { .. }
            | RequestBody::DirClear { .. }
            | RequestBody::DirTrim { .. }
    )
}

/// Answers one `dir_*` request from `peer`.
pub async fn handle(
    state: &Arc<DaemonContext>,
    body: RequestBody,
    peer: PeerIdentity,
) -> ResponseBody {
    let Some(dirs) = state.dirs.clone() else {
        return error(
            ErrorKind::Unavailable,
            "cache directories are off: their registry could not be loaded (see `cachectl info`)",
        );
    };
    answer(&dirs, body, peer).await.unwrap_or_else(dirs_error)
}

async fn answer(
    dirs: &DirService,
    body: RequestBody,
    peer: PeerIdentity,
) -> Result<ResponseBody, DirsError> {
    Ok(match body {
        RequestBody::DirAdd { path, settings } => {
            ResponseBody::Dir(Box::new(dirs.add(&path, settings, peer.uid).await?))
        }
        RequestBody::DirList {} => ResponseBody::Dirs { dirs: dirs.list().await },
        RequestBody::DirRemove { path } => {
            dirs.remove(&path)?;
            ResponseBody::Done {}
        }
        RequestBody::DirClear { path, dry_run } => {
            freed(dirs.clear(&path, dry_run).await?, dry_run)
        }
        RequestBody::DirTrim { path, dry_run } => {
            freed(dirs.trim(path.as_deref(), dry_run).await?, dry_run)
        }
        other => error(ErrorKind::Internal, format!("{} is not a directory request", other.name())),
    })
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
