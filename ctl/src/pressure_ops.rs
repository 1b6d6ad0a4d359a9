//! Typed helpers on [`Client`] for the pressure monitor and the scheduled clears.

use cachemgr_proto::{ClearScheduleInfo, PressureInfo, RequestBody, ResponseBody};

use crate::client::Client;
use crate::error::ClientError;
use crate::ops::unexpected;

impl Client {
    /// The pressure monitor's readings, thresholds, trigger states and last actions.
    pub async fn pressure_status(&self) -> Result<PressureInfo, ClientError> {
        expect!(self, RequestBody::PressureStatus {}, "pressure",
            ResponseBody::Pressure(info) => *info)
    }

    /// Runs one pressure check now (acting when a threshold is crossed); returns the state
    /// after it.
    pub async fn pressure_check(&self) -> Result<PressureInfo, ClientError> {
        expect!(self, RequestBody::PressureCheck {}, "pressure",
            ResponseBody::Pressure(info) => *info)
    }

    /// Every namespace's scheduled clear, sorted by namespace.
    pub async fn schedule_list(&self) -> Result<Vec<ClearScheduleInfo>, ClientError> {
        expect!(self, RequestBody::ScheduleList {}, "schedules",
            ResponseBody::Schedules { schedules } => schedules)
    }
}
