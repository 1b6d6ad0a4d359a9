//! Arguments of `cachectl pressure` and `cachectl schedule`.

use clap::Subcommand;

/// Subcommands of `cachectl pressure` (none = `status`).
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum PressureCommand {
    /// Show readings, thresholds, trigger states and the last actions (the default).
    Status,
    /// Run one check now (acting if a high mark is reached), then show the state.
    Check,
}

/// Subcommands of `cachectl schedule`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum ScheduleCommand {
    /// Each namespace's scheduled clear: interval, time of day, last and next run.
    List,
}
