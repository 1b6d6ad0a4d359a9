//! The request table: for every request, who may send it, what it changes and which
//! namespaces and filesystem paths it touches.
//!
//! The daemon decides every request from this one table (and from the kernel's identity of
//! the caller), before any handler runs: handlers never check rights themselves. The match in
//! [`RequestBody::access`] is exhaustive with no catch-all, so a new request does not compile
//! until it says what it needs; read-only mode is derived from [`Effect`], never listed by
//! hand. `docs/protocol.md` prints the same table for client authors.

use crate::request::RequestBody;

/// Who may send a request (admins may always, except where read-only mode refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    /// Anyone who may connect; answers that list things are trimmed to what the caller may see.
    Anyone,
    /// Whoever may read this namespace.
    Reader(&'a str),
    /// Whoever may write this namespace.
    Writer(&'a str),
    /// Admins only: root, the daemon's own user, members of `admin_group`.
    Admin,
    /// The user who registered this app, or an admin.
    AppOwner(&'a str),
}

/// What a request changes; read-only mode refuses [`Effect::State`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// Nothing: a read.
    Nothing,
    /// The entries it names, one by one: ordinary cache traffic, served in read-only mode.
    Entries,
    /// Anything else: bulk or pattern changes, files, settings, the daemon itself.
    State,
}

/// What the daemon does with a filesystem path a caller names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathUse {
    /// A registered app's live file: read, verified, and replaced by restore and `app set`.
    AppFile,
    /// A directory the daemon copies an app's backups into (created when missing).
    AppExternalDir,
    /// A dump file the daemon writes (replaced atomically).
    DumpTarget,
    /// A dump file the daemon reads.
    DumpSource,
    /// The Python Cache Manager's own cache file, read by an import.
    ImportCache,
    /// The Python Cache Manager's backup directory, read by an import.
    ImportBackups,
    /// A disposable cache directory whose files the daemon deletes.
    CacheDir,
}

/// A path named by a request, with what is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedPath<'a> {
    /// What the daemon does with it.
    pub usage: PathUse,
    /// The path as the caller sent it.
    pub path: &'a str,
}

/// The entry of one request in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    /// Who may send it.
    pub audience: Audience<'a>,
    /// What it changes.
    pub effect: Effect,
    /// The filesystem paths it names (at most two), each resolved by the daemon's one path
    /// resolver: no symlink in any component, and owned by the caller unless an admin.
    pub paths: [Option<NamedPath<'a>>; 2],
}

impl<'a> Access<'a> {
    const fn new(audience: Audience<'a>, effect: Effect) -> Access<'a> {
        Access { audience, effect, paths: [None, None] }
    }

    fn path(mut self, usage: PathUse, path: Option<&'a String>) -> Access<'a> {
        let named = path.map(|path| NamedPath { usage, path: path.as_str() });
        if self.paths[0].is_none() {
            self.paths[0] = named;
        } else {
            self.paths[1] = named;
        }
        self
    }

    /// The paths it names.
    pub fn named_paths(&self) -> impl Iterator<Item = NamedPath<'a>> + '_ {
        self.paths.iter().flatten().copied()
    }
}

impl RequestBody {
    /// This request's entry in the table (see the module docs).
    pub fn access(&self) -> Access<'_> {
        use Audience::{Admin, Anyone, AppOwner, Reader, Writer};
        use Effect::{Entries, Nothing, State};
        use RequestBody as R;
        let new = Access::new;
        match self {
            R::Hello { .. } | R::Ping {} | R::Info {} | R::Status {} => new(Anyone, Nothing),
            R::ListNamespaces {} | R::AppList {} | R::PressureStatus {} => new(Anyone, Nothing),
            R::ScheduleList {} | R::DirList {} | R::Metrics {} => new(Anyone, Nothing),
            R::Stats { ns: None } | R::Subscribe { ns: None, .. } => new(Anyone, Nothing),
            R::Stats { ns: Some(ns) } | R::Subscribe { ns: Some(ns), .. } => {
                new(Reader(ns), Nothing)
            }
            R::Get { ns, .. } | R::Exists { ns, .. } | R::Ttl { ns, .. } => {
                new(Reader(ns), Nothing)
            }
            R::GetMany { ns, .. } | R::Keys { ns, .. } | R::PatternStats { ns, .. } => {
                new(Reader(ns), Nothing)
            }
            R::Set { ns, .. } | R::Delete { ns, .. } | R::Expire { ns, .. } => {
                new(Writer(ns), Entries)
            }
            R::SetMany { ns, .. } => new(Writer(ns), Entries),
            // Pattern operations can touch every key of a namespace: management, like clear.
            R::DeletePattern { ns, .. } | R::ExpirePattern { ns, .. } | R::Clear { ns } => {
                new(Writer(ns), State)
            }
            R::ClearAll {} | R::Reload {} | R::Shutdown {} | R::KeyRotate { .. } => {
                new(Admin, State)
            }
            R::KeyStatus {} | R::AutodumpStatus {} => new(Admin, Nothing),
            // A dump reads the cache but creates a file: a change of state.
            R::Dump { path, .. } => new(Admin, State).path(PathUse::DumpTarget, Some(path)),
            R::Restore { path, .. } => new(Admin, State).path(PathUse::DumpSource, Some(path)),
            R::AutodumpStart { path, .. } => {
                new(Admin, State).path(PathUse::DumpTarget, Some(path))
            }
            R::AutodumpChange { path, .. } => {
                new(Admin, State).path(PathUse::DumpTarget, path.as_ref())
            }
            R::AutodumpStop {} | R::PressureCheck {} => new(Admin, State),
            R::AppImport { cache, backups } => new(Admin, State)
                .path(PathUse::ImportCache, cache.as_ref())
                .path(PathUse::ImportBackups, backups.as_ref()),
            // Anyone may register a file; the path resolver makes sure it is their own.
            R::AppAdd { settings, .. } => new(Anyone, State)
                .path(PathUse::AppFile, settings.path.as_ref())
                .path(PathUse::AppExternalDir, external_dir(settings)),
            R::AppEdit { name, settings } => new(AppOwner(name), State)
                .path(PathUse::AppFile, settings.path.as_ref())
                .path(PathUse::AppExternalDir, external_dir(settings)),
            R::AppShow { name } | R::AppInspect { name, .. } => new(AppOwner(name), Nothing),
            R::AppRemove { name, .. } | R::AppSet { name, .. } | R::AppMigrate { name, .. } => {
                new(AppOwner(name), State)
            }
            R::BackupList { app } | R::BackupVerify { app: Some(app) } => {
                new(AppOwner(app), Nothing)
            }
            R::BackupVerify { app: None } => new(Admin, Nothing),
            R::BackupCreate { app, .. } | R::BackupPrune { app, .. } => new(AppOwner(app), State),
            R::BackupRestore { app, .. } => new(AppOwner(app), State),
            R::DirAdd { path, .. } => new(Admin, State).path(PathUse::CacheDir, Some(path)),
            // These name a directory registered (and resolved) by `dir_add`.
            R::DirRemove { .. } | R::DirClear { .. } | R::DirTrim { .. } => new(Admin, State),
        }
    }
}

/// The external directory an app's settings name; `""` (remove the external copy) names none.
fn external_dir(settings: &crate::AppSettings) -> Option<&String> {
    settings.external_dir.as_ref().filter(|dir| !dir.is_empty())
}
