//! Watching registered files with `notify`. Each file's parent directory is watched, not the
//! file: the apps (and editors) replace files by rename, which ends a watch on the file
//! itself. Events are filtered by name and passed on as app names; debouncing is the
//! scheduler's job.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::registry::AppRecord;

/// Which app each watched file belongs to.
type Routes = Arc<Mutex<HashMap<PathBuf, Vec<String>>>>;

/// The file watcher.
pub struct AppWatcher {
    watcher: notify::RecommendedWatcher,
    routes: Routes,
    /// Watched directories and the inode each had when watched: a directory deleted and made
    /// again is a new inode, which the old watch no longer sees.
    watched: HashMap<PathBuf, u64>,
}

impl std::fmt::Debug for AppWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppWatcher").field("watched", &self.watched).finish()
    }
}

impl AppWatcher {
    /// A watcher sending the name of each app whose file saw an event.
    pub fn new(events: mpsc::UnboundedSender<String>) -> notify::Result<AppWatcher> {
        let routes: Routes = Arc::default();
        let lookup = routes.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let event = match event {
                Ok(event) => event,
                Err(err) => {
                    tracing::warn!("file watch error: {err}");
                    return;
                }
            };
            if event.kind.is_access() {
                return;
            }
            let routes = lookup.lock().unwrap_or_else(PoisonError::into_inner);
            let mut seen = BTreeSet::new();
            for path in &event.paths {
                for name in routes.get(path).into_iter().flatten() {
                    if seen.insert(name.clone()) {
                        let _ = events.send(name.clone());
                    }
                }
            }
        })?;
        Ok(AppWatcher { watcher, routes, watched: HashMap::new() })
    }

    /// Watches the directories of `apps` (and stops watching the others). Returns the apps
    /// whose directory cannot be watched now (it does not exist): the caller tries again
    /// later, so watching resumes by itself when the directory comes back.
    pub fn sync(&mut self, apps: &[AppRecord]) -> Vec<String> {
        let mut routes: HashMap<PathBuf, Vec<String>> = HashMap::new();
        let mut wanted = BTreeSet::new();
        let mut unwatched = Vec::new();
        for app in apps.iter().filter(|a| !a.builtin) {
            let Some(dir) = app.path.parent() else { continue };
            routes.entry(app.path.clone()).or_default().push(app.name.clone());
            if dir.is_dir() {
                wanted.insert(dir.to_path_buf());
            } else {
                unwatched.push(app.name.clone());
            }
        }
        *self.routes.lock().unwrap_or_else(PoisonError::into_inner) = routes;
        let stale: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|(dir, inode)| !wanted.contains(*dir) || inode_of(dir) != Some(**inode))
            .map(|(dir, _)| dir.clone())
            .collect();
        for dir in stale {
            let _ = self.watcher.unwatch(&dir);
            self.watched.remove(&dir);
        }
        for dir in wanted {
            if self.watched.contains_key(&dir) {
                continue;
            }
            let Some(inode) = inode_of(&dir) else { continue };
            match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    tracing::debug!(dir = %dir.display(), "watching");
                    self.watched.insert(dir, inode);
                }
                Err(err) => {
                    tracing::warn!(dir = %dir.display(), "cannot watch: {err}");
                    let here = |a: &&AppRecord| a.path.parent() == Some(dir.as_path());
                    unwatched.extend(apps.iter().filter(here).map(|a| a.name.clone()));
                }
            }
        }
        unwatched
    }
}

fn inode_of(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().filter(|m| m.is_dir()).map(|m| m.ino())
}
