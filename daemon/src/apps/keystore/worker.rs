//! Runs one batch of blocking store calls on a plain thread under a timeout.
//!
//! The Secret Service client blocks on its own executor and a locked collection may wait for
//! a prompt forever. A `spawn_blocking` task that never returns would keep the runtime from
//! shutting down, so (like the master-key keyring code) each batch gets a thread of its own
//! and the caller stops waiting after the timeout; the thread finishes or dies with the
//! process.

use std::time::Duration;

use super::error::AppKeyStoreError;

/// Runs `job` on its own thread: `Ok(None)` when it has not finished within `timeout`.
pub(crate) async fn off_runtime<T: Send + 'static>(
    timeout: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>, AppKeyStoreError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("cachemgr-appkeys".into())
        .spawn(move || {
            let _ = tx.send(job());
        })
        .map_err(|err| AppKeyStoreError::Worker { reason: format!("cannot start it: {err}") })?;
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(value)) => Ok(Some(value)),
        Ok(Err(_)) => Err(AppKeyStoreError::Worker { reason: "it panicked".into() }),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn a_finished_job_returns_its_value_and_a_hung_one_times_out() {
        let value = off_runtime(Duration::from_secs(5), || 7).await.expect("ran");
        assert_eq!(value, Some(7));
        let started = Instant::now();
        let hung = off_runtime(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(1));
        })
        .await
        .expect("ran");
        assert!(hung.is_none());
        assert!(started.elapsed() < Duration::from_millis(900));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_panic() {
        let err = off_runtime(Duration::from_secs(5), || -> u8 { panic!("boom") })
            .await
            .expect_err("panicked");
        assert!(err.to_string().contains("panicked"), "{err}");
    }
}
