//! A lean view of a response for the benchmark: only whether it is an error.
//!
//! The benchmark shares the machine's cores with the daemon it measures, so it must spend as
//! little as possible per response: it reads the body's variant name and skips the rest
//! (`IgnoredAny`), decoding fields only for an `error`.

use std::fmt;

use cachemgr_proto::ErrorKind;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The part of a response the benchmark needs.
#[derive(Debug, Deserialize)]
pub struct Reply {
    /// Whether the daemon answered with an error (and which).
    pub body: ReplyBody,
}

/// Success of any kind, or an error with its fields.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplyBody {
    /// Any non-error body.
    Ok,
    /// An `error` body.
    Error(ErrorKind, String),
}

#[derive(Deserialize)]
struct ErrorFields {
    kind: ErrorKind,
    message: String,
}

impl<'de> Deserialize<'de> for ReplyBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor;

        impl<'de> Visitor<'de> for BodyVisitor {
            type Value = ReplyBody;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a one-entry map naming the response")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReplyBody, A::Error> {
                let name: &str = map.next_key()?.ok_or_else(|| de::Error::custom("empty body"))?;
                if name == "error" {
                    let fields: ErrorFields = map.next_value()?;
                    Ok(ReplyBody::Error(fields.kind, fields.message))
                } else {
                    map.next_value::<IgnoredAny>()?;
                    Ok(ReplyBody::Ok)
                }
            }
        }

        deserializer.deserialize_map(BodyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use cachemgr_proto::{Response, ResponseBody};

    use super::*;

    fn reply(body: ResponseBody) -> ReplyBody {
        let bytes = rmp_serde::to_vec_named(&Response { id: 2, body }).expect("encode");
        rmp_serde::from_slice::<Reply>(&bytes).expect("decode").body
    }

    #[test]
    fn tells_errors_from_answers() {
        assert_eq!(reply(ResponseBody::Stored { stored: true }), ReplyBody::Ok);
        assert_eq!(reply(ResponseBody::Value { value: None }), ReplyBody::Ok);
        assert_eq!(
            reply(ResponseBody::Error { kind: ErrorKind::TooLarge, message: "big".into() }),
            ReplyBody::Error(ErrorKind::TooLarge, "big".into())
        );
    }
}
