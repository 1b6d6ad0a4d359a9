//! What one subscriber asked to hear about: a namespace, a key pattern, some kinds.

use cachemgr_proto::{Event, EventKind};

use crate::pattern::KeyMatcher;

/// A subscriber's own selection (access rules are applied separately).
#[derive(Debug)]
pub struct EventFilter {
    /// Only this namespace (events without a namespace then do not match).
    pub ns: Option<String>,
    /// Only keys matching this; events without a key always match.
    pub matcher: Option<KeyMatcher>,
    /// Only these kinds.
    pub kinds: Option<Vec<EventKind>>,
}

impl EventFilter {
    /// Whether `event` is one the subscriber asked for.
    pub fn matches(&self, event: &Event) -> bool {
        if let Some(kinds) = &self.kinds {
            if !kinds.contains(&event.kind) {
                return false;
            }
        }
        if let Some(ns) = &self.ns {
            if event.ns.as_deref() != Some(ns.as_str()) {
                return false;
            }
        }
        match (&self.matcher, &event.key) {
            (Some(matcher), Some(key)) => matcher.is_match(key.as_bytes()),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use cachemgr_proto::KeyPattern;

    use super::*;

    fn event(kind: EventKind, ns: Option<&str>, key: Option<&str>) -> Event {
        let mut event = Event::new(kind);
        event.ns = ns.map(str::to_owned);
        event.key = key.map(str::to_owned);
        event
    }

    #[test]
    fn namespace_pattern_and_kinds_narrow_the_stream() {
        let filter = EventFilter {
            ns: Some("web".into()),
            matcher: Some(KeyMatcher::compile(Some(&KeyPattern::glob("user:*"))).unwrap()),
            kinds: Some(vec![EventKind::Set, EventKind::Clear]),
        };
        assert!(filter.matches(&event(EventKind::Set, Some("web"), Some("user:1"))));
        assert!(!filter.matches(&event(EventKind::Set, Some("web"), Some("page:1"))));
        assert!(!filter.matches(&event(EventKind::Set, Some("api"), Some("user:1"))));
        assert!(!filter.matches(&event(EventKind::Delete, Some("web"), Some("user:1"))));
        assert!(filter.matches(&event(EventKind::Clear, Some("web"), None)), "no key: passes");
        assert!(!filter.matches(&event(EventKind::Pressure, None, None)), "no namespace");
    }

    #[test]
    fn an_empty_filter_takes_everything() {
        let filter = EventFilter { ns: None, matcher: None, kinds: None };
        assert!(filter.matches(&event(EventKind::Pressure, None, None)));
        assert!(filter.matches(&event(EventKind::Evict, Some("a"), Some("k"))));
    }
}
