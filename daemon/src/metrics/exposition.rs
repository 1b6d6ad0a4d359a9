//! The Prometheus text exposition format (version 0.0.4), written by hand: families of
//! samples, each with its `# HELP` and `# TYPE` line, label values and help text escaped as
//! the format requires. Knows nothing of the daemon; `render` fills it.

use std::fmt::Write as _;

/// The `Content-Type` of an exposition, as scrapers expect it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metric types this daemon exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only grows (resets when the daemon restarts); its name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A sample value: integers stay exact (a u64 counter past 2^53 would lose digits as a
/// float), floats are for ratios and seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An exact count.
    Int(u64),
    /// A ratio, a duration in seconds, or +Inf.
    Float(f64),
}

impl From<u64> for Value {
    fn from(value: u64) -> Self {
        Value::Int(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Float(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Int(u64::from(value))
    }
}

/// One sample: its labels (name, unescaped value) and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    labels: Vec<(&'static str, String)>,
    value: Value,
}

/// A metric family: one name, one type, one help line, any number of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: Vec<Sample>,
}

impl Family {
    /// An empty family; a family that stays empty is left out of the exposition.
    pub fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Family { name, help, kind, samples: Vec::new() }
    }

    /// Adds a sample with these labels.
    pub fn push(&mut self, labels: &[(&'static str, &str)], value: impl Into<Value>) {
        let labels = labels.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
        self.samples.push(Sample { labels, value: value.into() });
    }

    /// The family with one unlabelled sample, for daemon-wide values.
    pub fn single(
        name: &'static str,
        kind: Kind,
        help: &'static str,
        value: impl Into<Value>,
    ) -> Self {
        let mut family = Family::new(name, kind, help);
        family.push(&[], value);
        family
    }
}

/// The exposition of `families`, in order, skipping empty ones; ends with a newline.
pub fn write(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
        for sample in &family.samples {
            out.push_str(family.name);
            if !sample.labels.is_empty() {
                out.push('{');
                for (i, (name, value)) in sample.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{name}=\"{}\"", escape_label(value));
                }
                out.push('}');
            }
            out.push(' ');
            out.push_str(&format_value(sample.value));
            out.push('\n');
        }
    }
    out
}

/// A label value: backslash, double quote and line feed are escaped (`\\`, `\"`, `\n`).
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Help text: backslash and line feed are escaped (a quote needs no escape there).
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Integers as they are; floats in Rust's shortest round-trip form (never an exponent, which
/// the format would accept anyway), infinities and NaN spelled as the format wants them.
fn format_value(value: Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Float(f) if f.is_nan() => "NaN".to_owned(),
        Value::Float(f) if f == f64::INFINITY => "+Inf".to_owned(),
        Value::Float(f) if f == f64::NEG_INFINITY => "-Inf".to_owned(),
        Value::Float(f) => f.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_help_type_and_escaped_labels() {
        let mut hits = Family::new("x_hits_total", Kind::Counter, "Hits, per \\ layer.\nMore.");
        hits.push(&[("namespace", "a\"b\\c\nd"), ("layer", "memory")], 3u64);
        let empty = Family::new("x_unused", Kind::Gauge, "Never filled.");
        let ratio = Family::single("x_ratio", Kind::Gauge, "A ratio.", 0.25);
        let text = write(&[hits, empty, ratio]);
        assert_eq!(
            text,
            "# HELP x_hits_total Hits, per \\\\ layer.\\nMore.\n\
             # TYPE x_hits_total counter\n\
             x_hits_total{namespace=\"a\\\"b\\\\c\\nd\",layer=\"memory\"} 3\n\
             # HELP x_ratio A ratio.\n\
             # TYPE x_ratio gauge\n\
             x_ratio 0.25\n"
        );
    }

    #[test]
    fn values_keep_integers_exact_and_spell_special_floats() {
        assert_eq!(format_value(Value::Int(u64::MAX)), "18446744073709551615");
        assert_eq!(format_value(Value::Float(f64::INFINITY)), "+Inf");
        assert_eq!(format_value(Value::Float(f64::NEG_INFINITY)), "-Inf");
        assert_eq!(format_value(Value::Float(f64::NAN)), "NaN");
        assert_eq!(format_value(Value::Float(1.5)), "1.5");
        assert_eq!(format_value(Value::Float(1e-7)), "0.0000001");
        assert_eq!(format_value(true.into()), "1");
    }
}
