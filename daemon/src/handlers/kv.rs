//! Single-key and bulk reads and writes.

use cachemgr_proto::{Entry, ResponseBody, SetCondition};
use serde_bytes::ByteBuf;

use super::store_error;
use crate::state::AppState;
use crate::store::memory::WriteCondition;

fn condition(condition: SetCondition) -> WriteCondition {
    match condition {
        SetCondition::Always => WriteCondition::Always,
        SetCondition::IfAbsent => WriteCondition::IfAbsent,
        SetCondition::IfPresent => WriteCondition::IfPresent,
    }
}

pub fn set(
    state: &AppState,
    ns: &str,
    key: &str,
    value: &[u8],
    ttl_ms: Option<u64>,
    cond: SetCondition,
) -> ResponseBody {
    match state.store.set(ns, key, value, ttl_ms, condition(cond)) {
        Ok(stored) => ResponseBody::Stored { stored },
        Err(err) => store_error(err),
    }
}

pub fn get(state: &AppState, ns: &str, key: &str) -> ResponseBody {
    ResponseBody::Value { value: state.store.get(ns, key).map(ByteBuf::from) }
}

pub fn delete(state: &AppState, ns: &str, keys: &[String]) -> ResponseBody {
    ResponseBody::Count { count: state.store.delete(ns, keys) }
}

pub fn exists(state: &AppState, ns: &str, key: &str) -> ResponseBody {
    ResponseBody::Count { count: u64::from(state.store.exists(ns, key)) }
}

pub fn ttl(state: &AppState, ns: &str, key: &str) -> ResponseBody {
    match state.store.ttl(ns, key) {
        Some(ttl_ms) => ResponseBody::Ttl { exists: true, ttl_ms },
        None => ResponseBody::Ttl { exists: false, ttl_ms: None },
    }
}

pub fn expire(state: &AppState, ns: &str, key: &str, ttl_ms: Option<u64>) -> ResponseBody {
    let ttl_ms = ttl_ms.filter(|&ms| ms > 0);
    let exists = state.store.expire(ns, key, ttl_ms);
    ResponseBody::Ttl { exists, ttl_ms: if exists { ttl_ms } else { None } }
}

pub fn get_many(state: &AppState, ns: &str, keys: &[String]) -> ResponseBody {
    let values = state.store.get_many(ns, keys).into_iter().map(|v| v.map(ByteBuf::from));
    ResponseBody::Values { values: values.collect() }
}

pub fn set_many(state: &AppState, ns: &str, entries: Vec<Entry>) -> ResponseBody {
    match state.store.set_many(ns, &entries) {
        Ok(count) => ResponseBody::Count { count },
        Err(err) => store_error(err),
    }
}
