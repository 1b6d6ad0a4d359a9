//! Times and paths the way the app and backup commands show them: local wall-clock minutes
//! (backups are named and kept by local days), compact ages and countdowns for narrow table
//! columns, and home-relative paths. Pure functions with the clock and zone passed in, so they
//! are unit-tested here.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Milliseconds since the Unix epoch now (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// A span in its largest whole unit (`45s`, `12m`, `3h`, `2d`), rounded down: an age of
/// 2 days 23 hours is still `2d`, which is what a glance at a table needs.
pub fn format_age(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] =
        [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")];
    for (size, unit) in UNITS {
        if ms >= size {
            return format!("{}{unit}", ms / size);
        }
    }
    "0s".to_owned()
}

/// How far `unix_ms` is from `now_ms`: `in 5h`, `3d ago`, or `now` within a second.
pub fn format_relative(unix_ms: u64, now_ms: u64) -> String {
    if unix_ms.abs_diff(now_ms) < 1000 {
        "now".to_owned()
    } else if unix_ms > now_ms {
        format!("in {}", format_age(unix_ms - now_ms))
    } else {
        format!("{} ago", format_age(now_ms - unix_ms))
    }
}

/// `YYYY-mm-dd HH:MM` in `zone`; the raw number when it is out of the calendar's range.
pub fn format_minute_in(unix_ms: u64, zone: &TimeZone) -> String {
    let timestamp = i64::try_from(unix_ms).ok().and_then(|ms| Timestamp::from_millisecond(ms).ok());
    match timestamp {
        Some(timestamp) => timestamp.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
        None => format!("{unix_ms} ms after the epoch"),
    }
}

/// `YYYY-mm-dd HH:MM:SS.mmm` in `zone`, for event streams where order within a second
/// matters; the raw number when it is out of the calendar's range.
pub fn format_millis_in(unix_ms: u64, zone: &TimeZone) -> String {
    let timestamp = i64::try_from(unix_ms).ok().and_then(|ms| Timestamp::from_millisecond(ms).ok());
    match timestamp {
        Some(timestamp) => {
            timestamp.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S%.3f").to_string()
        }
        None => format!("{unix_ms} ms after the epoch"),
    }
}

/// `path` with a leading `home` directory written `~`, so long paths fit a table.
pub fn shorten_home(path: &str, home: Option<&str>) -> String {
    let Some(home) = home.map(|home| home.trim_end_matches('/')).filter(|home| !home.is_empty())
    else {
        return path.to_owned();
    };
    match path.strip_prefix(home) {
        Some("") => "~".to_owned(),
        Some(rest) if rest.starts_with('/') => format!("~{rest}"),
        _ => path.to_owned(),
    }
}

