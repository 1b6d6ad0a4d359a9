//! Warning in the log when an app goes stale (its last good backup older than its
//! `stale_after`): once when it happens, again only after it recovered and went stale
//! again, so the journal tells an operator without anyone asking `app list`.

use std::collections::HashSet;
use std::time::Duration;

use super::registry::AppRecord;
use super::service::AppService;

/// While an app is stale, look again this often to notice it recovered.
const RECHECK_STALE_MS: u64 = 3_600_000;

/// The apps already warned about.
#[derive(Debug, Default)]
pub struct StaleWatch {
    warned: HashSet<String>,
}

impl StaleWatch {
    /// Warns about each app that went stale since the last check and returns when to check
    /// again (the next moment an app goes stale), in Unix ms.
    pub fn check(&mut self, service: &AppService, records: &[AppRecord], now: u64) -> Option<u64> {
        self.warned.retain(|name| records.iter().any(|r| &r.name == name));
        let mut next: Option<u64> = None;
        let mut soonest = |at: u64| next = Some(next.map_or(at, |n| n.min(at)));
        for app in records {
            let catalog = service.catalog(app).unwrap_or_default();
            let last_good = catalog.last_good().map(|b| b.created_unix_ms);
            let since = last_good.unwrap_or(app.added_unix_ms);
            let stale_at = since.saturating_add(app.stale_after_ms);
            // The same rule as `app list`'s health: stale once the age exceeds the limit.
            if now <= stale_at {
                self.warned.remove(&app.name);
                soonest(stale_at + 1);
                continue;
            }
            soonest(now + RECHECK_STALE_MS);
            if !self.warned.insert(app.name.clone()) {
                continue;
            }
            let age = humantime::format_duration(Duration::from_secs((now - since) / 1000));
            let limit = humantime::format_duration(Duration::from_millis(app.stale_after_ms));
            let what = if last_good.is_some() {
                "its last good backup is"
            } else {
                "it has no good backup and was registered"
            };
            tracing::warn!(
                app = %app.name,
                "app is stale: {what} {age} old (stale after {limit}); see `cachectl app show {}`",
                app.name
            );
        }
        next
    }
}
