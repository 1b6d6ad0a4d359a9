//! `pressure_status`, `pressure_check` and `schedule_list`: the pressure monitor's state and
//! the scheduled clears, read from their owners.

use cachemgr_proto::{ErrorKind, ResponseBody};

use super::error;
use crate::context::DaemonContext;

/// The monitor's readings, thresholds, trigger states and last actions.
pub fn status(state: &DaemonContext) -> ResponseBody {
    match state.pressure.get() {
        Some(monitor) => ResponseBody::Pressure(Box::new(monitor.info(&state.config()))),
        None => error(ErrorKind::Unavailable, "the pressure monitor is not running"),
    }
}

/// One check now; it acts like a timed check unless `pressure.enabled` is false (then it only
/// reads).
pub async fn check(state: &DaemonContext) -> ResponseBody {
    match state.pressure.get() {
        Some(monitor) => {
            let act = state.config().pressure.enabled;
            ResponseBody::Pressure(Box::new(monitor.check(state, act).await))
        }
        None => error(ErrorKind::Unavailable, "the pressure monitor is not running"),
    }
}

/// Every namespace's clear schedule.
pub fn schedules(state: &DaemonContext) -> ResponseBody {
    match state.clear_schedule.get() {
        Some(schedule) => ResponseBody::Schedules { schedules: schedule.list(&state.config()) },
        None => error(
            ErrorKind::Unavailable,
            "scheduled clears are off: their state file could not be read (see the daemon's log)",
        ),
    }
}
