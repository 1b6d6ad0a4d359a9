//! When a namespace's scheduled clear is due: `clear_every`, optionally anchored to a local
//! time of day with `clear_at`. Pure functions of (plan, last run, time zone), so the rules
//! are unit-tested without a clock.
//!
//! - `clear_every` alone: due `every` after the last run (or after the schedule was first
//!   seen, when it never ran).
//! - `clear_at` alone: every day at that local time (`clear_every` defaults to 1 day).
//! - `clear_at` with `clear_every` shorter than a day: at `clear_at` and every `clear_every`
//!   after it, starting again at `clear_at` each day (`03:00` + `6h` = 03:00, 09:00, 15:00,
//!   21:00).
//! - `clear_at` with `clear_every` of whole days (`2d`): at `clear_at`, every that many days.

use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::NamespaceConfig;

/// Shortest interval accepted.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
const DAY_MS: u64 = 86_400_000;

/// A local time of day, `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    /// 0–23.
    pub hour: i8,
    /// 0–59.
    pub minute: i8,
}

impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// A namespace's clear schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearPlan {
    /// Interval in ms.
    pub every_ms: u64,
    /// Anchor time of day, if any.
    pub at: Option<TimeOfDay>,
}

/// Reads `"HH:MM"` (24-hour clock).
pub fn parse_time_of_day(text: &str) -> Result<TimeOfDay, String> {
    let wrong = || format!("{text:?} is not a time of day like \"03:00\" (HH:MM, 24-hour clock)");
    let (h, m) = text.trim().split_once(':').ok_or_else(wrong)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(wrong());
    }
    let hour: i8 = h.parse().map_err(|_| wrong())?;
    let minute: i8 = m.parse().map_err(|_| wrong())?;
    if !(0..24).contains(&hour) || !(0..60).contains(&minute) {
        return Err(wrong());
    }
    Ok(TimeOfDay { hour, minute })
}

/// The plan of a namespace's settings; `None` when it has no schedule. Settings are assumed
/// validated (see [`validate`]); an unreadable `clear_at` counts as absent.
pub fn plan_for(ns: &NamespaceConfig) -> Option<ClearPlan> {
    let at = ns.clear_at.as_deref().and_then(|text| parse_time_of_day(text).ok());
    let every = match (ns.clear_every, at) {
        (Some(every), _) => every,
        (None, Some(_)) => Duration::from_millis(DAY_MS),
        (None, None) => return None,
    };
    Some(ClearPlan { every_ms: u64::try_from(every.as_millis()).unwrap_or(u64::MAX), at })
}

/// Checks `clear_every` / `clear_at`; `Err((key, reason))` names the key.
pub fn validate(ns: &NamespaceConfig) -> Result<(), (&'static str, String)> {
    if let Some(text) = &ns.clear_at {
        parse_time_of_day(text).map_err(|reason| ("clear_at", reason))?;
    }
    if let Some(every) = ns.clear_every {
        if every < MIN_EVERY {
            return Err(("clear_every", "must be at least 1s".into()));
        }
        let ms = every.as_millis();
        if ns.clear_at.is_some() && ms > u128::from(DAY_MS) && ms % u128::from(DAY_MS) != 0 {
            return Err((
                "clear_every",
                "with clear_at it must be at most 1 day or a whole number of days".into(),
            ));
        }
    }
    Ok(())
}

/// The first run due strictly after `after` (Unix ms; the last run, or when the schedule was
/// first seen), in local time `tz`.
pub fn next_run(plan: ClearPlan, after: u64, tz: &TimeZone) -> u64 {
    let Some(at) = plan.at else { return after.saturating_add(plan.every_ms) };
    if plan.every_ms >= DAY_MS {
        // Whole days: the first `at` after (after + days - 1).
        let skip = (plan.every_ms / DAY_MS - 1).saturating_mul(DAY_MS);
        return first_slot_after(after.saturating_add(skip), at, DAY_MS, tz);
    }
    first_slot_after(after, at, plan.every_ms, tz)
}

