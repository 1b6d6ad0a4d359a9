//! Online key rotation: a new key generation seals every new write at once; the values
//! already on disk are re-sealed in small batches by the writer (each batch its own short
//! transaction, so reads and writes go on), and then the old generations are destroyed.
//! An old-key value stays readable until its batch is re-sealed.
//!
//! A rotation cut short by a restart resumes at start-up: a namespace holding more than one
//! generation is exactly one whose rotation did not finish.

use std::sync::{Arc, PoisonError};

use super::writer::{Op, Outcome};
use super::{record, DiskError, DiskLayer, DiskNamespace};

/// Keys re-sealed per writer transaction.
const RESEAL_BATCH: usize = 256;

/// Where a rotation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationProgress {
    /// Generation being retired.
    pub from_key_id: u32,
    /// Generation now sealing.
    pub to_key_id: u32,
    /// Values visited.
    pub done: u64,
    /// Values at the start.
    pub total: u64,
}

/// What a finished rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationOutcome {
    /// Namespace.
    pub ns: String,
    /// Generation retired.
    pub old_key_id: u32,
    /// Generation now sealing.
    pub new_key_id: u32,
    /// Values re-sealed.
    pub resealed: u64,
    /// Values dropped (`--clear`).
    pub cleared: u64,
}

/// Clears the namespace's progress when the rotation ends, however it ends.
struct Running<'a>(&'a DiskNamespace);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *self.0.rotation.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl DiskLayer {
    /// Rotates `ns` to a new key; `clear` drops its values instead of re-sealing them.
    /// `progress` hears after each batch.
    pub async fn rotate(
        &self,
        ns: &str,
        clear: bool,
        progress: impl FnMut(RotationProgress),
    ) -> Result<RotationOutcome, DiskError> {
        let state = self.namespace(ns).await?;
        let old_id = state.current_key_id();
        let new_id = old_id + 1;
        let running = self.claim(&state, old_id, new_id)?;
        let mut salt = [0u8; 32];
        record::fill_random(&mut salt);
        self.submit(Op::AddKey { ns: state.clone(), id: new_id, salt }, true).await?;
        state.keys.write().unwrap_or_else(PoisonError::into_inner).add(
            new_id,
            &self.master,
            ns,
            &salt,
        );
        // A write the writer applied while the switch happened may still hold the old key
        // and not be committed yet; wait for everything queued so far to be committed, so
        // the scan below sees it (every op after this barrier sees the new key).
        self.submit(Op::Flush, false).await?;
        let mut outcome = RotationOutcome {
            ns: ns.to_owned(),
            old_key_id: old_id,
            new_key_id: new_id,
            resealed: 0,
            cleared: 0,
        };
        if clear {
            if let Outcome::Cleared { entries, .. } =
                self.submit(Op::Clear { ns: ns.to_owned() }, true).await?
            {
                outcome.cleared = entries;
            }
        } else {
            outcome.resealed = self.reseal_all(&state, progress).await?;
        }
        self.destroy_old_keys(&state).await?;
        drop(running);
        Ok(outcome)
    }

    /// Finishes rotations a restart interrupted; returns what each did.
    pub async fn resume_rotations(&self) -> Vec<Result<RotationOutcome, DiskError>> {
        let mut results = Vec::new();
        for state in self.all() {
            let ids = state.keys.read().unwrap_or_else(PoisonError::into_inner).ids();
            if ids.len() < 2 {
                continue;
            }
            let (old_id, new_id) = (ids[0], state.current_key_id());
            tracing::info!(namespace = %state.name(), "resuming an interrupted key rotation");
            let result = async {
                let running = self.claim(&state, old_id, new_id)?;
                let resealed = self.reseal_all(&state, |_| {}).await?;
                self.destroy_old_keys(&state).await?;
                drop(running);
                Ok(RotationOutcome {
                    ns: state.name().to_owned(),
                    old_key_id: old_id,
                    new_key_id: new_id,
                    resealed,
                    cleared: 0,
                })
            }
            .await;
            results.push(result);
        }
        results
    }

    fn claim<'a>(
        &self,
        state: &'a DiskNamespace,
        from: u32,
        to: u32,
    ) -> Result<Running<'a>, DiskError> {
        let mut slot = state.rotation.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return Err(DiskError::Busy(state.name().to_owned()));
        }
        let total = self.count(state.name()).unwrap_or(0);
        *slot = Some(RotationProgress { from_key_id: from, to_key_id: to, done: 0, total });
        Ok(Running(state))
    }

    async fn reseal_all(
        &self,
        state: &Arc<DiskNamespace>,
        mut progress: impl FnMut(RotationProgress),
    ) -> Result<u64, DiskError> {
        let current = state.current_key_id();
        let mut after: Option<String> = None;
        let mut resealed = 0;
        loop {
            // `now` = 0: expired values are re-sealed too, so no old-key byte survives.
            let (chunk, last) = self.scan_chunk(state.name(), after.as_deref(), RESEAL_BATCH, 0)?;
            let stale: Vec<String> = chunk
                .iter()
                .filter(|scanned| scanned.header.key_id != current)
                .map(|scanned| scanned.key.clone())
                .collect();
            if !stale.is_empty() {
                if let Outcome::Count(n) =
                    self.submit(Op::Reseal { ns: state.clone(), keys: stale }, false).await?
                {
                    resealed += n;
                }
            }
            let snapshot = {
                let mut slot = state.rotation.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(p) = slot.as_mut() {
                    p.done += chunk.len() as u64;
                    p.total = p.total.max(p.done);
                }
                *slot
            };
            if let Some(snapshot) = snapshot {
                progress(snapshot);
            }
            match last {
                Some(last) => after = Some(last),
                None => return Ok(resealed),
            }
            tokio::task::yield_now().await;
        }
    }

    /// Deletes the salts of every generation but the current one (durably), then forgets
    /// their ciphers.
    async fn destroy_old_keys(&self, state: &Arc<DiskNamespace>) -> Result<(), DiskError> {
        let current = state.current_key_id();
        let old: Vec<u32> = state
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .ids()
            .into_iter()
            .filter(|id| *id != current)
            .collect();
        if old.is_empty() {
            return Ok(());
        }
        self.submit(Op::DropKeys { ns: state.clone(), ids: old.clone() }, true).await?;
        let mut keys = state.keys.write().unwrap_or_else(PoisonError::into_inner);
        for id in old {
            keys.remove(id);
        }
        Ok(())
    }
}
