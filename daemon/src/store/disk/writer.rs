//! The one thread that writes the database: group commit over a queue.
//!
//! It takes the first queued op, then everything else already queued (up to a bound), applies
//! them all in one transaction, commits, and only then answers each caller. A batch commits
//! with `Durability::Immediate` (fsync) when any op in it asked for durability or when the
//! batched window has run out; otherwise with `Durability::None` (visible to readers at once,
//! made durable by the next immediate commit, at most `batch_window` later).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{Database, Durability};
use tokio::sync::oneshot;

use super::apply::Namespaces;
use super::cell::panic_message;
use super::open::{reopen, replace_damaged, Recovery};
use super::{apply, DiskError, DiskNamespace};
use crate::store::memory::WriteCondition;

/// Ops applied per transaction at most, so one commit never grows without bound.
const MAX_BATCH: usize = 1024;
/// How often a writer whose database is closed (disk full, damage) tries to reopen it.
const RECOVERY_RETRY: Duration = Duration::from_millis(500);
/// Shortest gap between two recovery attempts that a batch (not a failure) triggers.
const RECOVERY_GAP: Duration = Duration::from_millis(200);

/// A change to the database.
pub enum Op {
    /// Write one sealed record.
    Put {
        /// Namespace state (the writer re-seals a record sealed with a retired key).
        ns: Arc<DiskNamespace>,
        /// Key.
        key: String,
        /// Sealed record.
        record: Vec<u8>,
        /// Only-if-absent / only-if-present.
        condition: WriteCondition,
        /// Wall clock at the request, to judge expiry for the condition.
        now: u64,
    },
    /// Write many sealed records (key, record).
    PutMany {
        /// Namespace state.
        ns: Arc<DiskNamespace>,
        /// Keys and records.
        entries: Vec<(String, Vec<u8>)>,
    },
    /// Move keys read (LRU, LFU) in the eviction order.
    Touch {
        /// Namespace state.
        ns: Arc<DiskNamespace>,
        /// Keys.
        keys: Vec<String>,
    },
    /// Evict until the namespace fits its (lowered) byte limit.
    Trim {
        /// Namespace state.
        ns: Arc<DiskNamespace>,
    },
    /// Delete keys; counts those that were live.
    Delete {
        /// Namespace.
        ns: String,
        /// Keys.
        keys: Vec<String>,
        /// Wall clock, to tell live from expired.
        now: u64,
    },
    /// Give a live key a new expiry (re-sealed, since the expiry is authenticated).
    Expire {
        /// Namespace state.
        ns: Arc<DiskNamespace>,
        /// Keys.
        keys: Vec<String>,
        /// New expiry, unix ms; 0 = never.
        expires_at: u64,
        /// Wall clock.
        now: u64,
    },
    /// Drop every value of a namespace.
    Clear {
        /// Namespace.
        ns: String,
    },
    /// Delete up to `limit` values whose expiry has passed.
    Sweep {
        /// Namespace.
        ns: String,
        /// Wall clock.
        now: u64,
        /// Bound on deletions in this batch.
        limit: usize,
    },
    /// Delete a record found damaged, unless it was rewritten meanwhile.
    DropDamaged {
        /// Namespace.
        ns: String,
        /// The key's slot (a damaged record may not even yield its name).
        slot: String,
        /// The damaged bytes as read.
        record: Vec<u8>,
    },
    /// Re-seal the listed keys with the namespace's current key.
    Reseal {
        /// Namespace state.
        ns: Arc<DiskNamespace>,
        /// Keys.
        keys: Vec<String>,
    },
    /// Store a key generation's salt (and the namespace's sealed name).
    AddKey {
        /// Namespace state.
        ns: Arc<DiskNamespace>,
        /// Generation.
        id: u32,
        /// Its salt.
        salt: [u8; 32],
    },
    /// Destroy key generations (delete their salts).
    DropKeys {
        /// Namespace state.
        ns: Arc<DiskNamespace>,
        /// Generations.
        ids: Vec<u32>,
    },
    /// Nothing: used to wait for everything queued before it to be durable.
    Flush,
}

/// What an op did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Put: whether it was written (false when its condition failed).
    Written(bool),
    /// How many keys were affected.
    Count(u64),
    /// Clear: entries and stored bytes dropped.
    Cleared {
        /// Entries.
        entries: u64,
        /// Bytes.
        bytes: u64,
    },
    /// Sweep: values removed and whether more are due.
    Swept {
        /// Removed.
        removed: u64,
        /// More are due now.
        more: bool,
    },
    /// Nothing to report.
    Done,
}

type Reply = oneshot::Sender<Result<Outcome, DiskError>>;

