//! Pattern operations: paged key listing, counting, deleting and re-expiring by pattern.

use cachemgr_proto::{ErrorKind, EventKind, KeyPattern, ResponseBody};

use super::{error, store_error};
use crate::context::DaemonContext;
use crate::pattern::KeyMatcher;
use crate::store::memory::PatternAction;

/// Largest page a client may ask for.
const MAX_PAGE: u32 = 10_000;

fn compile(pattern: Option<&KeyPattern>) -> Result<KeyMatcher, ResponseBody> {
    KeyMatcher::compile(pattern).map_err(|err| error(ErrorKind::InvalidArgument, err.to_string()))
}

pub async fn keys(
    state: &DaemonContext,
    ns: &str,
    pattern: Option<&KeyPattern>,
    cursor: u64,
    count: u32,
) -> ResponseBody {
    let matcher = match compile(pattern) {
        Ok(matcher) => matcher,
        Err(response) => return response,
    };
    let count = count.clamp(1, MAX_PAGE) as usize;
    match state.store.fetch_keys_page(ns, &matcher, cursor, count).await {
        Ok((keys, next_cursor)) => ResponseBody::Keys { keys, next_cursor },
        Err(err) => store_error(err),
    }
}

pub async fn stats(state: &DaemonContext, ns: &str, pattern: Option<&KeyPattern>) -> ResponseBody {
    let matcher = match compile(pattern) {
        Ok(matcher) => matcher,
        Err(response) => return response,
    };
    match state.store.apply_pattern(ns, &matcher, PatternAction::Tally).await {
        Ok(t) => ResponseBody::PatternStats { keys: t.keys, bytes: t.bytes, with_ttl: t.with_ttl },
        Err(err) => store_error(err),
    }
}

pub async fn delete(state: &DaemonContext, ns: &str, pattern: &KeyPattern) -> ResponseBody {
    let matcher = match compile(Some(pattern)) {
        Ok(matcher) => matcher,
        Err(response) => return response,
    };
    match state.store.apply_pattern(ns, &matcher, PatternAction::Delete).await {
        Ok(tally) => {
            if tally.keys > 0 {
                let events = state.store.events();
                events.bulk_event(EventKind::Delete, ns, tally.keys, Some(&pattern.pattern));
            }
            ResponseBody::Count { count: tally.keys, bytes: Some(tally.bytes) }
        }
        Err(err) => store_error(err),
    }
}

pub async fn expire(
    state: &DaemonContext,
    ns: &str,
    pattern: &KeyPattern,
    ttl_ms: Option<u64>,
) -> ResponseBody {
    let matcher = match compile(Some(pattern)) {
        Ok(matcher) => matcher,
        Err(response) => return response,
    };
    let deadline = state.store.clock().deadline_after(ttl_ms.unwrap_or(0));
    counted(state.store.apply_pattern(ns, &matcher, PatternAction::SetDeadline(deadline)).await)
}

fn counted(
    result: Result<crate::store::memory::PatternTally, crate::store::StoreError>,
) -> ResponseBody {
    match result {
        Ok(tally) => ResponseBody::Count { count: tally.keys, bytes: None },
        Err(err) => store_error(err),
    }
}
