//! Single-key and bulk reads and writes.

use cachemgr_proto::{Entry, ResponseBody, SetCondition};
use serde_bytes::ByteBuf;

use super::store_error;
use crate::context::DaemonContext;
use crate::store::budget::Budget;
use crate::store::memory::WriteCondition;
use crate::store::StoreError;

fn condition(condition: SetCondition) -> WriteCondition {
    match condition {
        SetCondition::Always => WriteCondition::Always,
        SetCondition::IfAbsent => WriteCondition::IfAbsent,
        SetCondition::IfPresent => WriteCondition::IfPresent,
    }
}

pub async fn set(
    state: &DaemonContext,
    ns: &str,
    key: &str,
    value: &[u8],
    ttl_ms: Option<u64>,
    cond: SetCondition,
) -> ResponseBody {
    match state.store.set(ns, key, value, ttl_ms, condition(cond)).await {
        Ok(stored) => ResponseBody::Stored { stored },
        Err(err) => store_error(err),
    }
}

pub async fn get(state: &DaemonContext, ns: &str, key: &str) -> ResponseBody {
    answer(state.store.fetch(ns, key).await, |value| ResponseBody::Value {
        value: value.map(ByteBuf::from),
    })
}

pub async fn delete(state: &DaemonContext, ns: &str, keys: &[String]) -> ResponseBody {
    answer(state.store.delete(ns, keys).await, |count| ResponseBody::Count { count, bytes: None })
}

pub async fn exists(state: &DaemonContext, ns: &str, key: &str) -> ResponseBody {
    answer(state.store.fetch_exists(ns, key).await, |found| ResponseBody::Count {
        count: u64::from(found),
        bytes: None,
    })
}

pub async fn ttl(state: &DaemonContext, ns: &str, key: &str) -> ResponseBody {
    answer(state.store.fetch_ttl(ns, key).await, |ttl| match ttl {
        Some(ttl_ms) => ResponseBody::Ttl { exists: true, ttl_ms },
        None => ResponseBody::Ttl { exists: false, ttl_ms: None },
    })
}

pub async fn expire(
    state: &DaemonContext,
    ns: &str,
    key: &str,
    ttl_ms: Option<u64>,
) -> ResponseBody {
    let ttl_ms = ttl_ms.filter(|&ms| ms > 0);
    answer(state.store.expire(ns, key, ttl_ms).await, |exists| ResponseBody::Ttl {
        exists,
        ttl_ms: if exists { ttl_ms } else { None },
    })
}

pub async fn get_many(state: &DaemonContext, ns: &str, keys: &[String]) -> ResponseBody {
    let mut budget = Budget::new(state.config().max_frame());
    answer(state.store.fetch_many(ns, keys, &mut budget).await, |values| ResponseBody::Values {
        values: values.into_iter().map(|v| v.map(ByteBuf::from)).collect(),
    })
}

fn answer<T>(result: Result<T, StoreError>, ok: impl FnOnce(T) -> ResponseBody) -> ResponseBody {
    match result {
        Ok(value) => ok(value),
        Err(err) => store_error(err),
    }
}

pub async fn set_many(state: &DaemonContext, ns: &str, entries: Vec<Entry>) -> ResponseBody {
    match state.store.set_many(ns, &entries).await {
        Ok(count) => ResponseBody::Count { count, bytes: None },
        Err(err) => store_error(err),
    }
}