struct Job {
    op: Op,
    durable: bool,
    reply: Reply,
}

/// The queue into the writer thread.
pub struct WriterHandle {
    queue: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl WriterHandle {
    /// Starts the writer thread.
    pub(crate) fn start(recovery: Recovery) -> Result<WriterHandle, DiskError> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cachemgr-disk-writer".into())
            .spawn(move || {
                Writer { recovery, pending: Vec::new(), stash: None, last_try: None }.run(&jobs)
            })
            .map_err(|err| DiskError::storage("starting the disk writer", err))?;
        Ok(WriterHandle { queue: Mutex::new(Some(queue)), thread: Mutex::new(Some(thread)) })
    }

    /// Queues an op; the receiver resolves once it is committed.
    pub fn submit(
        &self,
        op: Op,
        durable: bool,
    ) -> Result<oneshot::Receiver<Result<Outcome, DiskError>>, DiskError> {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queue.as_ref().ok_or(DiskError::Closed)?;
        queue.send(Job { op, durable, reply }).map_err(|_| DiskError::Closed)?;
        Ok(answer)
    }

    /// Closes the queue; the thread commits what is queued durably and exits.
    pub fn close(&self, timeout: Duration) {
        drop(self.queue.lock().unwrap_or_else(PoisonError::into_inner).take());
        let Some(thread) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take() else {
            return;
        };
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            tracing::warn!("the disk writer did not finish within {timeout:?}");
        }
    }
}

/// The writer thread's state.
struct Writer {
    recovery: Recovery,
    /// Ops committed without fsync since the last durable commit: acknowledged, but a
    /// failed fsync loses them in the file, so they are applied again after the reopen.
    pending: Vec<Op>,
    /// A handle taken out of service that a reader still held (closed on the next try).
    stash: Option<Arc<Database>>,
    /// When recovery was last tried: a stream of writes into a full disk must not reopen
    /// (and have redb repair) the file for every batch.
    last_try: Option<Instant>,
}

impl Writer {
    fn run(mut self, jobs: &Receiver<Job>) {
        // When non-durable commits are pending, the time by which they must be made durable.
        let mut flush_by: Option<Instant> = None;
        loop {
            let cell = self.recovery.cell.clone();
            if cell.needs_recovery() {
                self.recover(false);
            }
            let wait_until = match (cell.needs_recovery(), flush_by) {
                (true, _) => Some(Instant::now() + RECOVERY_RETRY),
                (false, at) => at,
            };
            let first = match wait_until {
                None => match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                },
                Some(at) => match jobs.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => {
                        if flush_by.is_some_and(|at| at <= Instant::now()) && !cell.needs_recovery()
                        {
                            flush_by = self.commit_batch(Vec::new(), true, flush_by);
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        // Stopping: one last chance to make acknowledged writes durable.
                        if cell.needs_recovery() {
                            self.recover(true);
                        }
                        if !cell.needs_recovery() {
                            self.commit_batch(Vec::new(), true, flush_by);
                        }
                        if !self.pending.is_empty() {
                            tracing::error!(
                                "the disk layer stops with {} acknowledged write(s) it could not make durable: {}",
                                self.pending.len(),
                                cell.problem().unwrap_or_default()
                            );
                        }
                        return;
                    }
                },
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if cell.needs_recovery() {
                self.recover(false);
            }
            if cell.needs_recovery() {
                let err = cell.get().err().unwrap_or(DiskError::Closed);
                for job in batch {
                    let _ = job.reply.send(Err(err.clone()));
                }
                continue;
            }
            let durable = batch.iter().any(|job| job.durable)
                || flush_by.is_some_and(|at| at <= Instant::now());
            flush_by = self.commit_batch(batch, durable, flush_by);
        }
    }

