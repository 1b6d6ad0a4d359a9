//! Arguments of `cachectl run`, the command memoizer.

use std::ffi::OsString;
use std::time::Duration;

use clap::Args;

use crate::parse::{parse_duration, parse_interval};

/// `cachectl run --ttl 10m [options] -- CMD ARGS...`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// How long a result stays fresh.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub ttl: Duration,
    /// Namespace of the results [default: your private namespace, user:<your uid>].
    #[arg(long, value_name = "NS")]
    pub ns: Option<String>,
    /// Key of the result, used as given (--cwd and --env then do not change it) [default:
    /// `run:` and a hash of the command line, plus the working directory and variables asked
    /// for with --cwd and --env].
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Make the value of this environment variable part of the key (repeatable).
    #[arg(long = "env", value_name = "VAR")]
    pub env: Vec<String>,
    /// Make the working directory part of the key.
    #[arg(long)]
    pub cwd: bool,
    /// Past its TTL, a result is still replayed at once for this long while the command
    /// runs again in the background to refresh it [default when given without a value: 1d;
    /// put the command after `--`].
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "1d",
          value_parser = parse_duration)]
    pub stale_while_revalidate: Option<Duration>,
    /// Cache results of a failing command (non-zero exit) too.
    #[arg(long)]
    pub cache_failures: bool,
    /// Run in the background to refresh a stale result (set by `run` itself).
    #[arg(long, hide = true)]
    pub refresh_only: bool,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true,
          value_name = "CMD", value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,
}