/// The earliest `at + k * step` (within its local day) strictly after `after`.
fn first_slot_after(after: u64, at: TimeOfDay, step: u64, tz: &TimeZone) -> u64 {
    let day = local_date(after, tz);
    let days = [
        day.yesterday().ok(),
        Some(day),
        day.tomorrow().ok(),
        day.tomorrow().ok().and_then(|d| d.tomorrow().ok()),
    ];
    let mut best = u64::MAX;
    for date in days.into_iter().flatten() {
        let Some(start) = local_ms(date, at, tz) else { continue };
        let mut offset = 0;
        while offset < DAY_MS {
            let slot = start.saturating_add(offset);
            if slot > after {
                best = best.min(slot);
                break;
            }
            offset = offset.saturating_add(step.max(1));
        }
    }
    if best == u64::MAX {
        after.saturating_add(DAY_MS)
    } else {
        best
    }
}

fn local_date(unix_ms: u64, tz: &TimeZone) -> Date {
    let ts = Timestamp::from_millisecond(i64::try_from(unix_ms).unwrap_or(i64::MAX))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    ts.to_zoned(tz.clone()).date()
}

fn local_ms(date: Date, at: TimeOfDay, tz: &TimeZone) -> Option<u64> {
    let zoned = date.at(at.hour, at.minute, 0, 0).to_zoned(tz.clone()).ok()?;
    u64::try_from(zoned.timestamp().as_millisecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-21T10:00:00Z.
    const NOW: u64 = 1_795_255_200_000;
    const H: u64 = 3_600_000;

    fn plan(every_ms: u64, at: Option<&str>) -> ClearPlan {
        ClearPlan { every_ms, at: at.map(|t| parse_time_of_day(t).unwrap()) }
    }

    #[test]
    fn interval_alone_counts_from_the_last_run() {
        assert_eq!(next_run(plan(2 * H, None), NOW, &TimeZone::UTC), NOW + 2 * H);
    }

    #[test]
    fn time_of_day_alone_is_daily() {
        // 10:00 now: the next 03:00 is tomorrow, 17 hours on.
        assert_eq!(next_run(plan(DAY_MS, Some("03:00")), NOW, &TimeZone::UTC), NOW + 17 * H);
        // 12:30 today is still ahead.
        let half = next_run(plan(DAY_MS, Some("12:30")), NOW, &TimeZone::UTC);
        assert_eq!(half, NOW + 2 * H + H / 2);
    }

    #[test]
    fn time_of_day_with_a_shorter_interval_restarts_each_day() {
        // 03:00 + 6h: 03, 09, 15, 21 -> after 10:00 comes 15:00.
        assert_eq!(next_run(plan(6 * H, Some("03:00")), NOW, &TimeZone::UTC), NOW + 5 * H);
        // 03:00 + 7h: 03, 10, 17, 00 (21h after 03:00), then 03 again: the day restarts.
        let late = NOW + 7 * H;
        assert_eq!(next_run(plan(7 * H, Some("03:00")), late, &TimeZone::UTC), NOW + 14 * H);
        let midnight = NOW + 14 * H;
        let next = next_run(plan(7 * H, Some("03:00")), midnight, &TimeZone::UTC);
        assert_eq!(next, NOW + 17 * H);
        // Exactly at a slot: the next one, never the same instant again.
        assert_eq!(next_run(plan(7 * H, Some("03:00")), NOW, &TimeZone::UTC), NOW + 7 * H);
    }

    #[test]
    fn time_of_day_with_whole_days() {
        let two_days = next_run(plan(2 * DAY_MS, Some("03:00")), NOW, &TimeZone::UTC);
        assert_eq!(two_days, NOW + 17 * H + DAY_MS);
    }

    #[test]
    fn local_time_follows_the_zone() {
        let tz = TimeZone::fixed(jiff::tz::offset(2));
        // 10:00Z is 12:00 at +02: the next 03:00 local is 01:00Z tomorrow.
        assert_eq!(next_run(plan(DAY_MS, Some("03:00")), NOW, &tz), NOW + 15 * H);
    }

    #[test]
    fn settings_are_checked() {
        assert!(parse_time_of_day("3:05").is_ok());
        for bad in ["24:00", "12:60", "noon", "12", "12:5", ""] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
        let ns = NamespaceConfig {
            clear_at: Some("03:00".into()),
            clear_every: Some(Duration::from_secs(36 * 3600)),
            ..NamespaceConfig::default()
        };
        assert_eq!(validate(&ns).unwrap_err().0, "clear_every");
        let daily =
            NamespaceConfig { clear_at: Some("03:00".into()), ..NamespaceConfig::default() };
        assert_eq!(plan_for(&daily), Some(plan(DAY_MS, Some("03:00"))));
        assert_eq!(plan_for(&NamespaceConfig::default()), None);
    }
}