    /// Applies and commits one batch, answers its callers, returns the new `flush_by`.
    fn commit_batch(
        &mut self,
        batch: Vec<Job>,
        durable: bool,
        flush_by: Option<Instant>,
    ) -> Option<Instant> {
        let cell = self.recovery.cell.clone();
        let result = match cell.get() {
            Ok(db) => guarded_commit(
                &db,
                batch.iter().map(|job| &job.op),
                durable,
                &self.recovery.namespaces,
            ),
            Err(err) => Err(err),
        };
        match result {
            Ok(outcomes) => {
                cell.clear_problem();
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome);
                    if !durable {
                        self.pending.push(job.op);
                    }
                }
                if durable {
                    self.pending.clear();
                    None
                } else {
                    flush_by.or_else(|| Some(Instant::now() + self.recovery.batch_window))
                }
            }
            Err(err) => {
                tracing::error!("disk layer commit failed: {err}");
                for job in batch {
                    let _ = job.reply.send(Err(err.clone()));
                }
                match &err {
                    DiskError::Io(what) => {
                        cell.set_problem(format!("writes fail: {what}"));
                        self.recover(true);
                    }
                    DiskError::Corrupt(why) => {
                        cell.mark_damaged(why);
                        self.recover(true);
                    }
                    _ => {}
                }
                // What was pending is still pending: recovery re-applies it.
                if self.pending.is_empty() {
                    None
                } else {
                    flush_by
                }
            }
        }
    }

    /// Reopens the database after an I/O failure, or replaces a damaged one, then applies
    /// again (durably) the acknowledged writes the failure lost. Only then do readers see
    /// it again, so nobody reads a state missing an acknowledged write. On failure the
    /// database stays closed and the next batch (or the retry timer) tries again.
    /// Unless `now`, tries at most once per [`RECOVERY_GAP`].
    fn recover(&mut self, now: bool) {
        if !now && self.last_try.is_some_and(|at| at.elapsed() < RECOVERY_GAP) {
            return;
        }
        self.last_try = Some(Instant::now());
        let cell = self.recovery.cell.clone();
        if !cell.close(&mut self.stash) {
            cell.set_problem("the database cannot be reopened: a reader still holds it".into());
            return;
        }
        let path = cell.path.clone();
        let damage = cell.damage();
        let damaged = damage.is_some();
        let opened = if let Some(why) = damage {
            Err(DiskError::Corrupt(why))
        } else {
            catch_unwind(AssertUnwindSafe(|| reopen(&path, cell.cache_bytes)))
                .unwrap_or_else(|panic| Err(DiskError::Corrupt(panic_message(panic.as_ref()))))
        };
        let db = match opened {
            Ok(db) => db,
            Err(DiskError::Corrupt(why)) => {
                let namespaces =
                    self.recovery.namespaces.read().unwrap_or_else(PoisonError::into_inner).clone();
                match replace_damaged(
                    &path,
                    cell.cache_bytes,
                    &self.recovery.fingerprint,
                    &namespaces,
                ) {
                    Ok((db, aside)) => {
                        cell.notice(format!(
                            "the disk database {} was damaged ({why}); it was moved aside to {} and a fresh one created",
                            path.display(),
                            aside.display()
                        ));
                        db
                    }
                    Err(err) => {
                        cell.set_problem(format!(
                            "the damaged database cannot be replaced: {}",
                            err.detail()
                        ));
                        return;
                    }
                }
            }
            Err(err) => {
                cell.set_problem(format!("the database cannot be reopened: {}", err.detail()));
                return;
            }
        };
        if !self.pending.is_empty() {
            let namespaces = &self.recovery.namespaces;
            if let Err(err) = guarded_commit(&db, self.pending.iter(), true, namespaces) {
                cell.set_problem(format!(
                    "{} acknowledged write(s) wait to be written again: {}",
                    self.pending.len(),
                    err.detail()
                ));
                drop(db);
                return;
            }
            // The problem stays until a new write goes through: these fit, the next may not.
            self.pending.clear();
        }
        if damaged {
            cell.clear_problem();
        }
        cell.publish(db);
        tracing::info!("the disk database {} is open again", path.display());
    }
}

/// Per-op outcomes, or the error that aborted the whole transaction; a panic inside redb
/// (a damaged page) is [`DiskError::Corrupt`].
fn guarded_commit<'a>(
    db: &Database,
    ops: impl Iterator<Item = &'a Op>,
    durable: bool,
    namespaces: &Namespaces,
) -> Result<Vec<Result<Outcome, DiskError>>, DiskError> {
    catch_unwind(AssertUnwindSafe(|| apply_and_commit(db, ops, durable, namespaces)))
        .unwrap_or_else(|panic| Err(DiskError::Corrupt(panic_message(panic.as_ref()))))
}

fn apply_and_commit<'a>(
    db: &Database,
    ops: impl Iterator<Item = &'a Op>,
    durable: bool,
    namespaces: &Namespaces,
) -> Result<Vec<Result<Outcome, DiskError>>, DiskError> {
    let mut txn = db.begin_write().map_err(|e| DiskError::redb("starting a write", e))?;
    let level = if durable { Durability::Immediate } else { Durability::None };
    txn.set_durability(level).map_err(|e| DiskError::redb("setting durability", e))?;
    let mut outcomes = Vec::new();
    for op in ops {
        outcomes.push(Ok(apply::apply(&txn, op, namespaces)?));
    }
    txn.commit().map_err(|e| DiskError::redb("committing", e))?;
    Ok(outcomes)
}
