//! `dump`, `restore` and the auto-dump schedule. A dump is written by the daemon (it holds
//! the key), atomically, encrypted under a key derived from the master key; a restore
//! verifies the whole file before it changes anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cachemgr_proto::{AutodumpInfo, Entry, ErrorKind, KeyPattern, ResponseBody, RestoreMode};
use serde_bytes::ByteBuf;

use super::{error, store_error};
use crate::access::paths::{self, PathError, Principal};
use crate::context::DaemonContext;
use crate::dump::{self, DumpError, DumpRecord, DumpSummary, DumpWriter};
use crate::jobs::autodump::{AutodumpSettings, AutodumpStatus};
use crate::pattern::KeyMatcher;
use crate::store::disk::unix_now_ms;
use crate::store::StoreError;

/// Keys read per page while dumping, and entries written per batch while restoring.
const BATCH: usize = 512;

/// Why a dump or restore failed, with the wire kind it maps to.
#[derive(Debug, thiserror::Error)]
pub enum DumpFailure {
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
    /// The dump file is damaged, truncated or sealed under another key.
    #[error("{0}")]
    Corrupt(String),
    /// Reading the cache failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing or reading the file failed.
    #[error("{0}")]
    File(#[from] DumpError),
    /// The path resolver refused the path.
    #[error(transparent)]
    Path(PathError),
    /// The file (or its directory) does not exist.
    #[error("{}: No such file or directory", .0.display())]
    Missing(PathBuf),
    /// The load pass failed after the cache had changed (never reported as `corrupt`, which
    /// promises that nothing changed).
    #[error("{0}")]
    Partial(String),
}

impl DumpFailure {
    fn into_response(self) -> ResponseBody {
        match self {
            DumpFailure::Invalid(message) => error(ErrorKind::InvalidArgument, message),
            DumpFailure::Corrupt(message) => error(ErrorKind::Corrupt, message),
            DumpFailure::Store(err) => store_error(err),
            DumpFailure::File(err) => error(ErrorKind::Storage, err.to_string()),
            DumpFailure::Path(err) => error(err.kind(), err.to_string()),
            DumpFailure::Missing(path) => {
                error(ErrorKind::Storage, format!("{}: No such file or directory", path.display()))
            }
            DumpFailure::Partial(message) => error(ErrorKind::Internal, message),
        }
    }
}

/// Writes a dump of `ns` (or every namespace) to `path`, off the async workers, as
/// `principal`: the file's directory is opened by the path resolver (no symlink anywhere;
/// the principal's own unless it is root or the daemon's user).
pub async fn write_dump(
    state: Arc<DaemonContext>,
    path: PathBuf,
    ns: Option<String>,
    pattern: Option<KeyPattern>,
    principal: Principal,
) -> Result<DumpSummary, DumpFailure> {
    let task = tokio::task::spawn_blocking(move || {
        dump_blocking(&state, &path, ns.as_deref(), pattern.as_ref(), principal)
    });
    task.await.map_err(|e| DumpFailure::Invalid(format!("the dump task failed: {e}")))?
}

fn dump_blocking(
    state: &DaemonContext,
    path: &Path,
    ns: Option<&str>,
    pattern: Option<&KeyPattern>,
    principal: Principal,
) -> Result<DumpSummary, DumpFailure> {
    absolute(path)?;
    let place = paths::place(principal, path).map_err(|err| path_failure(path, err))?;
    let matcher = KeyMatcher::compile(pattern).map_err(|e| DumpFailure::Invalid(e.to_string()))?;
    let mut names: Vec<String> = state.store.all().iter().map(|n| n.name().to_owned()).collect();
    if let Some(only) = ns {
        if !names.iter().any(|n| n == only) {
            return Err(DumpFailure::Invalid(format!("namespace {only:?} does not exist")));
        }
        names.retain(|n| n == only);
    }
    names.sort();
    let mut writer = DumpWriter::create_in(&place, state.key.dump_root.as_bytes())?;
    for name in names {
        let mut cursor = 0;
        loop {
            let (keys, next) = state.store.keys_page(&name, &matcher, cursor, BATCH)?;
            for key in keys {
                let Some(value) = state.store.get(&name, &key)? else { continue };
                let expires = match state.store.ttl(&name, &key)? {
                    Some(Some(left)) => Some(unix_now_ms() + left.max(1)),
                    _ => None,
                };
                writer.write(&DumpRecord {
                    ns: name.clone(),
                    key,
                    value,
                    expires_at_unix_ms: expires,
                })?;
            }
            match next {
                Some(at) => cursor = at,
                None => break,
            }
        }
    }
    let summary = writer.finish()?;
    tracing::info!(path = %path.display(), entries = summary.entries, bytes = summary.bytes, "dump written");
    Ok(summary)
}

/// Answer to `dump`, written as `principal`.
pub async fn dump(
    state: Arc<DaemonContext>,
    path: String,
    ns: Option<String>,
    pattern: Option<KeyPattern>,
    principal: Principal,
) -> ResponseBody {
    let target = PathBuf::from(&path);
    match write_dump(state, target, ns, pattern, principal).await {
        Ok(summary) => {
            ResponseBody::Dumped { path, entries: summary.entries, bytes: summary.bytes }
        }
        Err(failure) => failure.into_response(),
    }
}

/// Answer to `restore`: verify everything first, then clear (`replace`) and load.
pub async fn restore(
    state: &DaemonContext,
    path: String,
    ns: Option<String>,
    mode: RestoreMode,
    principal: Principal,
) -> ResponseBody {
    match restore_inner(state, Path::new(&path), ns.as_deref(), mode, principal).await {
        Ok((entries, skipped_expired, namespaces)) => {
            tracing::info!(path = %path, entries, skipped_expired, "dump restored");
            ResponseBody::Restored { entries, skipped_expired, namespaces }
        }
        Err(failure) => failure.into_response(),
    }
}

async fn restore_inner(
    state: &DaemonContext,
    path: &Path,
    ns: Option<&str>,
    mode: RestoreMode,
    principal: Principal,
) -> Result<(u64, u64, Vec<String>), DumpFailure> {
    absolute(path)?;
    let root = state.key.dump_root.clone();
    let checked = path.to_owned();
    // Opened by the path resolver as the caller, then verified and loaded through that one
    // open file: the bytes loaded are the bytes verified.
    let (summary, reader) = tokio::task::spawn_blocking(move || {
        let file = paths::place(principal, &checked)
            .and_then(|place| place.open_read())
            .map_err(|err| path_failure(&checked, err))?;
        dump::verified_from(file, &checked, root.as_bytes()).map_err(|e| refused(&checked, e))
    })
    .await
    .map_err(|e| DumpFailure::Invalid(format!("the verify task failed: {e}")))??;
    let mut namespaces = summary.namespaces.clone();
    if let Some(only) = ns {
        namespaces.retain(|n| n == only);
    }
    if mode == RestoreMode::Replace {
        for name in &namespaces {
            state.store.clear(name).await?;
        }
    }
    let (mut loaded, mut skipped) = (0u64, 0u64);
    let mut batch: Vec<Entry> = Vec::new();
    let mut batch_ns = String::new();
    for record in reader {
        let record = record.map_err(|e| cut_short(path, e, loaded, &namespaces, mode))?;
        if ns.is_some_and(|only| only != record.ns) {
            continue;
        }
        let now = unix_now_ms();
        let ttl_ms = match record.expires_at_unix_ms {
            Some(at) if at <= now => {
                skipped += 1;
                continue;
            }
            Some(at) => Some(at - now),
            None => Some(0),
        };
        if record.ns != batch_ns || batch.len() >= BATCH {
            loaded += flush(state, &batch_ns, &mut batch).await?;
            batch_ns = record.ns.clone();
        }
        batch.push(Entry { key: record.key, value: ByteBuf::from(record.value), ttl_ms });
    }
    loaded += flush(state, &batch_ns, &mut batch).await?;
    Ok((loaded, skipped, namespaces))
}

async fn flush(
    state: &DaemonContext,
    ns: &str,
    batch: &mut Vec<Entry>,
) -> Result<u64, DumpFailure> {
    if batch.is_empty() {
        return Ok(0);
    }
    let entries = std::mem::take(batch);
    Ok(state.store.set_many(ns, &entries).await?)
}

fn refused(path: &Path, err: DumpError) -> DumpFailure {
    match err {
        DumpError::Io { .. } => DumpFailure::File(err),
        other => DumpFailure::Corrupt(format!(
            "refusing to restore {}: {other}; nothing was changed",
            path.display()
        )),
    }
}

/// A failure of the second pass (the file was verified, so only a write into it since, or a
/// read error, gets here): the cache may already have changed, and the answer says so rather
/// than "nothing was changed".
fn cut_short(
    path: &Path,
    err: DumpError,
    loaded: u64,
    namespaces: &[String],
    mode: RestoreMode,
) -> DumpFailure {
    let cleared = if mode == RestoreMode::Replace { "cleared, then " } else { "" };
    DumpFailure::Partial(format!(
        "restoring {} stopped after the cache had changed: {err}; namespaces {} were \
         {cleared}given {loaded} entries of the dump; restore a good dump again",
        path.display(),
        namespaces.join(", ")
    ))
}

/// A refused path, or a missing one (a file error, as a dump that cannot be written is).
fn path_failure(path: &Path, err: PathError) -> DumpFailure {
    match err {
        PathError::NotFound(_) => DumpFailure::Missing(path.to_path_buf()),
        other => DumpFailure::Path(other),
    }
}

fn absolute(path: &Path) -> Result<(), DumpFailure> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(DumpFailure::Invalid(format!("dump path {} must be absolute", path.display())))
    }
}

