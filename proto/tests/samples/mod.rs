//! The named samples the fixture files pin: one or more per request and response shape.

mod apps;
mod backups;
mod dirs;
mod events;
mod keys_dumps;
mod metrics;
mod pressure;
mod requests;
mod responses;
pub mod variants;

use cachemgr_proto::{Request, RequestBody, Response, ResponseBody};
use serde_bytes::ByteBuf;

/// Bytes that are not UTF-8 (a lone continuation byte, an invalid lead, a truncated sequence)
/// so that a client decoding values as text instead of `bin` gets caught.
const NOT_UTF8: &[u8] = &[0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0xe2, 0x82];

fn bytes(b: &[u8]) -> ByteBuf {
    ByteBuf::from(b.to_vec())
}

fn req(id: u64, body: RequestBody) -> Request {
    Request { id, body }
}

fn resp(id: u64, body: ResponseBody) -> Response {
    Response { id, body }
}

/// Every request sample, by fixture name.
pub fn requests() -> Vec<(&'static str, Request)> {
    let mut all = requests::core();
    all.extend(keys_dumps::requests());
    all.extend(apps::requests());
    all.extend(backups::requests());
    all.extend(dirs::requests());
    all.extend(pressure::requests());
    all.extend(events::requests());
    all.extend(metrics::requests());
    all
}

/// Every response sample, by fixture name.
pub fn responses() -> Vec<(&'static str, Response)> {
    let mut all = responses::core();
    all.extend(keys_dumps::responses());
    all.extend(apps::responses());
    all.extend(backups::responses());
    all.extend(dirs::responses());
    all.extend(pressure::responses());
    all.extend(events::responses());
    all.extend(metrics::responses());
    all
}
