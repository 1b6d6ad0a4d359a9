//! Writes of Redis-tier namespaces, and the write paths every namespace goes through (the
//! public entry points, which also announce the change, are in `announce.rs`).
//!
//! A change goes to Redis first (the truth other daemons read), then to the local copies,
//! then an invalidation is published. If Redis is unreachable, the change is made locally
//! only and counted as degraded; when Redis comes back, local memory copies are dropped so
//! every daemon reads the same values again (a cache may forget; it must not disagree).
//! If Redis refuses the change (answers with an error: out of memory, read-only replica),
//! the change fails with Redis's answer and no local copy takes it: acknowledged locally, it
//! would disagree with what every other daemon reads, for as long as the copy lives.
//! Concurrent writes of one key from one daemon reach Redis in the order they are sent;
//! the local copy follows the last write to return, and any mismatch lasts until the next
//! write or invalidation of that key.

use std::sync::atomic::Ordering;

use cachemgr_proto::Entry;

use super::memory::{PatternAction, PatternTally, WriteCondition};
use super::pattern::KeyMatcher;
use super::{Namespace, Store, StoreError};
use crate::store::redis::invalidation::Invalidation;
use crate::store::redis::{RedisFailure, RedisLayer, Refused};

/// Keys per `SCAN` step of pattern operations, clears and key listings: a step's names are
/// held at once (values are read a few MiB at a time and dropped), so this bounds them.
pub(super) const SCAN_CHUNK: usize = 1000;

/// The longest TTL a Redis tier takes. Redis keeps an expiry as a signed 64-bit Unix time
/// in ms and refuses a `PX` that would overflow it; half the range leaves room for any
/// clock, and is still 146 million years.
pub const MAX_REDIS_TTL_MS: u64 = (i64::MAX / 2) as u64;

/// A pattern operation Redis did not finish, and whether chunks before (or commands of) the
/// failing one were applied.
struct PatternFailure {
    failure: RedisFailure,
    changed: bool,
}

impl Store {
    /// Writes a value; `ttl_ms` absent = the namespace default, 0 = never expires.
    /// Returns whether it was written (false when `condition` failed).
    pub(super) async fn set_quietly(
        &self,
        ns: &str,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: WriteCondition,
    ) -> Result<bool, StoreError> {
        let Some((namespace, redis)) = self.shared(ns)? else {
            return self.set_local(ns, key, value, ttl_ms, condition).await;
        };
        super::layered_write::check_key(key)?;
        let limits = namespace.lock().limits();
        let ttl = ttl_ms.or(limits.default_ttl_ms).filter(|ms| *ms > 0);
        check_ttl(ttl)?;
        if redis.available() {
            bump(&namespace);
            let result = redis.set(ns, key, value, ttl, condition).await;
            if let Err(RedisFailure::Refused(refused)) = result {
                let keys = [key.to_owned()];
                return Err(self.refused_change(&redis, ns, Some(&keys), refused, false).await);
            }
            if let Ok(written) = result {
                if written {
                    let local = self.set_local(
                        ns,
                        key,
                        value,
                        Some(ttl.unwrap_or(0)),
                        WriteCondition::Always,
                    );
                    self.settle_local(&namespace, key, local.await);
                    if condition != WriteCondition::Always {
                        // An unconditional write announced itself in its own pipeline.
                        redis.invalidate(ns, &[key.to_owned()], false).await;
                    }
                } else {
                    self.forget_in_memory(&namespace, key);
                }
                return Ok(written);
            }
        }
        redis.note_degraded(ns);
        self.set_local(ns, key, value, ttl_ms, condition).await
    }

