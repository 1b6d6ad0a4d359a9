//! The Redis commands each cache operation becomes: one round trip per request (single
//! commands or pipelines), `SCAN` for anything that walks a namespace, never `KEYS`.

use std::sync::atomic::Ordering;

use redis::{Pipeline, Value};

use super::sealing::NamespaceSeal;
use super::{RedisFailure, RedisLayer};
use crate::store::memory::WriteCondition;

/// A value read from Redis with its remaining time to live (`None` = no expiry).
#[derive(Debug)]
pub struct Fetched {
    /// The opened value.
    pub value: Vec<u8>,
    /// Milliseconds left, if it expires.
    pub ttl_ms: Option<u64>,
}

/// One `SCAN` step over a namespace: its keys (names opened) and where to go on.
#[derive(Debug, Default)]
pub struct ScanPage {
    /// (key name, Redis key, sealed size, ms to live) of each live key found.
    pub entries: Vec<ScannedKey>,
    /// The next cursor; `None` when the walk is complete.
    pub next: Option<u64>,
}

/// A key found by a scan.
#[derive(Debug)]
pub struct ScannedKey {
    /// The client's key name.
    pub key: String,
    /// Its hashed Redis key.
    pub redis_key: String,
    /// Bytes it takes in Redis (sealed).
    pub stored: u64,
    /// Whether it expires.
    pub has_ttl: bool,
}

/// Sealed bytes one `GET` pipeline of a scan may bring back (a single bigger value is
/// fetched alone): what a walk over a namespace holds in memory at once, whatever its
/// values weigh.
const SCAN_FETCH_BYTES: u64 = 4 << 20;

/// Splits keys of the given sizes into consecutive runs whose sizes add up to at most
/// `limit`; a key bigger than `limit` gets a run of its own.
fn fetch_batches(sizes: &[u64], limit: u64) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && bytes.saturating_add(size) > limit {
            batches.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes = bytes.saturating_add(size);
    }
    if start < sizes.len() {
        batches.push(start..sizes.len());
    }
    batches
}

fn ttl_of(pttl: i64) -> Option<u64> {
    u64::try_from(pttl).ok()
}

impl RedisLayer {
    /// The namespace's seal.
    pub fn seal(&self, ns: &str) -> std::sync::Arc<NamespaceSeal> {
        self.sealing.namespace(ns)
    }

