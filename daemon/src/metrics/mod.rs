//! Metrics: the Prometheus exposition of the daemon's counters and gauges (`render`, from the
//! families of `cache` and `services`, written out by `exposition`), answered to the `metrics`
//! request and, when `metrics_listen` is set, served over HTTP (`http`) for a scraper that
//! cannot speak the socket protocol.

pub mod cache;
pub mod exposition;
pub mod http;
pub mod render;
pub mod services;
