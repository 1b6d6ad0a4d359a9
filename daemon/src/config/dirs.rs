//! `[dirs]`: how often the registered cache directories are trimmed to their limits.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The shortest `trim_every` accepted: a trim walks whole trees, so not more often.
pub const MIN_TRIM_EVERY: Duration = Duration::from_secs(1);

/// The `[dirs]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirsConfig {
    /// Time between two scheduled trims of every registered directory.
    #[serde(with = "humantime_serde")]
    pub trim_every: Duration,
}

impl Default for DirsConfig {
    fn default() -> Self {
        Self { trim_every: Duration::from_secs(10 * 60) }
    }
}

impl DirsConfig {
    /// The offending key and why, when a value is out of range.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.trim_every < MIN_TRIM_EVERY {
            return Err(("dirs.trim_every", "must be at least 1s".to_owned()));
        }
        Ok(())
    }
}
