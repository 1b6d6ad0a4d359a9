//! Metrics: the Prometheus exposition of the daemon's counters and gauges (`render`, from the
//! families of `cache` and `services`, written out by `exposition`). The `metrics` request
//! (`crate::handlers::metrics`) answers it, and, when `metrics_listen` is set, the HTTP
//! endpoint (`crate::server::metrics_http`) serves it to a scraper that cannot speak the
//! socket protocol.

pub mod cache;
pub mod exposition;
pub mod render;
pub mod services;
