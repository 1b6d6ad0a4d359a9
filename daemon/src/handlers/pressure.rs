//! `pressure_status`, `pressure_check` and `schedule_list`: the pressure monitor's state and
//! the scheduled clears, read from their owners.

use cachemgr_proto::{ErrorKind, ResponseBody};

use super::error;
use crate::context::DaemonContext;

/// The monitor's readings, thresholds, trigger states and last actions.
pub fn status(state: &DaemonContext) -> ResponseBody {
    ResponseBody::Pressure(Box::new(state.pressure.info(&state.config())))
}

/// One check now; it acts like a timed check unless `pressure.enabled` is false (then it only
/// reads).
pub async fn check(state: &DaemonContext) -> ResponseBody {
    let act = state.config().pressure.enabled;
    ResponseBody::Pressure(Box::new(state.pressure.check(&state.store, act).await))
}

/// Every namespace's clear schedule.
pub fn schedules(state: &DaemonContext) -> ResponseBody {
    match &state.clear_schedule {
        Some(schedule) => ResponseBody::Schedules { schedules: schedule.list(&state.config()) },
        None => error(
            ErrorKind::Unavailable,
            "scheduled clears are off: their state file could not be read (see the daemon's log)",
        ),
    }
}
