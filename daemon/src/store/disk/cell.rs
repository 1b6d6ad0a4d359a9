//! The database handle, which the writer can swap: after an I/O failure (a full disk) redb
//! refuses every later operation until the file is reopened, and a damaged file is moved
//! aside and replaced. Readers take the current handle for one read; while the writer
//! reopens there is none, and they get the reason as an error.
//!
//! Also what the layer has to tell an operator: the problem it has now (for `status`) and
//! what happened since the start (notices, for `info` and `status`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use redb::Database;

use super::{unix_now_ms, DiskError, DiskLayer};

/// Runtime notices kept at most (the oldest are dropped first).
const MAX_NOTICES: usize = 32;
/// Longest the writer waits for readers to let go of a handle it must close.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// The swappable database handle and the layer's health (see the module doc).
pub(crate) struct DbCell {
    db: RwLock<Option<Arc<Database>>>,
    /// The database file.
    pub(crate) path: PathBuf,
    /// redb's page cache.
    pub(crate) cache_bytes: usize,
    /// What is wrong now, if anything (why writes fail).
    problem: Mutex<Option<String>>,
    /// What happened since the start.
    notices: Mutex<Vec<String>>,
    /// A reader found the file damaged; the writer replaces it before its next batch.
    damaged: AtomicBool,
    /// Why it was found damaged (for the notice of its replacement).
    damage: Mutex<Option<String>>,
}

impl DbCell {
    pub(crate) fn new(db: Database, path: PathBuf, cache_bytes: usize) -> DbCell {
        DbCell {
            db: RwLock::new(Some(Arc::new(db))),
            path,
            cache_bytes,
            problem: Mutex::new(None),
            notices: Mutex::new(Vec::new()),
            damaged: AtomicBool::new(false),
            damage: Mutex::new(None),
        }
    }

    /// The open database, or why there is none right now.
    pub(crate) fn get(&self) -> Result<Arc<Database>, DiskError> {
        if let Some(db) = self.db.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
            return Ok(db.clone());
        }
        let why = self.problem().unwrap_or_else(|| "it is being reopened".to_owned());
        Err(DiskError::Io(format!("the database is not open: {why}")))
    }

    /// Whether the writer must reopen or replace the database before it writes.
    pub(crate) fn needs_recovery(&self) -> bool {
        self.damaged.load(Ordering::Acquire)
            || self.db.read().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// Why the file was found damaged, if it was (and not replaced since).
    pub(crate) fn damage(&self) -> Option<String> {
        if !self.damaged.load(Ordering::Acquire) {
            return None;
        }
        let why = self.damage.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Some(why.unwrap_or_else(|| "found damaged while in use".to_owned()))
    }

    /// Takes the handle out (readers now get the problem), waits briefly for readers to drop
    /// their clones, and closes it. Returns false when a reader still held it (it stays out;
    /// the next recovery tries again).
    pub(crate) fn close(&self, stash: &mut Option<Arc<Database>>) -> bool {
        if stash.is_none() {
            *stash = self.db.write().unwrap_or_else(PoisonError::into_inner).take();
        }
        let Some(mut db) = stash.take() else { return true };
        let deadline = Instant::now() + RELEASE_WAIT;
        loop {
            match Arc::try_unwrap(db) {
                Ok(only) => {
                    // A latched I/O failure is reported again here; the reopen deals with it.
                    // redb may panic closing a damaged file; that file is being replaced.
                    let _ = catch_unwind(AssertUnwindSafe(move || only.close()));
                    return true;
                }
                Err(shared) if Instant::now() >= deadline => {
                    *stash = Some(shared);
                    return false;
                }
                Err(shared) => {
                    db = shared;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    /// Puts a (re)opened database in place.
    pub(crate) fn publish(&self, db: Database) {
        *self.db.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(db));
        self.damaged.store(false, Ordering::Release);
    }

    /// Marks the file damaged (the writer replaces it) and says so.
    pub(crate) fn mark_damaged(&self, why: &str) {
        if !self.damaged.swap(true, Ordering::AcqRel) {
            *self.damage.lock().unwrap_or_else(PoisonError::into_inner) = Some(why.to_owned());
            tracing::error!("the disk database {} is damaged: {why}", self.path.display());
            self.set_problem(format!("the database file is damaged ({why}); it is being replaced"));
        }
    }

    /// Records what is wrong now (logged once per change).
    pub(crate) fn set_problem(&self, what: String) {
        let mut problem = self.problem.lock().unwrap_or_else(PoisonError::into_inner);
        if problem.as_deref() != Some(what.as_str()) {
            tracing::error!("disk layer: {what}");
            *problem = Some(what);
        }
    }

    /// Clears the problem after a commit went through; says so when there was one.
    pub(crate) fn clear_problem(&self) {
        let mut problem = self.problem.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(was) = problem.take() {
            drop(problem);
            self.notice(format!("the disk layer recovered (it had failed: {was})"));
        }
    }

    /// What is wrong now.
    pub(crate) fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Adds a notice (also logged at warn).
    pub(crate) fn notice(&self, text: String) {
        tracing::warn!("{text}");
        let mut notices = self.notices.lock().unwrap_or_else(PoisonError::into_inner);
        if notices.len() >= MAX_NOTICES {
            notices.remove(0);
        }
        notices.push(format!("{} (at unix ms {})", text, unix_now_ms()));
    }

    /// The notices so far.
    pub(crate) fn notices(&self) -> Vec<String> {
        self.notices.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// A panic's message, for the error a request gets instead of a dropped connection.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    format!("the database library panicked: {text}")
}

impl DiskLayer {
    /// Runs a read on the current database, containing a panic inside redb (some damaged
    /// pages make it panic): the file is marked damaged, the writer replaces it, and the
    /// request gets a `corrupt` error instead of a dropped connection.
    pub(crate) fn guarded<T>(
        &self,
        read: impl FnOnce(&Database) -> Result<T, DiskError>,
    ) -> Result<T, DiskError> {
        let db = self.cell.get()?;
        let result = match catch_unwind(AssertUnwindSafe(|| read(&db))) {
            Ok(result) => result,
            Err(panic) => Err(DiskError::Corrupt(panic_message(panic.as_ref()))),
        };
        drop(db);
        if let Err(DiskError::Corrupt(why)) = &result {
            self.cell.mark_damaged(why);
            // Wake the writer, which replaces the file before anything else.
            let _ = self.enqueue(super::Op::Flush, false);
        }
        result
    }

    /// What is wrong with the disk layer now (for `status`), if anything.
    pub fn problem(&self) -> Option<String> {
        self.cell.problem()
    }

    /// What happened to the disk layer since the start: recoveries, replaced files.
    pub fn notices(&self) -> Vec<String> {
        self.cell.notices()
    }
}
