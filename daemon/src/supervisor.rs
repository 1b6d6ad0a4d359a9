//! Background jobs, owned: every long-running task of the daemon (sweepers, schedulers,
//! monitors, the metrics endpoint) runs under the supervisor, which keeps its handle,
//! restarts it when it panics or ends early (after a growing pause), and reports its health
//! to `status` and the metrics. A job that died no longer fails silently while the daemon
//! says it is healthy.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cachemgr_proto::JobStatus;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A job's body: made afresh for each (re)start.
pub type JobFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// First pause before a restart; doubled after each failure, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// Longest pause between restarts.
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// A job that ran this long before failing starts over from [`FIRST_PAUSE`].
const STEADY: Duration = Duration::from_secs(300);
/// A failure this recent (or a job still waiting to restart) makes the daemon unhealthy;
/// an older one, after which the job has run since, is only a notice.
const RECENT: Duration = Duration::from_secs(600);

/// What the supervisor knows of one job.
#[derive(Debug, Clone, Default)]
struct Health {
    running: bool,
    restarts: u64,
    last_failure: Option<String>,
    failed_at: Option<tokio::time::Instant>,
    /// The running body, to abort one that outlives the shutdown wait.
    task: Option<tokio::task::AbortHandle>,
    /// A one-shot job that finished its work (not a failure).
    done: bool,
}

/// The supervisor of the daemon's background jobs.
#[derive(Debug)]
pub struct Supervisor {
    jobs: Mutex<BTreeMap<&'static str, Health>>,
    tasks: Mutex<JoinSet<()>>,
    shutdown: CancellationToken,
}

/// Whether a job runs for the daemon's life or once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Runs until shutdown; ending early is a failure, and it is restarted.
    Daemon,
    /// Runs once to completion; a panic is a failure, and it is run again.
    Once,
}

impl Supervisor {
    /// A supervisor whose jobs stop (and are not restarted) once `shutdown` fires.
    pub fn new(shutdown: CancellationToken) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            jobs: Mutex::new(BTreeMap::new()),
            tasks: Mutex::new(JoinSet::new()),
            shutdown,
        })
    }

    /// Starts job `name`; `make` builds its body for every (re)start.
    pub fn spawn<F>(self: &Arc<Self>, name: &'static str, lifetime: Lifetime, make: F)
    where
        F: Fn() -> JobFuture + Send + Sync + 'static,
    {
        self.update(name, |health| health.running = true);
        let supervisor = self.clone();
        let watch = async move { supervisor.watch(name, lifetime, make).await };
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner).spawn(watch);
    }

    async fn watch<F>(self: Arc<Self>, name: &'static str, lifetime: Lifetime, make: F)
    where
        F: Fn() -> JobFuture + Send + Sync + 'static,
    {
        let mut pause = FIRST_PAUSE;
        loop {
            let started = tokio::time::Instant::now();
            let body = tokio::spawn(make());
            let handle = body.abort_handle();
            self.update(name, |health| health.task = Some(handle));
            let outcome = body.await;
            if self.shutdown.is_cancelled() {
                self.update(name, |health| health.running = false);
                return;
            }
            let failure = match outcome {
                Ok(()) if lifetime == Lifetime::Once => {
                    self.update(name, |health| {
                        health.running = false;
                        health.done = true;
                    });
                    return;
                }
                Ok(()) => "it ended while the daemon runs".to_owned(),
                Err(err) if err.is_panic() => format!("it panicked: {}", panic_text(err)),
                Err(err) => format!("it was cancelled: {err}"),
            };
            tracing::error!(job = name, "background job failed ({failure}); restarting it");
            self.update(name, |health| {
                health.running = false;
                health.restarts += 1;
                health.last_failure = Some(failure);
                health.failed_at = Some(tokio::time::Instant::now());
            });
            if started.elapsed() >= STEADY {
                pause = FIRST_PAUSE;
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(MAX_PAUSE);
            self.update(name, |health| health.running = true);
        }
    }

    fn update(&self, name: &'static str, change: impl FnOnce(&mut Health)) {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        change(jobs.entry(name).or_default());
    }

    /// Every job's health, by name.
    pub fn status(&self) -> Vec<JobStatus> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.iter()
            .map(|(name, health)| JobStatus {
                name: (*name).to_owned(),
                running: health.running || health.done,
                restarts: health.restarts,
                last_failure: health.last_failure.clone(),
            })
            .collect()
    }

    /// One line per job that is down or failed within the last ten minutes: these make
    /// `status` unhealthy.
    pub fn problems(&self) -> Vec<String> {
        self.failures(true)
    }

    /// One line per job that failed earlier and has run since: a notice, not a problem.
    pub fn notices(&self) -> Vec<String> {
        self.failures(false)
    }

    fn failures(&self, current: bool) -> Vec<String> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.iter()
            .filter_map(|(name, health)| {
                let failure = health.last_failure.as_ref()?;
                let recent = health.failed_at.is_some_and(|at| at.elapsed() < RECENT);
                let down = !health.running && !health.done;
                if (down || recent) != current {
                    return None;
                }
                let now = if down { "waiting to restart" } else { "running again" };
                Some(format!(
                    "background job {name} failed {} time(s), last because {failure}; {now}",
                    health.restarts
                ))
            })
            .collect()
    }

    /// Waits (up to `limit`) for every job to stop after shutdown.
    pub async fn join(&self, limit: Duration) {
        let mut tasks =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let joined =
            tokio::time::timeout(limit, async { while tasks.join_next().await.is_some() {} }).await;
        if joined.is_err() {
            // A job that ignores the shutdown must not outlive the layers it uses.
            let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            for (name, health) in jobs.iter() {
                if let Some(task) = health.task.as_ref().filter(|t| !t.is_finished()) {
                    tracing::warn!(job = name, "background job did not stop in time; aborted");
                    task.abort();
                }
            }
        }
    }
}

