//! The entry points clients reach, and the reads of Redis-tier namespaces.
//!
//! A Redis tier is `memory+redis` or `memory+disk+redis`. Redis holds the truth all daemons
//! share; this daemon's memory (and disk) hold copies. A read answers from memory only while
//! invalidations arrive ([`RedisLayer::memory_trusted`]), else from Redis, filling memory. When
//! Redis is unavailable (breaker open, or no answer within `redis.timeout`) every request is
//! served by the local layers alone and counted as degraded: no client gets an error for a
//! value this daemon holds. When Redis answers with an error instead (a refusal), the request
//! fails with that answer: Redis is there, and may hold a newer value than this daemon.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::budget::Budget;
use super::memory::WriteCondition;
use super::pattern::KeyMatcher;
use super::{Namespace, Store, StoreError};
use crate::store::redis::{RedisFailure, RedisLayer};

/// A Redis-tier namespace and the layer it is shared through.
type SharedNamespace = (Arc<Namespace>, Arc<RedisLayer>);

/// Keys asked of Redis at once by a many-key read (each value is charged on arrival).
const REDIS_BATCH: usize = 8;

impl Store {
    /// The namespace and the Redis layer when `ns` has a Redis tier (creating the namespace
    /// when the config would create it on first use).
    pub(super) fn shared(&self, ns: &str) -> Result<Option<SharedNamespace>, StoreError> {
        let Some(redis) = &self.redis else { return Ok(None) };
        let namespace = match self.lookup(ns) {
            Some(namespace) => namespace,
            None if self.current_config().tier_for(ns).0.has_redis() => {
                self.namespace_for_write(ns)?
            }
            None => return Ok(None),
        };
        Ok(namespace.full_tier().has_redis().then(|| (namespace, redis.clone())))
    }

    /// Reads a value through every layer (the clients' read).
    pub async fn fetch(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((namespace, redis)) = self.shared(ns)? else { return self.get(ns, key) };
        if redis.memory_trusted() {
            let now = self.clock().now_ms();
            if let Some(value) = namespace.lock().get(key, now) {
                return Ok(Some(value.to_vec()));
            }
        }
        if !redis.available() {
            redis.note_degraded(ns);
            return self.get(ns, key);
        }
        let epoch = namespace.epoch.load(Ordering::Acquire);
        match redis.get(ns, key).await {
            Ok(Some(fetched)) => {
                self.fill_from_redis(
                    &namespace,
                    &redis,
                    key,
                    &fetched.value,
                    fetched.ttl_ms,
                    epoch,
                );
                Ok(Some(fetched.value))
            }
            Ok(None) => {
                self.forget_in_memory(&namespace, key);
                Ok(None)
            }
            Err(RedisFailure::Refused(refused)) => Err(StoreError::Refused(refused)),
            Err(_) => {
                redis.note_degraded(ns);
                self.get(ns, key)
            }
        }
    }