    /// Writes a batch; returns the number written.
    pub(super) async fn set_many_quietly(
        &self,
        ns: &str,
        entries: &[Entry],
    ) -> Result<u64, StoreError> {
        let Some((namespace, redis)) = self.shared(ns)? else {
            return self.set_many_local(ns, entries).await;
        };
        let default_ttl = namespace.lock().limits().default_ttl_ms;
        for entry in entries {
            super::layered_write::check_key(&entry.key)?;
            check_ttl(entry.ttl_ms.or(default_ttl).filter(|ms| *ms > 0))?;
        }
        if redis.available() {
            let batch: Vec<(String, Vec<u8>, Option<u64>)> = entries
                .iter()
                .map(|e| {
                    let ttl = e.ttl_ms.or(default_ttl).filter(|ms| *ms > 0);
                    (e.key.clone(), e.value.to_vec(), ttl)
                })
                .collect();
            bump(&namespace);
            let result = redis.set_many(ns, &batch).await;
            if let Err(RedisFailure::Refused(refused)) = result {
                // The SETs Redis did not refuse were applied.
                let partial = refused.commands < entries.len();
                let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
                return Err(self.refused_change(&redis, ns, Some(&keys), refused, partial).await);
            }
            if result.is_ok() {
                if let Err(err) = self.set_many_local(ns, entries).await {
                    tracing::debug!(namespace = ns, "local copy of a bulk write skipped: {err}");
                    for entry in entries {
                        self.forget_in_memory(&namespace, &entry.key);
                    }
                }
                let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
                redis.invalidate(ns, &keys, false).await;
                return Ok(entries.len() as u64);
            }
        }
        redis.note_degraded(ns);
        self.set_many_local(ns, entries).await
    }

    /// Deletes keys; returns how many existed.
    pub(super) async fn delete_quietly(
        &self,
        ns: &str,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        let Some((_, redis)) = self.shared(ns)? else { return self.delete_local(ns, keys).await };
        if redis.available() {
            match redis.delete(ns, keys).await {
                Ok(deleted) => {
                    let _ = self.delete_local(ns, keys).await;
                    redis.invalidate(ns, keys, false).await;
                    return Ok(deleted);
                }
                // One UNLINK: refused as a whole.
                Err(RedisFailure::Refused(refused)) => {
                    return Err(self.refused_change(&redis, ns, Some(keys), refused, false).await);
                }
                Err(_) => {}
            }
        }
        redis.note_degraded(ns);
        self.delete_local(ns, keys).await
    }

    /// Gives a key a new TTL (`None` = never expires); false when it is missing.
    pub async fn expire(
        &self,
        ns: &str,
        key: &str,
        ttl_ms: Option<u64>,
    ) -> Result<bool, StoreError> {
        let Some((_, redis)) = self.shared(ns)? else {
            return self.expire_local(ns, key, ttl_ms).await;
        };
        check_ttl(ttl_ms)?;
        let keys = [key.to_owned()];
        if redis.available() {
            match redis.expire(ns, &keys, ttl_ms).await {
                Ok(found) => {
                    let _ = self.expire_local(ns, key, ttl_ms).await;
                    redis.invalidate(ns, &keys, false).await;
                    return Ok(found > 0);
                }
                Err(RedisFailure::Refused(refused)) => {
                    return Err(self.refused_change(&redis, ns, Some(&keys), refused, false).await);
                }
                Err(_) => {}
            }
        }
        redis.note_degraded(ns);
        self.expire_local(ns, key, ttl_ms).await
    }

    /// Applies `action` to every matching key of every layer, in chunks.
    pub async fn apply_pattern(
        &self,
        ns: &str,
        matcher: &KeyMatcher,
        action: PatternAction,
    ) -> Result<PatternTally, StoreError> {
        let Some((_, redis)) = self.shared(ns)? else {
            return self.apply_pattern_local(ns, matcher, action).await;
        };
        if let PatternAction::SetDeadline(deadline @ 1..) = action {
            check_ttl(Some(deadline.saturating_sub(self.clock().now_ms())))?;
        }
        if redis.available() {
            match self.apply_pattern_in_redis(ns, &redis, matcher, action).await {
                Ok(tally) => {
                    if action != PatternAction::Tally {
                        let _ = self.apply_pattern_local(ns, matcher, action).await;
                    }
                    return Ok(tally);
                }
                Err(PatternFailure { failure: RedisFailure::Refused(refused), changed }) => {
                    if action == PatternAction::Tally {
                        return Err(StoreError::Refused(refused));
                    }
                    return Err(self.refused_change(&redis, ns, None, refused, changed).await);
                }
                Err(_) => {}
            }
        }
        redis.note_degraded(ns);
        self.apply_pattern_local(ns, matcher, action).await
    }

