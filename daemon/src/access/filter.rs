//! Answers that list many namespaces or apps show a non-admin only what they may see.

use cachemgr_proto::{CacheStats, ResponseBody};

use super::caller::Caller;
use super::policy::may_use;
use crate::config::Config;

/// Drops the rows of `body` the caller may not see (namespaces they cannot read, apps of
/// other users); admins see everything.
pub fn visible(caller: &Caller, config: &Config, body: ResponseBody) -> ResponseBody {
    if caller.admin {
        return body;
    }
    match body {
        ResponseBody::Stats { namespaces, .. } => {
            let namespaces: Vec<_> = namespaces
                .into_iter()
                .filter(|row| may_use(caller, &row.ns, false, config))
                .collect();
            let mut total = CacheStats::default();
            namespaces.iter().for_each(|row| total.accumulate(&row.stats));
            ResponseBody::Stats { total, namespaces }
        }
        ResponseBody::Namespaces { namespaces } => ResponseBody::Namespaces {
            namespaces: namespaces
                .into_iter()
                .filter(|row| may_use(caller, &row.ns, false, config))
                .collect(),
        },
        ResponseBody::Apps { apps } => ResponseBody::Apps {
            apps: apps.into_iter().filter(|app| app.owner_uid == caller.peer.uid).collect(),
        },
        other => other,
    }
}