    /// Reads many keys through every layer: trusted memory copies first, the rest from
    /// Redis in one pipeline.
    ///
    /// Every value is charged to `budget` as it arrives; values missing from memory are asked
    /// of Redis a few keys at a time, so an answer over budget stops after at most one small
    /// batch beyond it.
    pub async fn fetch_many(
        &self,
        ns: &str,
        keys: &[String],
        budget: &mut Budget,
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let Some((namespace, redis)) = self.shared(ns)? else {
            return self.get_many(ns, keys, budget);
        };
        if !redis.available() {
            redis.note_degraded(ns);
            return self.get_many(ns, keys, budget);
        }
        let mut found: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        let mut charged = *budget;
        if redis.memory_trusted() {
            let now = self.clock().now_ms();
            let mut cache = namespace.lock();
            for (i, (slot, key)) in found.iter_mut().zip(keys).enumerate() {
                if let Some(value) = cache.get(key, now) {
                    charged.charge(Some(value), i)?;
                    *slot = Some(value.to_vec());
                }
            }
        }
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| found[i].is_none()).collect();
        let epoch = namespace.epoch.load(Ordering::Acquire);
        for batch in missing.chunks(REDIS_BATCH) {
            let asked: Vec<String> = batch.iter().map(|&i| keys[i].clone()).collect();
            let fetched = match redis.get_many(ns, &asked).await {
                Ok(fetched) => fetched,
                Err(RedisFailure::Refused(refused)) => return Err(StoreError::Refused(refused)),
                Err(_) => {
                    redis.note_degraded(ns);
                    return self.get_many(ns, keys, budget);
                }
            };
            for (&index, fetched) in batch.iter().zip(fetched) {
                let Some(fetched) = fetched else {
                    charged.charge(None, index)?;
                    continue;
                };
                charged.charge(Some(&fetched.value), index)?;
                let key = &keys[index];
                let (value, ttl) = (&fetched.value, fetched.ttl_ms);
                self.fill_from_redis(&namespace, &redis, key, value, ttl, epoch);
                found[index] = Some(fetched.value);
            }
        }
        *budget = charged;
        Ok(found)
    }

    /// Time to live through every layer (see [`Store::ttl`] for the shape).
    pub async fn fetch_ttl(&self, ns: &str, key: &str) -> Result<Option<Option<u64>>, StoreError> {
        let Some((namespace, redis)) = self.shared(ns)? else { return self.ttl(ns, key) };
        if redis.memory_trusted() {
            let now = self.clock().now_ms();
            if let Some(ttl) = namespace.lock().ttl(key, now) {
                return Ok(Some(ttl));
            }
        }
        match redis.ttl(ns, key).await {
            Ok(ttl) => Ok(ttl),
            Err(RedisFailure::Refused(refused)) => Err(StoreError::Refused(refused)),
            Err(_) => {
                redis.note_degraded(ns);
                self.ttl(ns, key)
            }
        }
    }

    /// Whether a live key exists in any layer.
    pub async fn fetch_exists(&self, ns: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.fetch_ttl(ns, key).await?.is_some())
    }

    /// One page of matching keys; a Redis tier pages with Redis's own `SCAN` cursor.
    pub async fn fetch_keys_page(
        &self,
        ns: &str,
        matcher: &KeyMatcher,
        cursor: u64,
        count: usize,
    ) -> Result<(Vec<String>, Option<u64>), StoreError> {
        let Some((_, redis)) = self.shared(ns)? else {
            return self.keys_page(ns, matcher, cursor, count);
        };
        // Redis answers a whole SCAN step at once: a page is at most one step of SCAN_CHUNK.
        let step = count.min(super::shared_write::SCAN_CHUNK);
        match redis.scan(ns, cursor, step).await {
            Ok(page) => {
                let keys = page
                    .entries
                    .into_iter()
                    .map(|scanned| scanned.key)
                    .filter(|key| matcher.is_match(key.as_bytes()))
                    .collect();
                Ok((keys, page.next))
            }
            Err(RedisFailure::Refused(refused)) => Err(StoreError::Refused(refused)),
            Err(_) => {
                redis.note_degraded(ns);
                self.keys_page(ns, matcher, cursor, count)
            }
        }
    }

    /// Keeps a copy of a value read from Redis, unless the key changed since the read began
    /// (`epoch`), for at most its TTL and `redis.local_max_age`.
    pub(super) fn fill_from_redis(
        &self,
        namespace: &Namespace,
        redis: &RedisLayer,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        epoch: u64,
    ) {
        let cap = redis.config().local_max_age.as_millis() as u64;
        let keep_ms = ttl_ms.map_or(cap, |ttl| ttl.min(cap)).max(1);
        let deadline = self.clock().deadline_after(keep_ms);
        let now = self.clock().now_ms();
        let filled = {
            let mut cache = namespace.lock();
            namespace.epoch.load(Ordering::Acquire) == epoch
                && cache.insert(key, value, deadline, WriteCondition::Always, now).is_ok()
        };
        if filled {
            self.note_deadline(deadline);
            if self.global_used() > self.global_cap() {
                self.enforce_global_cap(Some((namespace.name(), key)));
            }
        }
    }
}
