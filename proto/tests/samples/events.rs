//! Samples of change notifications (`subscribe`, and the `subscribed`, `event` and `missed`
//! answers of its stream).

use cachemgr_proto::{Event, EventKind, KeyPattern, Request, RequestBody, Response, ResponseBody};

use super::{bytes, req, resp, NOT_UTF8};

/// A fixed moment (2026-11-21T10:00:00.250Z).
const AT_MS: u64 = 1_795_255_200_250;

pub fn requests() -> Vec<(&'static str, Request)> {
    let everything =
        RequestBody::Subscribe { ns: None, pattern: None, kinds: None, values: false, queue: None };
    let narrow = RequestBody::Subscribe {
        ns: Some("web".into()),
        pattern: Some(KeyPattern::glob("user:*")),
        kinds: Some(vec![EventKind::Set, EventKind::Delete, EventKind::Expire]),
        values: true,
        queue: Some(64),
    };
    vec![
        ("request_subscribe", req(100, everything)),
        ("request_subscribe_narrow", req(101, narrow)),
    ]
}

pub fn responses() -> Vec<(&'static str, Response)> {
    let mut set = Event::new(EventKind::Set);
    set.seq = 41;
    set.at_ms = AT_MS;
    set.ns = Some("web".into());
    set.key = Some("user:1".into());
    set.value = Some(bytes(NOT_UTF8));
    let mut deleted = Event::new(EventKind::Delete);
    deleted.seq = 42;
    deleted.at_ms = AT_MS;
    deleted.ns = Some("web".into());
    deleted.count = Some(17);
    deleted.pattern = Some("session:*".into());
    let mut backup = Event::new(EventKind::BackupMade);
    backup.seq = 43;
    backup.at_ms = AT_MS;
    backup.app = Some("muse".into());
    backup.message = Some("muse_20261121_100000.enc (schedule)".into());
    let event = |e: Event| ResponseBody::Event { event: Box::new(e) };
    vec![
        ("response_subscribed", resp(100, ResponseBody::Subscribed { queue: 1024 })),
        ("response_event_set", resp(101, event(set))),
        ("response_event_delete_pattern", resp(101, event(deleted))),
        ("response_event_backup_made", resp(100, event(backup))),
        ("response_missed", resp(101, ResponseBody::Missed { count: 250 })),
    ]
}
