//! A cached run as stored in the daemon: the output, the exit code and when it was made,
//! MessagePack-encoded with a version so a future layout is recognised, not misread.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Layout version of [`RunRecord`].
const VERSION: u32 = 1;

/// One finished run of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`VERSION`] when written.
    pub version: u32,
    /// The exit code (0–255).
    pub exit_code: i32,
    /// Everything it wrote to stdout.
    pub stdout: ByteBuf,
    /// Everything it wrote to stderr.
    pub stderr: ByteBuf,
    /// When it finished, Unix milliseconds: how fresh the result is.
    pub finished_unix_ms: u64,
}

impl RunRecord {
    /// A record of a run that just finished.
    pub fn new(exit_code: i32, stdout: Vec<u8>, stderr: Vec<u8>, finished_unix_ms: u64) -> Self {
        Self {
            version: VERSION,
            exit_code,
            stdout: ByteBuf::from(stdout),
            stderr: ByteBuf::from(stderr),
            finished_unix_ms,
        }
    }

    /// The bytes to store.
    pub fn encode(&self) -> Vec<u8> {
        // Plain data with no maps keyed by non-strings: encoding cannot fail.
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    /// A stored record; `None` for anything else (another layout, another writer), which the
    /// caller treats as no result.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        rmp_serde::from_slice::<Self>(bytes).ok().filter(|record| record.version == VERSION)
    }

    /// How old the result is at `now_unix_ms`.
    pub fn age_ms(&self, now_unix_ms: u64) -> u64 {
        now_unix_ms.saturating_sub(self.finished_unix_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_binary_output_and_refuses_strangers() {
        let record = RunRecord::new(3, vec![0, 255, b'\n'], b"warn\n".to_vec(), 1_000);
        assert_eq!(RunRecord::decode(&record.encode()), Some(record.clone()));
        assert_eq!(record.age_ms(4_500), 3_500);
        assert_eq!(record.age_ms(10), 0, "a clock step back is not a negative age");
        assert_eq!(RunRecord::decode(b"plain text someone stored"), None);
        let mut future = record;
        future.version = 2;
        assert_eq!(RunRecord::decode(&future.encode()), None);
    }
}