fn panic_text(err: tokio::task::JoinError) -> String {
    let payload = err.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    async fn until(mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "not reached in time");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_job_is_reported_and_restarted() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        supervisor.spawn("flaky", Lifetime::Daemon, move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if run == 0 {
                    panic!("boom");
                }
                std::future::pending::<()>().await;
            })
        });
        until(|| runs.load(Ordering::SeqCst) >= 2).await;
        let status = supervisor.status();
        assert_eq!(status.len(), 1);
        assert_eq!(status[0].restarts, 1);
        assert!(status[0].running);
        assert!(status[0].last_failure.as_deref().is_some_and(|f| f.contains("boom")));
        let problems = supervisor.problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("flaky"), "{problems:?}");
        assert!(supervisor.notices().is_empty());
        // Once it has run well for a while, the failure is history: a notice, not a problem.
        tokio::time::advance(RECENT).await;
        assert!(supervisor.problems().is_empty());
        assert_eq!(supervisor.notices().len(), 1);
        shutdown.cancel();
        supervisor.join(Duration::from_secs(5)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_daemon_job_that_ends_early_is_a_failure_and_a_one_shot_is_not() {
        let supervisor = Supervisor::new(CancellationToken::new());
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        supervisor.spawn("quits", Lifetime::Daemon, move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {})
        });
        supervisor.spawn("once", Lifetime::Once, || Box::pin(async {}));
        until(|| runs.load(Ordering::SeqCst) >= 3).await;
        let status = supervisor.status();
        let quits = status.iter().find(|j| j.name == "quits").expect("quits");
        assert!(quits.restarts >= 2);
        let once = status.iter().find(|j| j.name == "once").expect("once");
        assert_eq!((once.restarts, once.last_failure.as_deref()), (0, None));
        assert_eq!(supervisor.problems().len(), 1, "only the job that quit early");
    }

    #[tokio::test]
    async fn nothing_restarts_after_shutdown() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let token = shutdown.clone();
        supervisor.spawn("sweeper", Lifetime::Daemon, move || {
            let token = token.clone();
            Box::pin(async move { token.cancelled().await })
        });
        shutdown.cancel();
        supervisor.join(Duration::from_secs(5)).await;
        let status = supervisor.status();
        assert!(!status[0].running);
        assert_eq!(status[0].restarts, 0);
        assert!(supervisor.problems().is_empty());
    }

    #[tokio::test]
    async fn a_job_that_ignores_the_shutdown_is_aborted_after_the_wait() {
        struct Dropped(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = dropped.clone();
        supervisor.spawn("stubborn", Lifetime::Daemon, move || {
            let guard = Dropped(flag.clone());
            Box::pin(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            })
        });
        until(|| supervisor.status()[0].running).await;
        shutdown.cancel();
        supervisor.join(Duration::from_millis(50)).await;
        until(|| dropped.load(Ordering::SeqCst)).await;
    }
}
