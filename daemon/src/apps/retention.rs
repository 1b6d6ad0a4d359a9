//! Which backups to keep: restic's `forget` rules (keep-last, keep-daily, keep-weekly,
//! keep-monthly, OR-ed together) plus pins. A pure function of the backup times, so
//! `backup list` can show why each one is kept and `backup prune --dry-run` what would go.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The rules of one app. A zero turns a calendar rule off; `last` is at least 1 so the newest
/// good backup is always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Keep the newest N.
    pub last: u32,
    /// Keep the newest of each of the last N days that have a backup.
    #[serde(default)]
    pub daily: u32,
    /// Keep the newest of each of the last N ISO weeks that have a backup.
    #[serde(default)]
    pub weekly: u32,
    /// Keep the newest of each of the last N months that have a backup.
    #[serde(default)]
    pub monthly: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self { last: 10, daily: 0, weekly: 0, monthly: 0 }
    }
}

/// What the rules need to know of one backup.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// When it was taken.
    pub created_unix_ms: u64,
    /// Pinned backups are always kept.
    pub pinned: bool,
    /// Only backups that decrypted count towards the rules; a damaged one never displaces a
    /// good one.
    pub verified: bool,
}

/// One calendar rule: its label and how a time maps to its bucket.
struct CalendarRule {
    label: &'static str,
    limit: u32,
    bucket: fn(&jiff::Zoned) -> String,
}

/// For each candidate (in the order given), the reasons it is kept; an empty list means the
/// next prune removes it. Ties in time keep their given order.
pub fn keep_reasons(
    candidates: &[Candidate],
    policy: &RetentionPolicy,
    tz: &TimeZone,
) -> Vec<Vec<String>> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| candidates[b].created_unix_ms.cmp(&candidates[a].created_unix_ms));
    let mut reasons = vec![Vec::new(); candidates.len()];
    for &i in &order {
        if candidates[i].pinned {
            reasons[i].push("pinned".to_owned());
        }
    }
    let good: Vec<usize> = order.iter().copied().filter(|&i| candidates[i].verified).collect();
    let last = policy.last.max(1) as usize;
    for &i in good.iter().take(last) {
        reasons[i].push(format!("last {last}"));
    }
    let rules = [
        CalendarRule { label: "daily", limit: policy.daily, bucket: day },
        CalendarRule { label: "weekly", limit: policy.weekly, bucket: week },
        CalendarRule { label: "monthly", limit: policy.monthly, bucket: month },
    ];
    for rule in rules.iter().filter(|r| r.limit > 0) {
        let mut seen: Option<String> = None;
        let mut kept = 0;
        for &i in &good {
            if kept >= rule.limit {
                break;
            }
            let zoned = zoned(candidates[i].created_unix_ms, tz);
            let bucket = (rule.bucket)(&zoned);
            if seen.as_ref() != Some(&bucket) {
                reasons[i].push(format!("{} {bucket}", rule.label));
                seen = Some(bucket);
                kept += 1;
            }
        }
    }
    reasons
}

fn zoned(unix_ms: u64, tz: &TimeZone) -> jiff::Zoned {
    Timestamp::from_millisecond(i64::try_from(unix_ms).unwrap_or(i64::MAX))
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
}

fn day(z: &jiff::Zoned) -> String {
    z.strftime("%Y-%m-%d").to_string()
}

fn week(z: &jiff::Zoned) -> String {
    let iso = z.date().iso_week_date();
    format!("{}-W{:02}", iso.year(), iso.week())
}

