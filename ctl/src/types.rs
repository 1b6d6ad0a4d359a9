//! Small result types and conversions of the typed client API, kept apart from the calls so
//! the call file reads as a list of operations.

use std::time::Duration;

use cachemgr_proto::{CacheStats, NamespaceStats, ResponseBody};
use serde::Serialize;

/// Answer of [`crate::Client::stats`]: the sum and the per-namespace rows, as the daemon sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    /// Sum over the namespaces listed.
    pub total: CacheStats,
    /// One row per namespace.
    pub namespaces: Vec<NamespaceStats>,
}

/// Answer of [`crate::Client::pattern_stats`]: what a pattern operation would touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PatternStats {
    /// Matching keys.
    pub keys: u64,
    /// Bytes of their keys and values.
    pub bytes: u64,
    /// How many of them have a TTL.
    pub with_ttl: u64,
}

/// Converts a TTL to the wire's milliseconds, rounding up so that a short non-zero TTL never
/// becomes 0 (which the protocol reads as "no expiry"), and saturating instead of wrapping.
pub fn ttl_to_ms(ttl: Duration) -> u64 {
    let ms =
        ttl.as_millis().saturating_add(u128::from(!ttl.subsec_nanos().is_multiple_of(1_000_000)));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// Wire name of a response variant, for [`crate::ClientError::UnexpectedResponse`].
pub fn response_name(body: &ResponseBody) -> &'static str {
    match body {
        ResponseBody::Welcome { .. } => "welcome",
        ResponseBody::Pong {} => "pong",
        ResponseBody::Info(_) => "info",
        ResponseBody::Stats { .. } => "stats",
        ResponseBody::Namespaces { .. } => "namespaces",
        ResponseBody::Done {} => "done",
        ResponseBody::Stored { .. } => "stored",
        ResponseBody::Value { .. } => "value",
        ResponseBody::Values { .. } => "values",
        ResponseBody::Count { .. } => "count",
        ResponseBody::Ttl { .. } => "ttl",
        ResponseBody::Keys { .. } => "keys",
        ResponseBody::PatternStats { .. } => "pattern_stats",
        ResponseBody::Cleared { .. } => "cleared",
        ResponseBody::Reloaded { .. } => "reloaded",
        ResponseBody::Error { .. } => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_the_millisecond() {
        assert_eq!(ttl_to_ms(Duration::ZERO), 0);
        assert_eq!(ttl_to_ms(Duration::from_micros(1)), 1);
        assert_eq!(ttl_to_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(ttl_to_ms(Duration::from_micros(1500)), 2);
        assert_eq!(ttl_to_ms(Duration::MAX), u64::MAX);
    }
}
