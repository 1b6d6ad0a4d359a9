//! `metrics`: the Prometheus exposition, built from the answers the other handlers give
//! (`info`, `status`, `stats`, `app_list`, `pressure_status`), trimmed like theirs to what the
//! caller may see. The HTTP endpoint (`crate::server::metrics_http`) serves the same text.

use cachemgr_proto::ResponseBody;

use crate::access::filter::visible;
use crate::access::Caller;
use crate::context::DaemonContext;
use crate::metrics::render::{render, Snapshot};
use crate::store::clock::unix_ms_now;

/// The `metrics` answer for `caller`.
pub fn answer(state: &DaemonContext, caller: &Caller) -> ResponseBody {
    ResponseBody::Metrics { text: text(state, Some(caller)) }
}

/// The exposition as `caller` may see it; `None` is the admin view, for the HTTP endpoint,
/// which has no kernel-checked caller (it shows names and counters, never keys or values).
pub fn text(state: &DaemonContext, caller: Option<&Caller>) -> String {
    render(&snapshot(state, caller))
}

fn snapshot(state: &DaemonContext, caller: Option<&Caller>) -> Snapshot {
    let config = state.config();
    let trim = |body| match caller {
        Some(caller) => visible(caller, &config, body),
        None => body,
    };
    let namespaces = match trim(super::admin::stats(state, None)) {
        ResponseBody::Stats { namespaces, .. } => namespaces,
        _ => Vec::new(),
    };
    let apps = match trim(super::apps::list(state)) {
        ResponseBody::Apps { apps } => Some(apps),
        _ => None,
    };
    Snapshot {
        info: match super::admin::info(state) {
            ResponseBody::Info(info) => Some(*info),
            _ => None,
        },
        status: match super::apps::status(state) {
            ResponseBody::Status(status) => Some(*status),
            _ => None,
        },
        namespaces,
        apps,
        pressure: match super::pressure::status(state) {
            ResponseBody::Pressure(info) => Some(*info),
            _ => None,
        },
        memory_limit_bytes: config.memory.max_bytes.as_u64(),
        now_unix_ms: unix_ms_now(),
        subscribers: state.store.events().subscribers() as u64,
    }
}