fn month(z: &jiff::Zoned) -> String {
    z.strftime("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;
    const DAY: u64 = 24 * HOUR;
    /// 2026-11-02 00:00:00 UTC, a Monday.
    const MONDAY: u64 = 1_793_577_600_000;

    fn good(ms: u64) -> Candidate {
        Candidate { created_unix_ms: ms, pinned: false, verified: true }
    }

    fn kept(reasons: &[Vec<String>]) -> Vec<usize> {
        reasons.iter().enumerate().filter(|(_, r)| !r.is_empty()).map(|(i, _)| i).collect()
    }

    #[test]
    fn keep_last_keeps_the_newest() {
        let backups: Vec<_> = (0..5).map(|i| good(MONDAY + i * HOUR)).collect();
        let policy = RetentionPolicy { last: 2, ..Default::default() };
        let reasons = keep_reasons(&backups, &policy, &TimeZone::UTC);
        assert_eq!(kept(&reasons), vec![3, 4]);
        assert_eq!(reasons[4], vec!["last 2".to_owned()]);
    }

    #[test]
    fn pinned_backups_survive_everything() {
        let mut backups: Vec<_> = (0..5).map(|i| good(MONDAY + i * HOUR)).collect();
        backups[0].pinned = true;
        let policy = RetentionPolicy { last: 1, ..Default::default() };
        let reasons = keep_reasons(&backups, &policy, &TimeZone::UTC);
        assert_eq!(kept(&reasons), vec![0, 4]);
        assert_eq!(reasons[0], vec!["pinned".to_owned()]);
    }

    #[test]
    fn keep_daily_keeps_the_newest_of_each_day() {
        // Three backups a day for five days.
        let backups: Vec<_> =
            (0..5).flat_map(|d| (0..3).map(move |h| good(MONDAY + d * DAY + h * HOUR))).collect();
        let policy = RetentionPolicy { last: 1, daily: 3, ..Default::default() };
        let reasons = keep_reasons(&backups, &policy, &TimeZone::UTC);
        // The newest of days 4, 3 and 2 (indices 14, 11, 8); 14 is also "last 1".
        assert_eq!(kept(&reasons), vec![8, 11, 14]);
        assert_eq!(reasons[14], vec!["last 1".to_owned(), "daily 2026-11-06".to_owned()]);
        assert_eq!(reasons[8], vec!["daily 2026-11-04".to_owned()]);
    }

    #[test]
    fn days_without_backups_do_not_count() {
        let backups = vec![good(MONDAY), good(MONDAY + 10 * DAY), good(MONDAY + 20 * DAY)];
        let policy = RetentionPolicy { last: 1, daily: 3, ..Default::default() };
        let reasons = keep_reasons(&backups, &policy, &TimeZone::UTC);
        assert_eq!(kept(&reasons), vec![0, 1, 2]);
    }

    #[test]
    fn weekly_and_monthly_buckets() {
        let backups: Vec<_> = (0..60).map(|d| good(MONDAY + d * DAY)).collect();
        let policy = RetentionPolicy { last: 1, daily: 0, weekly: 2, monthly: 3 };
        let reasons = keep_reasons(&backups, &policy, &TimeZone::UTC);
        // Newest is 2026-12-31 (Thursday, ISO week 53); the week before ends Sunday 12-27.
        assert!(reasons[59].contains(&"weekly 2026-W53".to_owned()), "{:?}", reasons[59]);
        assert!(reasons[55].contains(&"weekly 2026-W52".to_owned()), "{:?}", reasons[55]);
        assert!(reasons[59].contains(&"monthly 2026-12".to_owned()));
        assert!(reasons[28].contains(&"monthly 2026-11".to_owned()), "{:?}", reasons[28]);
        assert_eq!(kept(&reasons), vec![28, 55, 59]);
    }

    #[test]
    fn damaged_backups_never_displace_good_ones() {
        let mut backups: Vec<_> = (0..3).map(|i| good(MONDAY + i * HOUR)).collect();
        backups[2].verified = false;
        let policy = RetentionPolicy { last: 1, ..Default::default() };
        let reasons = keep_reasons(&backups, &policy, &TimeZone::UTC);
        assert_eq!(kept(&reasons), vec![1]);
    }
}