/// Answer to the four auto-dump requests; the schedule's runs write as `principal`.
pub fn autodump(
    state: &DaemonContext,
    request: AutodumpRequest,
    principal: Principal,
) -> ResponseBody {
    let Some(schedule) = &state.autodump else {
        return error(
            ErrorKind::Unavailable,
            "auto-dump is unavailable: its state file could not be read at start-up (see the log)",
        );
    };
    let result = match request {
        AutodumpRequest::Start { path, every_ms, ns, pattern } => {
            schedule.start(AutodumpSettings {
                path: PathBuf::from(path),
                every: Duration::from_millis(every_ms),
                ns,
                pattern,
                owner_uid: Some(principal.uid),
            })
        }
        AutodumpRequest::Change { every_ms, path } => schedule.change(
            every_ms.map(Duration::from_millis),
            path.map(PathBuf::from),
            principal.uid,
        ),
        AutodumpRequest::Stop => schedule.stop(),
        AutodumpRequest::Status => Ok(schedule.status()),
    };
    match result {
        Ok(status) => ResponseBody::Autodump(Box::new(info(status))),
        Err(err) => error(ErrorKind::InvalidArgument, err.to_string()),
    }
}

/// The auto-dump requests, unpacked from the wire.
pub enum AutodumpRequest {
    /// `autodump_start`.
    Start {
        /// File.
        path: String,
        /// Interval.
        every_ms: u64,
        /// Namespace filter.
        ns: Option<String>,
        /// Key filter.
        pattern: Option<KeyPattern>,
    },
    /// `autodump_change`.
    Change {
        /// New interval.
        every_ms: Option<u64>,
        /// New file.
        path: Option<String>,
    },
    /// `autodump_stop`.
    Stop,
    /// `autodump_status`.
    Status,
}

fn info(status: AutodumpStatus) -> AutodumpInfo {
    let settings = status.settings;
    AutodumpInfo {
        enabled: settings.is_some(),
        path: settings.as_ref().map(|s| s.path.display().to_string()),
        every_ms: settings.as_ref().map(|s| s.every.as_millis() as u64),
        ns: settings.as_ref().and_then(|s| s.ns.clone()),
        pattern: settings.and_then(|s| s.pattern),
        last_run_unix_ms: status.last_run_unix_ms,
        last_result: status.last_result,
        last_ok_unix_ms: status.last_ok_unix_ms,
        next_run_unix_ms: status.next_run_unix_ms,
    }
}