    async fn apply_pattern_in_redis(
        &self,
        ns: &str,
        redis: &RedisLayer,
        matcher: &KeyMatcher,
        action: PatternAction,
    ) -> Result<PatternTally, PatternFailure> {
        let ttl_ms = match action {
            PatternAction::SetDeadline(0) => None,
            PatternAction::SetDeadline(deadline) => {
                Some(deadline.saturating_sub(self.clock().now_ms()).max(1))
            }
            _ => None,
        };
        let mut tally = PatternTally::default();
        let mut cursor = 0;
        let mut changed = false;
        let failed = |failure: RedisFailure, changed: bool| PatternFailure { failure, changed };
        loop {
            let page = redis.scan(ns, cursor, SCAN_CHUNK).await.map_err(|f| failed(f, changed))?;
            let hits: Vec<_> =
                page.entries.iter().filter(|s| matcher.is_match(s.key.as_bytes())).collect();
            for scanned in &hits {
                tally.keys += 1;
                tally.bytes += (scanned.key.len() as u64) + scanned.stored;
                tally.with_ttl += u64::from(scanned.has_ttl);
            }
            if !hits.is_empty() && action != PatternAction::Tally {
                let done = match action {
                    PatternAction::Delete => redis.delete_scanned(ns, &hits).await,
                    _ => redis.expire_scanned(&hits, ttl_ms).await,
                };
                if let Err(failure) = done {
                    // A PEXPIRE pipeline applies the commands Redis did not refuse.
                    let some_applied = matches!(&failure, RedisFailure::Refused(refused)
                        if action != PatternAction::Delete && refused.commands < hits.len());
                    return Err(failed(failure, changed || some_applied));
                }
                changed = true;
                let keys: Vec<String> = hits.iter().map(|s| s.key.clone()).collect();
                redis.invalidate(ns, &keys, false).await;
            }
            match page.next {
                Some(next) => cursor = next,
                None => return Ok(tally),
            }
        }
    }

    /// Drops a namespace's entries in every layer; returns (entries, bytes).
    pub(super) async fn clear_quietly(&self, ns: &str) -> Result<(u64, u64), StoreError> {
        let Some((_, redis)) = self.shared(ns)? else { return self.clear_local(ns).await };
        if redis.available() {
            let everything = KeyMatcher::All;
            match self.apply_pattern_in_redis(ns, &redis, &everything, PatternAction::Delete).await
            {
                Ok(tally) => {
                    let local = self.clear_local(ns).await?;
                    redis.invalidate(ns, &[], true).await;
                    return Ok((tally.keys.max(local.0), tally.bytes.max(local.1)));
                }
                Err(PatternFailure { failure: RedisFailure::Refused(refused), changed }) => {
                    return Err(self.refused_change(&redis, ns, None, refused, changed).await);
                }
                Err(_) => {}
            }
        }
        redis.note_degraded(ns);
        self.clear_local(ns).await
    }

    /// [`Store::clear_here`] without the announcement.
    pub(super) async fn clear_here_quietly(&self, ns: &str) -> Result<(u64, u64), StoreError> {
        if self.lookup(ns).is_some_and(|namespace| namespace.full_tier().has_redis()) {
            return self.clear_local(ns).await;
        }
        self.clear_quietly(ns).await
    }

