//! Samples of `metrics` and its answer: the Prometheus text travels as one str.

use cachemgr_proto::{Request, RequestBody, Response, ResponseBody};

use super::{req, resp};

pub fn requests() -> Vec<(&'static str, Request)> {
    vec![("request_metrics", req(93, RequestBody::Metrics {}))]
}

pub fn responses() -> Vec<(&'static str, Response)> {
    // A short but real exposition: HELP and TYPE lines, labels with an escaped quote, a
    // backslash and a newline, and the trailing newline every exposition ends with.
    let text = "# HELP cachemgr_hits_total Reads that found a live value, per layer.\n\
                # TYPE cachemgr_hits_total counter\n\
                cachemgr_hits_total{namespace=\"web\",layer=\"memory\"} 3\n\
                # HELP cachemgr_app_backups Backups stored.\n\
                # TYPE cachemgr_app_backups gauge\n\
                cachemgr_app_backups{app=\"say \\\"hi\\\" \\\\ \\n\"} 2\n";
    vec![("response_metrics", resp(93, ResponseBody::Metrics { text: text.to_owned() }))]
}
