//! `[pressure]`: when the pressure monitor checks, at which usage it acts and re-arms, and how
//! far stage (a) shrinks the memory layer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Shortest `check_every` accepted: a check reads `/proc` and `statvfs`, cheap but not free.
pub const MIN_CHECK_EVERY: Duration = Duration::from_millis(100);

/// The monitor's settings (read at every check, so a reload applies at the next one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PressureConfig {
    /// Whether the monitor runs at all.
    pub enabled: bool,
    /// Interval between checks.
    #[serde(with = "humantime_serde")]
    pub check_every: Duration,
    /// Memory used (percent) at or above which the monitor acts.
    pub memory_high: f64,
    /// Memory used (percent) below which it re-arms.
    pub memory_low: f64,
    /// Disk used (percent, fullest watched file system) at or above which it acts.
    pub disk_high: f64,
    /// Disk used (percent) below which it re-arms.
    pub disk_low: f64,
    /// Stage (a) shrinks each namespace's memory layer to this percentage of the bytes it
    /// holds when the stage runs (by eviction, each by its own policy).
    pub shrink_to: f64,
}

impl Default for PressureConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            check_every: Duration::from_secs(5),
            memory_high: 85.0,
            memory_low: 75.0,
            disk_high: 90.0,
            disk_low: 80.0,
            shrink_to: 50.0,
        }
    }
}

impl PressureConfig {
    /// Checks ranges; `Err((key, reason))` names the offending key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, reason: String| Err((format!("pressure.{key}"), reason));
        if self.check_every < MIN_CHECK_EVERY {
            return bad("check_every", "must be at least 100ms".into());
        }
        for (high_key, high, low_key, low) in [
            ("memory_high", self.memory_high, "memory_low", self.memory_low),
            ("disk_high", self.disk_high, "disk_low", self.disk_low),
        ] {
            for (key, value) in [(high_key, high), (low_key, low)] {
                if !(value > 0.0 && value <= 100.0) {
                    return bad(key, format!("{value} is not a percentage above 0 and up to 100"));
                }
            }
            if low >= high {
                return bad(
                    low_key,
                    format!(
                        "{low} must be below {high_key} ({high}), or the monitor never re-arms"
                    ),
                );
            }
        }
        if !(0.0..100.0).contains(&self.shrink_to) {
            return bad(
                "shrink_to",
                format!("{} is not a percentage from 0 to below 100", self.shrink_to),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_low_at_or_above_high_and_out_of_range_values() {
        assert!(PressureConfig::default().validate().is_ok());
        let low_high = PressureConfig { memory_low: 85.0, ..PressureConfig::default() };
        let (key, reason) = low_high.validate().unwrap_err();
        assert_eq!(key, "pressure.memory_low");
        assert!(reason.contains("below memory_high"), "{reason}");
        let disk = PressureConfig { disk_high: 100.5, ..PressureConfig::default() };
        assert_eq!(disk.validate().unwrap_err().0, "pressure.disk_high");
        let fast =
            PressureConfig { check_every: Duration::from_millis(10), ..PressureConfig::default() };
        assert_eq!(fast.validate().unwrap_err().0, "pressure.check_every");
        let floats =
            PressureConfig { memory_high: 2.5, memory_low: 0.5, ..PressureConfig::default() };
        assert!(floats.validate().is_ok());
    }
}
