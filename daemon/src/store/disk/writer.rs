//! The one thread that writes the database: group commit over a queue.
//!
//! It takes the first queued op, then everything else already queued (up to a bound), applies
//! them all in one transaction, commits, and only then answers each caller. A batch commits
//! with `Durability::Immediate` (fsync) when any op in it asked for durability or when the
//! batched window has run out; otherwise with `Durability::None` (visible to readers at once,
//! made durable by the next immediate commit, at most `batch_window` later).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{Database, Durability};
use tokio::sync::oneshot;

use super::{apply, DiskError, DiskNamespace};
use crate::store::memory::WriteCondition;

/// Ops applied per transaction at most, so one commit never grows without bound.
const MAX_BATCH: usize = 1024;

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
        /// Key.
        key: String,
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
    /// Store a key generation's salt.
    AddKey {
        /// Namespace.
        ns: String,
        /// Generation.
        id: u32,
        /// Its salt.
        salt: [u8; 32],
    },
    /// Destroy key generations (delete their salts).
    DropKeys {
        /// Namespace.
        ns: String,
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
    pub fn start(db: Arc<Database>, batch_window: Duration) -> Result<WriterHandle, DiskError> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cachemgr-disk-writer".into())
            .spawn(move || run(&db, &jobs, batch_window))
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

fn run(db: &Database, jobs: &Receiver<Job>, batch_window: Duration) {
    // When non-durable commits are pending, the time by which they must be made durable.
    let mut flush_by: Option<Instant> = None;
    loop {
        let first = match flush_by {
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Some(at) => match jobs.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    flush_by = commit_batch(db, Vec::new(), true, flush_by, batch_window);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    commit_batch(db, Vec::new(), true, flush_by, batch_window);
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
        let durable =
            batch.iter().any(|job| job.durable) || flush_by.is_some_and(|at| at <= Instant::now());
        flush_by = commit_batch(db, batch, durable, flush_by, batch_window);
    }
}

/// Applies and commits one batch, answers its callers, returns the new `flush_by`.
fn commit_batch(
    db: &Database,
    batch: Vec<Job>,
    durable: bool,
    flush_by: Option<Instant>,
    batch_window: Duration,
) -> Option<Instant> {
    let result = apply_and_commit(db, &batch, durable);
    let next_flush = match (&result, durable) {
        (Ok(_), true) => None,
        (Ok(_), false) => flush_by.or_else(|| Some(Instant::now() + batch_window)),
        (Err(_), _) => flush_by,
    };
    match result {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                let _ = job.reply.send(outcome);
            }
        }
        Err(err) => {
            tracing::error!("disk layer commit failed: {err}");
            for job in batch {
                let _ = job.reply.send(Err(err.clone()));
            }
        }
    }
    next_flush
}

/// Per-op outcomes, or the error that aborted the whole transaction.
fn apply_and_commit(
    db: &Database,
    batch: &[Job],
    durable: bool,
) -> Result<Vec<Result<Outcome, DiskError>>, DiskError> {
    let mut txn = db.begin_write().map_err(|e| DiskError::storage("starting a write", e))?;
    let level = if durable { Durability::Immediate } else { Durability::None };
    txn.set_durability(level).map_err(|e| DiskError::storage("setting durability", e))?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(Ok(apply::apply(&txn, &job.op)?));
    }
    txn.commit().map_err(|e| DiskError::storage("committing", e))?;
    Ok(outcomes)
}
