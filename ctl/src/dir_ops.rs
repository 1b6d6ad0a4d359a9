//! Typed helpers on [`Client`] for disposable cache directories (`dir_*`), and the
//! byte-reporting form of `delete_pattern`. Paths go to the daemon, which has its own
//! working directory, so each one is made absolute here first.

use std::path::Path;

use cachemgr_proto::{DirFreed, DirInfo, DirSettings, KeyPattern, RequestBody, ResponseBody};

use crate::client::Client;
use crate::error::ClientError;
use crate::ops::unexpected;
use crate::types::absolute_path;

/// What a `dir_clear` or `dir_trim` deleted (or, on a dry run, would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DirsFreedReport {
    /// Nothing was deleted; the counts are what would go.
    pub dry_run: bool,
    /// Files deleted in all the directories together.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// One row per directory.
    pub dirs: Vec<DirFreed>,
}

impl Client {
    /// Registers a cache directory (or changes its limits); returns it as registered.
    pub async fn dir_add(
        &self,
        path: &Path,
        settings: DirSettings,
    ) -> Result<DirInfo, ClientError> {
        let request = RequestBody::DirAdd { path: absolute_path(path)?, settings };
        expect!(self, request, "dir", ResponseBody::Dir(info) => *info)
    }

    /// Every registered directory with its size now, sorted by path.
    pub async fn dir_list(&self) -> Result<Vec<DirInfo>, ClientError> {
        expect!(self, RequestBody::DirList {}, "dirs",
            ResponseBody::Dirs { dirs } => dirs)
    }

    /// Forgets a directory (its files stay).
    pub async fn dir_remove(&self, path: &Path) -> Result<(), ClientError> {
        let request = RequestBody::DirRemove { path: absolute_path(path)? };
        expect!(self, request, "done", ResponseBody::Done {} => ())
    }

    /// Deletes every file of a registered directory (never the directory itself).
    pub async fn dir_clear(
        &self,
        path: &Path,
        dry_run: bool,
    ) -> Result<DirsFreedReport, ClientError> {
        let request = RequestBody::DirClear { path: absolute_path(path)?, dry_run };
        expect!(self, request, "dirs_freed",
            ResponseBody::DirsFreed { dry_run, files, bytes, dirs } =>
                DirsFreedReport { dry_run, files, bytes, dirs })
    }

    /// Trims one registered directory (`Some`) or every one to its limits now.
    pub async fn dir_trim(
        &self,
        path: Option<&Path>,
        dry_run: bool,
    ) -> Result<DirsFreedReport, ClientError> {
        let path = path.map(absolute_path).transpose()?;
        let request = RequestBody::DirTrim { path, dry_run };
        expect!(self, request, "dirs_freed",
            ResponseBody::DirsFreed { dry_run, files, bytes, dirs } =>
                DirsFreedReport { dry_run, files, bytes, dirs })
    }

    /// Deletes every key matching a pattern; returns how many and the bytes of their keys
    /// and values (`None` from a daemon that predates the byte count).
    pub async fn delete_pattern_freed(
        &self,
        ns: &str,
        pattern: KeyPattern,
    ) -> Result<(u64, Option<u64>), ClientError> {
        let request = RequestBody::DeletePattern { ns: ns.to_owned(), pattern };
        expect!(self, request, "count",
            ResponseBody::Count { count, bytes } => (count, bytes))
    }
}
