//! Human and JSON rendering shared by the commands: byte sizes, TTLs, aligned tables, and a
//! JSON form for binary values. Pure functions, so they are unit-tested here.

use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

/// Column alignment in a [`Table`]: text left, numbers right, as operators expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Pad on the right.
    Left,
    /// Pad on the left.
    Right,
}

/// A plain-text table with a header row, padded so columns line up in a terminal.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<&'static str>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns; the first is left-aligned, the others right-aligned.
    pub fn new(headers: &[&'static str]) -> Self {
        let align = (0..headers.len())
            .map(|index| if index == 0 { Align::Left } else { Align::Right })
            .collect();
        Self { headers: headers.to_vec(), align, rows: Vec::new() }
    }

    /// Overrides the alignment of one column (ignored if out of range).
    pub fn align(mut self, column: usize, align: Align) -> Self {
        if let Some(slot) = self.align.get_mut(column) {
            *slot = align;
        }
        self
    }

    /// Appends a row; missing cells render empty, extra cells are dropped.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as lines joined by `\n` (with a final newline), columns two spaces apart.
    pub fn render(&self) -> String {
        let cell = |row: &[String], index: usize| row.get(index).cloned().unwrap_or_default();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (index, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, index).chars().count());
            }
        }
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (index, (width, align)) in widths.iter().zip(&self.align).enumerate() {
                if index > 0 {
                    line.push_str("  ");
                }
                let text = cell(row, index);
                let pad = " ".repeat(width.saturating_sub(text.chars().count()));
                match align {
                    Align::Left => {
                        line.push_str(&text);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(&text);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A byte count in binary units with one decimal (`512 B`, `1.2 MiB`), as `free -h` shows.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A remaining TTL the way people read it: `750ms`, `29.5s`, `9m59s`, `1h30m`.
pub fn format_ttl(ttl: Duration) -> String {
    let ms = ttl.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 60_000 {
        let text = format!("{:.1}", ms as f64 / 1000.0);
        return format!("{}s", text.strip_suffix(".0").unwrap_or(&text));
    }
    let seconds = Duration::from_secs(ttl.as_secs() + u64::from(ttl.subsec_millis() >= 500));
    humantime::format_duration(seconds).to_string().replace(' ', "")
}

/// A span of whole seconds the way people read it (`0s`, `45s`, `7m`, `1h30m`), for ages and
/// countdowns where sub-second precision is noise.
pub fn format_span(ms: u64) -> String {
    if ms < 1000 {
        return "0s".to_owned();
    }
    format_ttl(Duration::from_secs(ms.saturating_add(500) / 1000))
}

/// A wall-clock moment with how far it is from `now_ms`:
/// `2026-11-21T09:58:00Z (2m ago)` or `2026-11-21T10:03:00Z (in 3m)`.
pub fn format_moment(unix_ms: u64, now_ms: u64) -> String {
    let when = UNIX_EPOCH.checked_add(Duration::from_millis(unix_ms)).map_or_else(
        || format!("{unix_ms} ms after the epoch"),
        |time| humantime::format_rfc3339_seconds(time).to_string(),
    );
    if unix_ms <= now_ms {
        format!("{when} ({} ago)", format_span(now_ms - unix_ms))
    } else {
        format!("{when} (in {})", format_span(unix_ms - now_ms))
    }
}

/// Key/value lines with the values aligned, as `info` and the status commands print them.
pub fn aligned_rows(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    rows.iter().map(|(name, value)| format!("{name:<width$}  {value}\n")).collect()
}

/// A hit rate as a percentage, or `-` when nothing was read (0% would be misleading).
pub fn format_rate(hits: u64, misses: u64) -> String {
    let reads = hits + misses;
    if reads == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", hits as f64 * 100.0 / reads as f64)
}

/// JSON for a stored value: a string when it is UTF-8, else `{"base64": "..."}` so binary
/// values survive the trip through JSON.
pub fn value_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => json!({ "base64": base64(bytes) }),
    }
}

/// Standard base64 with padding (RFC 4648), small enough not to need a crate.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Prints one JSON document and a newline to stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Prints text to stdout as is (callers include the newline), surfacing write errors such as
/// a closed pipe instead of panicking like `print!`.
pub fn print_text(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_in_human_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1024), "1.0 KiB");
        assert_eq!(format_bytes(1_258_291), "1.2 MiB");
        assert_eq!(format_bytes(64 * 1024 * 1024), "64.0 MiB");
        assert_eq!(format_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn ttls() {
        assert_eq!(format_ttl(Duration::from_millis(750)), "750ms");
        assert_eq!(format_ttl(Duration::from_millis(29_500)), "29.5s");
        assert_eq!(format_ttl(Duration::from_secs(30)), "30s");
        assert_eq!(format_ttl(Duration::from_millis(599_600)), "10m");
        assert_eq!(format_ttl(Duration::from_secs(599)), "9m59s");
        assert_eq!(format_ttl(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn moments_and_spans() {
        let now = 1_795_255_200_000; // 2026-11-21T10:00:00Z
        assert_eq!(format_moment(now - 120_000, now), "2026-11-21T09:58:00Z (2m ago)");
        assert_eq!(format_moment(now + 180_000, now), "2026-11-21T10:03:00Z (in 3m)");
        assert_eq!(format_moment(now, now), "2026-11-21T10:00:00Z (0s ago)");
        assert_eq!(format_span(5_400_000), "1h30m");
        assert_eq!(format_span(44_600), "45s");
    }

    #[test]
    fn rates() {
        assert_eq!(format_rate(0, 0), "-");
        assert_eq!(format_rate(7, 1), "87.5%");
        assert_eq!(format_rate(1, 0), "100.0%");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn binary_values_become_base64() {
        assert_eq!(value_json(b"hi"), json!("hi"));
        assert_eq!(value_json(&[0xff, 0x00]), json!({ "base64": "/wA=" }));
    }

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(&["NAME", "HITS", "NOTE"]).align(2, Align::Left);
        table.push(vec!["a".into(), "1".into(), "x".into()]);
        table.push(vec!["longer".into(), "12345".into()]);
        let expected = "NAME     HITS  NOTE\n\
                        a           1  x\n\
                        longer  12345\n";
        assert_eq!(table.render(), expected);
    }
}