/// An interval exactly, in whole units from days down to seconds: `6h`, `1d12h`, `1h30m`,
/// `30d`, as the settings were typed (milliseconds below a second are dropped).
pub fn format_interval(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] =
        [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")];
    let mut rest = ms;
    let mut text = String::new();
    for (size, unit) in UNITS {
        if rest >= size {
            text.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if text.is_empty() {
        text = format!("{ms}ms");
    }
    text
}

/// Where the output is read: the time now, the time zone and the home directory, so the
/// text functions are pure and a test can fix all three.
#[derive(Debug, Clone)]
pub struct Local {
    /// Now, in Unix milliseconds.
    pub now_ms: u64,
    /// The zone wall-clock times are shown in.
    pub zone: TimeZone,
    /// The directory shown as `~`.
    pub home: Option<String>,
}

impl Local {
    /// This machine, now.
    pub fn current() -> Self {
        Self { now_ms: now_ms(), zone: TimeZone::system(), home: std::env::var("HOME").ok() }
    }

    /// `YYYY-mm-dd HH:MM` in the zone.
    pub fn minute(&self, unix_ms: u64) -> String {
        format_minute_in(unix_ms, &self.zone)
    }

    /// `YYYY-mm-dd HH:MM:SS.mmm` in the zone.
    pub fn millis(&self, unix_ms: u64) -> String {
        format_millis_in(unix_ms, &self.zone)
    }

    /// The epoch in UTC with no home directory, for tests of text output.
    #[cfg(test)]
    pub fn fixed_utc() -> Self {
        Self { now_ms: 0, zone: TimeZone::UTC, home: None }
    }

    /// `YYYY-mm-dd HH:MM (3h ago)` / `(in 5h)`.
    pub fn moment(&self, unix_ms: u64) -> String {
        format!("{} ({})", self.minute(unix_ms), format_relative(unix_ms, self.now_ms))
    }

    /// `path` with the home directory as `~`.
    pub fn path(&self, path: &str) -> String {
        shorten_home(path, self.home.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    #[test]
    fn ages_in_the_largest_unit() {
        assert_eq!(format_age(0), "0s");
        assert_eq!(format_age(999), "0s");
        assert_eq!(format_age(45_000), "45s");
        assert_eq!(format_age(12 * 60_000 + 59_000), "12m");
        assert_eq!(format_age(3 * HOUR), "3h");
        assert_eq!(format_age(71 * HOUR), "2d");
        assert_eq!(format_age(400 * 24 * HOUR), "400d");
    }

    #[test]
    fn relative_times() {
        let now = 1_795_255_200_000;
        assert_eq!(format_relative(now + 5 * HOUR, now), "in 5h");
        assert_eq!(format_relative(now - 49 * HOUR, now), "2d ago");
        assert_eq!(format_relative(now + 400, now), "now");
        assert_eq!(format_relative(now - 400, now), "now");
        assert_eq!(format_relative(now + 90_000, now), "in 1m");
    }

    #[test]
    fn minutes_in_a_zone() {
        let at = 1_795_255_200_000; // 2026-11-21T10:00:00Z
        assert_eq!(format_minute_in(at + 59_000, &TimeZone::UTC), "2026-11-21 10:00");
        let east = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(format_minute_in(at, &east), "2026-11-21 12:00");
        let far = format_minute_in(u64::MAX, &TimeZone::UTC);
        assert!(far.ends_with("ms after the epoch"), "{far}");
    }

    #[test]
    fn home_becomes_tilde() {
        let home = Some("/home/ana");
        assert_eq!(shorten_home("/home/ana/.config/sd/cache.enc", home), "~/.config/sd/cache.enc");
        assert_eq!(shorten_home("/home/ana", home), "~");
        assert_eq!(shorten_home("/home/anabel/x", home), "/home/anabel/x");
        assert_eq!(shorten_home("/srv/x", home), "/srv/x");
        assert_eq!(shorten_home("/home/ana/x", Some("/home/ana/")), "~/x");
        assert_eq!(shorten_home("/x", Some("")), "/x");
        assert_eq!(shorten_home("/x", Some("/")), "/x");
        assert_eq!(shorten_home("/x", None), "/x");
    }

    #[test]
    fn intervals_exactly() {
        assert_eq!(format_interval(6 * HOUR), "6h");
        assert_eq!(format_interval(36 * HOUR), "1d12h");
        assert_eq!(format_interval(90 * 60_000), "1h30m");
        assert_eq!(format_interval(30 * 24 * HOUR), "30d");
        assert_eq!(format_interval(45_500), "45s");
        assert_eq!(format_interval(500), "500ms");
    }

    #[test]
    fn local_moments() {
        let local = Local { now_ms: 1_795_255_200_000, zone: TimeZone::UTC, home: None };
        assert_eq!(local.moment(local.now_ms - 3 * HOUR), "2026-11-21 07:00 (3h ago)");
        assert_eq!(local.moment(local.now_ms + 5 * HOUR), "2026-11-21 15:00 (in 5h)");
    }
}
