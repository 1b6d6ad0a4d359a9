//! Names: what an app may be called, the directory-safe form of a name, and backup file
//! names in the Python Cache Manager's pattern `{name lowercased, spaces to _}_{YYYYmmdd_HHMMSS}.enc`
//! so that backups made by either tool sort and read the same way.

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Longest app name accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty or blank.
    #[error("an app name must not be empty")]
    Empty,
    /// Longer than [`MAX_NAME_BYTES`].
    #[error("the app name is {0} bytes long; at most {MAX_NAME_BYTES} are allowed")]
    TooLong(usize),
    /// A character outside the allowed set.
    #[error(
        "the app name {name:?} contains {ch:?}; use letters, digits, spaces, '.', '_' and '-'"
    )]
    BadChar {
        /// The name given.
        name: String,
        /// The first character refused.
        ch: char,
    },
}

/// Checks an app name: letters, digits, space, `.`, `_`, `-`, not starting with `.` or a
/// space, so the safe form is always a plain directory name (never `..`).
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong(name.len()));
    }
    let bad = name.chars().enumerate().find(|&(i, ch)| {
        let allowed = ch.is_alphanumeric() || matches!(ch, ' ' | '.' | '_' | '-');
        !allowed || (i == 0 && matches!(ch, '.' | ' '))
    });
    match bad {
        Some((_, ch)) => Err(NameError::BadChar { name: name.to_owned(), ch }),
        None => Ok(()),
    }
}

/// The Cache Manager's file-name form of an app name: lowercased, spaces to `_`.
pub fn safe_name(name: &str) -> String {
    name.trim().to_lowercase().replace(' ', "_")
}

/// The default keyring app identifier for a name (`sd-runner` → `sd_runner`), matching how
/// the apps name themselves.
pub fn default_app_id(name: &str) -> String {
    safe_name(name).replace(['-', '.'], "_")
}

/// `YYYYmmdd_HHMMSS` of `unix_ms` in the local time zone, as Python's `strftime` writes it.
pub fn stamp(unix_ms: u64) -> String {
    let ts = Timestamp::from_millisecond(i64::try_from(unix_ms).unwrap_or(i64::MAX))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    ts.to_zoned(TimeZone::system()).strftime("%Y%m%d_%H%M%S").to_string()
}

/// The backup file name for `safe` taken at `unix_ms`; `attempt` > 0 adds `_N` so two
/// backups within one second do not collide.
pub fn backup_file_name(safe: &str, unix_ms: u64, attempt: u32) -> String {
    match attempt {
        0 => format!("{safe}_{}.enc", stamp(unix_ms)),
        n => format!("{safe}_{}_{}.enc", stamp(unix_ms), n + 1),
    }
}

/// The time a backup file name encodes (local time), for adopting backups that come
/// without metadata; `None` when the name does not follow the pattern for `safe`.
pub fn parse_backup_time(safe: &str, file_name: &str) -> Option<u64> {
    let rest = file_name.strip_prefix(safe)?.strip_prefix('_')?.strip_suffix(".enc")?;
    let stamp = rest.get(..15)?;
    let tail = &rest[15..];
    if !(tail.is_empty() || tail.strip_prefix('_').is_some_and(|n| n.parse::<u32>().is_ok())) {
        return None;
    }
    let civil = jiff::civil::DateTime::strptime("%Y%m%d_%H%M%S", stamp).ok()?;
    let zoned = civil.to_zoned(TimeZone::system()).ok()?;
    u64::try_from(zoned.timestamp().as_millisecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("sd-runner").is_ok());
        assert!(check_name("My App 2.0").is_ok());
        assert_eq!(check_name(""), Err(NameError::Empty));
        assert_eq!(check_name("  "), Err(NameError::Empty));
        assert!(matches!(check_name("../etc"), Err(NameError::BadChar { ch: '.', .. })));
        assert!(matches!(check_name("a/b"), Err(NameError::BadChar { ch: '/', .. })));
        assert!(matches!(check_name(" lead"), Err(NameError::BadChar { .. })));
        assert!(matches!(check_name(&"x".repeat(65)), Err(NameError::TooLong(65))));
    }

    #[test]
    fn safe_names_follow_the_cache_manager() {
        assert_eq!(safe_name("My App"), "my_app");
        assert_eq!(default_app_id("SD-Runner"), "sd_runner");
    }

    #[test]
    fn backup_names_round_trip() {
        let ms = 1_795_000_000_000;
        let name = backup_file_name("muse", ms, 0);
        assert!(name.starts_with("muse_") && name.ends_with(".enc"), "{name}");
        assert_eq!(name.len(), "muse_".len() + 15 + 4);
        assert_eq!(parse_backup_time("muse", &name), Some(ms));
        let second = backup_file_name("muse", ms, 1);
        assert!(second.ends_with("_2.enc"), "{second}");
        assert_eq!(parse_backup_time("muse", &second), Some(ms));
        assert_eq!(parse_backup_time("muse", "muse_garbage.enc"), None);
        assert_eq!(parse_backup_time("muse", "other_20260101_000000.enc"), None);
    }
}
