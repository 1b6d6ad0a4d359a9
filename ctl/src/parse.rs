//! Argument parsers clap calls, so a bad duration or pair is a usage error (exit 2) reported
//! by clap with the offending argument named.

use std::time::Duration;

/// Parses a duration such as `30s`, `10m`, `1h30m`, `500ms`; a bare integer means seconds
/// (as in Redis `EXPIRE`), since that is what most people type.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|err| format!("invalid duration `{text}`: {err}"));
    }
    humantime::parse_duration(text).map_err(|err| {
        format!("invalid duration `{text}`: {err} (examples: 30s, 10m, 1h30m, 500ms)")
    })
}

/// Parses a schedule interval: a duration as [`parse_duration`] reads it, but never zero
/// (a dump every 0 ms would never stop).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        interval if interval.is_zero() => Err(format!("interval `{text}` must be more than 0")),
        interval => Ok(interval),
    }
}

/// Parses `KEY=VALUE` at the first `=`, so values may contain `=` but keys may not.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some(("", _)) => Err(format!("`{text}`: the key before `=` is empty")),
        Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
        None => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// Parses a JSON pointer (RFC 6901): empty for the whole document, else `/`-separated, so a
/// forgotten leading `/` is caught before the daemon is asked.
pub fn parse_pointer(text: &str) -> Result<String, String> {
    if text.is_empty() || text.starts_with('/') {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a JSON pointer: it must start with `/` (e.g. /settings/theme)"
        ))
    }
}

/// Checks that `text` is one JSON value and keeps it as typed, so a value such as `dark`
/// (meant as `"dark"`) is a usage error here rather than a daemon error.
pub fn parse_json_text(text: &str) -> Result<String, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(_) => Ok(text.to_owned()),
        Err(err) => Err(format!(
            "`{text}` is not JSON: {err} (a string needs quotes: '\"dark\"'; numbers, true, \
             false, null, arrays and objects as in JSON)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations() {
        for bad in ["", "ten", "10x", "-5s", "s", "99999999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn intervals_are_never_zero() {
        assert_eq!(parse_interval("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("0s").is_err());
    }

    #[test]
    fn key_values() {
        assert_eq!(parse_key_value("a=1"), Ok(("a".into(), "1".into())));
        assert_eq!(parse_key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_key_value("a="), Ok(("a".into(), String::new())));
        assert!(parse_key_value("=1").is_err());
        assert!(parse_key_value("novalue").is_err());
    }

    #[test]
    fn pointers() {
        assert_eq!(parse_pointer(""), Ok(String::new()));
        assert_eq!(parse_pointer("/a/0/b~1c"), Ok("/a/0/b~1c".into()));
        assert!(parse_pointer("a/b").is_err());
    }

    #[test]
    fn json_values() {
        for good in ["\"dark\"", "3", "true", "null", "[1, 2]", "{\"a\": {}}", " 1 "] {
            assert_eq!(parse_json_text(good), Ok(good.to_owned()));
        }
        for bad in ["dark", "", "{", "1 2", "'x'"] {
            assert!(parse_json_text(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