    /// A change Redis refused: this daemon's copies of what it touched (`keys`, or the whole
    /// namespace for `None`) go, so its next read asks Redis. When part of the change was
    /// applied (`partial`), the disk copies go too and the other daemons are told to drop
    /// theirs. Returns the caller's error.
    async fn refused_change(
        &self,
        redis: &RedisLayer,
        ns: &str,
        keys: Option<&[String]>,
        refused: Refused,
        partial: bool,
    ) -> StoreError {
        let Some(namespace) = self.lookup(ns) else { return StoreError::Refused(refused) };
        if !partial {
            // Redis refused it whole: nothing changed, the copies still agree with it.
            match keys {
                Some(keys) => keys.iter().for_each(|key| self.forget_in_memory(&namespace, key)),
                None => bump(&namespace),
            }
            return StoreError::Refused(refused);
        }
        let keys = keys.map(<[String]>::to_vec);
        let invalidation =
            Invalidation { ns: ns.to_owned(), all: keys.is_none(), keys: keys.unwrap_or_default() };
        self.apply_invalidation(&invalidation);
        redis.invalidate(ns, &invalidation.keys, invalidation.all).await;
        StoreError::PartlyRefused(refused)
    }

    /// After a Redis write, a local copy that could not be made is dropped instead (Redis
    /// has the value; a stale copy must not linger).
    fn settle_local(&self, namespace: &Namespace, key: &str, local: Result<bool, StoreError>) {
        if let Err(err) = local {
            tracing::debug!(namespace = namespace.name(), "local copy skipped: {err}");
            self.forget_in_memory(namespace, key);
        }
    }

    /// Applies another daemon's invalidation: its keys' local copies go.
    pub fn apply_invalidation(
        &self,
        invalidation: &crate::store::redis::invalidation::Invalidation,
    ) {
        let Some(namespace) = self.lookup(&invalidation.ns) else { return };
        if !namespace.full_tier().has_redis() {
            return;
        }
        let now = self.clock().now_ms();
        {
            let mut cache = namespace.lock();
            if invalidation.all {
                cache.clear();
            } else {
                for key in &invalidation.keys {
                    cache.remove(key, now);
                }
            }
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
        }
        if namespace.tier().has_disk() {
            self.drop_disk_copies(&namespace, invalidation);
        }
    }

    /// Drops the disk copies an invalidation names, in the background (they only answer
    /// while Redis is unreachable, and must not answer with another daemon's old value).
    fn drop_disk_copies(
        &self,
        namespace: &Namespace,
        invalidation: &crate::store::redis::invalidation::Invalidation,
    ) {
        let Some(disk) = self.disk() else { return };
        let ns = namespace.name().to_owned();
        let op = if invalidation.all {
            super::disk::Op::Clear { ns }
        } else {
            let now = super::disk::unix_now_ms();
            super::disk::Op::Delete { ns, keys: invalidation.keys.clone(), now }
        };
        if let Err(err) = disk.enqueue(op, false) {
            tracing::debug!(namespace = namespace.name(), "disk copies not dropped: {err}");
        }
    }

    /// Drops the memory copies of every Redis-tier namespace (invalidations were missed, or
    /// Redis is back after writes were made locally).
    pub fn drop_shared_memory_copies(&self) {
        for namespace in self.all().into_iter().filter(|n| n.full_tier().has_redis()) {
            namespace.lock().clear();
            namespace.epoch.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Refuses a TTL Redis would refuse (see [`MAX_REDIS_TTL_MS`]) before anything is sent.
fn check_ttl(ttl_ms: Option<u64>) -> Result<(), StoreError> {
    match ttl_ms {
        Some(ttl_ms) if ttl_ms > MAX_REDIS_TTL_MS => {
            Err(StoreError::TtlTooLong { ttl_ms, max_ms: MAX_REDIS_TTL_MS })
        }
        _ => Ok(()),
    }
}

fn bump(namespace: &Namespace) {
    let _cache = namespace.lock();
    namespace.epoch.fetch_add(1, Ordering::Relaxed);
}