    /// `GET` + `PTTL` in one round trip.
    pub async fn get(&self, ns: &str, key: &str) -> Result<Option<Fetched>, RedisFailure> {
        let seal = self.seal(ns);
        let redis_key = self.sealing.redis_key(&seal, key);
        let (sealed, pttl): (Option<Vec<u8>>, i64) = self
            .read("GET", |mut conn| {
                let mut pipe = redis::pipe();
                pipe.cmd("GET").arg(&redis_key).cmd("PTTL").arg(&redis_key);
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        let counters = self.counters(ns);
        let Some(sealed) = sealed else {
            counters.misses.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        match seal.open(&redis_key, &sealed) {
            Ok((_, value)) => {
                counters.hits.fetch_add(1, Ordering::Relaxed);
                Ok(Some(Fetched { value, ttl_ms: ttl_of(pttl) }))
            }
            Err(err) => {
                counters.corrupt.fetch_add(1, Ordering::Relaxed);
                counters.misses.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(namespace = ns, "a value in Redis did not open ({err}); is every daemon on the same master key?");
                Ok(None)
            }
        }
    }

    /// `GET` + `PTTL` of many keys in one pipeline (one round trip).
    pub async fn get_many(
        &self,
        ns: &str,
        keys: &[String],
    ) -> Result<Vec<Option<Fetched>>, RedisFailure> {
        let seal = self.seal(ns);
        let redis_keys: Vec<String> =
            keys.iter().map(|k| self.sealing.redis_key(&seal, k)).collect();
        let mut pipe = redis::pipe();
        for redis_key in &redis_keys {
            pipe.cmd("GET").arg(redis_key).cmd("PTTL").arg(redis_key);
        }
        let answers = self.get_pairs("GET (bulk)", &pipe).await?;
        let counters = self.counters(ns);
        Ok(answers
            .into_iter()
            .zip(&redis_keys)
            .map(|((sealed, pttl), redis_key)| {
                let opened = sealed.and_then(|s| seal.open(redis_key, &s).ok());
                let counter = if opened.is_some() { &counters.hits } else { &counters.misses };
                counter.fetch_add(1, Ordering::Relaxed);
                opened.map(|(_, value)| Fetched { value, ttl_ms: ttl_of(pttl) })
            })
            .collect())
    }

    async fn get_pairs(
        &self,
        what: &'static str,
        pipe: &Pipeline,
    ) -> Result<Vec<(Option<Vec<u8>>, i64)>, RedisFailure> {
        self.read(what, |mut conn| async move {
            let flat: Vec<Value> = pipe.query_async(&mut conn).await?;
            pair_up(flat)
        })
        .await
    }

    /// `SET` with `PX` and `NX`/`XX`; true when written. An unconditional write carries
    /// its invalidation in the same pipeline (one round trip); a conditional one leaves it
    /// to the caller, who knows whether anything was written. Only the `SET`'s own answer
    /// decides the outcome: a refused `PUBLISH` is as best-effort as [`RedisLayer::invalidate`].
    pub async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: WriteCondition,
    ) -> Result<bool, RedisFailure> {
        let seal = self.seal(ns);
        let redis_key = self.sealing.redis_key(&seal, key);
        let sealed = seal.seal(&redis_key, key, value);
        let announce = if condition == WriteCondition::Always {
            self.invalidation_messages(ns, &[key.to_owned()], false)
        } else {
            Vec::new()
        };
        let channel = self.sealing.channel();
        let reply: Value = self
            .store("SET", |mut conn| {
                let mut pipe = redis::pipe();
                pipe.ignore_errors();
                let cmd = pipe.cmd("SET").arg(&redis_key).arg(&sealed);
                if let Some(ms) = ttl_ms {
                    cmd.arg("PX").arg(ms);
                }
                match condition {
                    WriteCondition::Always => {}
                    WriteCondition::IfAbsent => {
                        cmd.arg("NX");
                    }
                    WriteCondition::IfPresent => {
                        cmd.arg("XX");
                    }
                }
                for message in &announce {
                    pipe.cmd("PUBLISH").arg(&channel).arg(message).ignore();
                }
                async move {
                    let (reply,): (Value,) = pipe.query_async(&mut conn).await?;
                    match reply {
                        Value::ServerError(refused) => Err(refused.into()),
                        reply => Ok(reply),
                    }
                }
            })
            .await?;
        let written = !matches!(reply, Value::Nil);
        if written {
            self.counters(ns).sets.fetch_add(1, Ordering::Relaxed);
        }
        Ok(written)
    }

    /// Many `SET`s in one pipeline.
    pub async fn set_many(
        &self,
        ns: &str,
        entries: &[(String, Vec<u8>, Option<u64>)],
    ) -> Result<(), RedisFailure> {
        let seal = self.seal(ns);
        let mut pipe = redis::pipe();
        for (key, value, ttl_ms) in entries {
            let redis_key = self.sealing.redis_key(&seal, key);
            let sealed = seal.seal(&redis_key, key, value);
            let cmd = pipe.cmd("SET").arg(&redis_key).arg(sealed);
            if let Some(ms) = ttl_ms {
                cmd.arg("PX").arg(*ms);
            }
            cmd.ignore();
        }
        let pipe = &pipe;
        self.store("SET (bulk)", |mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await?;
        self.counters(ns).sets.fetch_add(entries.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// `DEL` of keys by name; returns how many existed.
    pub async fn delete(&self, ns: &str, keys: &[String]) -> Result<u64, RedisFailure> {
        let seal = self.seal(ns);
        let redis_keys: Vec<String> =
            keys.iter().map(|k| self.sealing.redis_key(&seal, k)).collect();
        let deleted = self.delete_redis_keys(&redis_keys).await?;
        self.counters(ns).deletes.fetch_add(deleted, Ordering::Relaxed);
        Ok(deleted)
    }

    async fn delete_redis_keys(&self, redis_keys: &[String]) -> Result<u64, RedisFailure> {
        if redis_keys.is_empty() {
            return Ok(0);
        }
        self.write("UNLINK", |mut conn| {
            let mut cmd = redis::cmd("UNLINK");
            cmd.arg(redis_keys);
            async move { cmd.query_async(&mut conn).await }
        })
        .await
    }

    /// `PEXPIRE` (or `PERSIST` for `None`) of each key; returns how many existed.
    pub async fn expire(
        &self,
        ns: &str,
        keys: &[String],
        ttl_ms: Option<u64>,
    ) -> Result<u64, RedisFailure> {
        let seal = self.seal(ns);
        let redis_keys: Vec<String> =
            keys.iter().map(|k| self.sealing.redis_key(&seal, k)).collect();
        self.expire_redis_keys(&redis_keys, ttl_ms).await
    }

    async fn expire_redis_keys(
        &self,
        redis_keys: &[String],
        ttl_ms: Option<u64>,
    ) -> Result<u64, RedisFailure> {
        let mut pipe = redis::pipe();
        for redis_key in redis_keys {
            match ttl_ms {
                // PERSIST answers 0 for a key without expiry, so existence is asked apart.
                None => pipe.cmd("PERSIST").arg(redis_key).ignore().cmd("EXISTS").arg(redis_key),
                Some(ms) => pipe.cmd("PEXPIRE").arg(redis_key).arg(ms),
            };
        }
        let answers: Vec<u64> = self
            .write("PEXPIRE", |mut conn| {
                let pipe = pipe.clone();
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        Ok(answers.into_iter().filter(|n| *n > 0).count() as u64)
    }

    /// `PTTL`: `None` = missing, `Some(None)` = no expiry, `Some(Some(ms))` = time left.
    pub async fn ttl(&self, ns: &str, key: &str) -> Result<Option<Option<u64>>, RedisFailure> {
        let seal = self.seal(ns);
        let redis_key = self.sealing.redis_key(&seal, key);
        let pttl: i64 = self
            .read("PTTL", |mut conn| {
                let mut cmd = redis::cmd("PTTL");
                cmd.arg(&redis_key);
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        Ok(match pttl {
            -2 => None,
            -1 => Some(None),
            ms => Some(ttl_of(ms)),
        })
    }

    /// One `SCAN` step of the namespace (`count` is a hint), with each key's name opened.
    pub async fn scan(
        &self,
        ns: &str,
        cursor: u64,
        count: usize,
    ) -> Result<ScanPage, RedisFailure> {
        let seal = self.seal(ns);
        let pattern = format!("{}*", glob_escape(&seal.key_prefix));
        let (next, redis_keys): (u64, Vec<String>) = self
            .read("SCAN", |mut conn| {
                let mut cmd = redis::cmd("SCAN");
                cmd.arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(count.max(10));
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        let next = (next != 0).then_some(next);
        if redis_keys.is_empty() {
            return Ok(ScanPage { entries: Vec::new(), next });
        }
        // Sizes first (a few bytes each), then the sealed values in batches of at most
        // SCAN_FETCH_BYTES: only the names are kept, so a walk over big values holds one
        // batch at a time, never a whole page of values.
        let mut pipe = redis::pipe();
        for redis_key in &redis_keys {
            pipe.cmd("STRLEN").arg(redis_key);
        }
        let sizes: Vec<u64> = self
            .read("SCAN sizes", |mut conn| {
                let pipe = pipe.clone();
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        let mut entries = Vec::with_capacity(redis_keys.len());
        for batch in fetch_batches(&sizes, SCAN_FETCH_BYTES) {
            let mut pipe = redis::pipe();
            for redis_key in &redis_keys[batch.clone()] {
                pipe.cmd("GET").arg(redis_key).cmd("PTTL").arg(redis_key);
            }
            let answers = self.get_pairs("SCAN values", &pipe).await?;
            for (redis_key, (sealed, pttl)) in redis_keys[batch].iter().zip(answers) {
                // Gone between SCAN and GET, or sealed under another key: not a live key here.
                let Some(sealed) = sealed else { continue };
                let Ok((key, _)) = seal.open(redis_key, &sealed) else {
                    self.counters(ns).corrupt.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                entries.push(ScannedKey {
                    key,
                    redis_key: redis_key.clone(),
                    stored: sealed.len() as u64,
                    has_ttl: pttl >= 0,
                });
            }
        }
        Ok(ScanPage { entries, next })
    }

    /// Deletes keys found by a scan.
    pub async fn delete_scanned(
        &self,
        ns: &str,
        keys: &[&ScannedKey],
    ) -> Result<u64, RedisFailure> {
        let redis_keys: Vec<String> = keys.iter().map(|k| k.redis_key.clone()).collect();
        let deleted = self.delete_redis_keys(&redis_keys).await?;
        self.counters(ns).deletes.fetch_add(deleted, Ordering::Relaxed);
        Ok(deleted)
    }

    /// Sets the TTL of keys found by a scan.
    pub async fn expire_scanned(
        &self,
        keys: &[&ScannedKey],
        ttl_ms: Option<u64>,
    ) -> Result<u64, RedisFailure> {
        let redis_keys: Vec<String> = keys.iter().map(|k| k.redis_key.clone()).collect();
        self.expire_redis_keys(&redis_keys, ttl_ms).await
    }

    /// `PUBLISH` on the invalidation channel.
    pub(super) async fn publish(&self, message: Vec<u8>) -> Result<(), RedisFailure> {
        let channel = self.sealing.channel();
        // Not a change of the data: a refusal is counted, but does not mark writes refused.
        self.read("PUBLISH", |mut conn| {
            let mut cmd = redis::cmd("PUBLISH");
            cmd.arg(&channel).arg(&message);
            async move { cmd.query_async::<i64>(&mut conn).await.map(|_| ()) }
        })
        .await
    }
}

fn pair_up(flat: Vec<redis::Value>) -> redis::RedisResult<Vec<(Option<Vec<u8>>, i64)>> {
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut values = flat.into_iter();
    while let (Some(value), Some(ttl)) = (values.next(), values.next()) {
        out.push((redis::from_redis_value(value)?, redis::from_redis_value(ttl)?));
    }
    Ok(out)
}

/// Escapes the glob characters Redis `MATCH` knows, so a prefix matches only itself.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fetch_batches;

    #[test]
    fn fetch_batches_stay_under_the_limit_and_cover_every_key() {
        assert_eq!(fetch_batches(&[], 10), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(fetch_batches(&[4, 4, 4], 10), vec![0..2, 2..3]);
        assert_eq!(fetch_batches(&[30, 1, 1, 30], 10), vec![0..1, 1..3, 3..4]);
        assert_eq!(fetch_batches(&[10, 0, 10], 10), vec![0..2, 2..3]);
        let sizes: Vec<u64> = (0..500).map(|i| (i * 7919) % 3000).collect();
        let batches = fetch_batches(&sizes, 4096);
        assert_eq!(batches.first().map(|b| b.start), Some(0));
        assert_eq!(batches.last().map(|b| b.end), Some(500));
        for pair in batches.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for batch in &batches {
            let bytes: u64 = sizes[batch.clone()].iter().sum();
            assert!(bytes <= 4096 || batch.len() == 1, "{batch:?} holds {bytes}");
        }
    }
}
