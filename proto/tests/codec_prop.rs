//! Property tests of the frame decoder and request parsing (the same code `fuzz/` fuzzes):
//! streams of arbitrary bytes never panic in any split, valid requests of several shapes
//! round-trip, and a truncated frame is never taken for a request.
//!
//! A flipped byte inside a frame may well be another valid request (MessagePack has no
//! checksum, and the socket is local), so for flips the property is only "no panic, and the
//! frame boundaries stay where the prefix puts them".

use bytes::BytesMut;
use cachemgr_proto::codec::LENGTH_PREFIX_BYTES;
use cachemgr_proto::{
    decode_request, encode_frame, Request, RequestBody, ServerCodec, SetCondition,
    DEFAULT_MAX_FRAME_BYTES,
};
use proptest::prelude::*;
use serde_bytes::ByteBuf;
use tokio_util::codec::Decoder;

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(".{0,24}").expect("valid regex")
}

fn body() -> impl Strategy<Value = RequestBody> {
    prop_oneof![
        Just(RequestBody::Ping {}),
        (any::<u32>(), text())
            .prop_map(|(protocol, client)| RequestBody::Hello { protocol, client }),
        proptest::option::of(text()).prop_map(|ns| RequestBody::Stats { ns }),
        (text(), text()).prop_map(|(ns, key)| RequestBody::Get { ns, key }),
        (text(), proptest::collection::vec(text(), 0..5))
            .prop_map(|(ns, keys)| RequestBody::Delete { ns, keys }),
        (
            text(),
            text(),
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::option::of(any::<u64>()),
            prop_oneof![
                Just(SetCondition::Always),
                Just(SetCondition::IfAbsent),
                Just(SetCondition::IfPresent)
            ],
        )
            .prop_map(|(ns, key, value, ttl_ms, condition)| RequestBody::Set {
                ns,
                key,
                value: ByteBuf::from(value),
                ttl_ms,
                condition,
            }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (any::<u64>(), body()).prop_map(|(id, body)| Request { id, body })
}

fn frame_of(request: &Request) -> BytesMut {
    let mut buf = BytesMut::new();
    encode_frame(request, &mut buf, DEFAULT_MAX_FRAME_BYTES).expect("encodable");
    buf
}

/// Every result the codec gives for `bytes` fed in `piece`-byte steps, until it errors.
fn decode_stream(bytes: &[u8], piece: usize) -> Vec<String> {
    let mut codec = ServerCodec::new(1024);
    let mut src = BytesMut::new();
    let mut out = Vec::new();
    for part in bytes.chunks(piece.max(1)) {
        src.extend_from_slice(part);
        loop {
            match codec.decode(&mut src) {
                Ok(Some(frame)) => out.push(format!("{frame:?}")),
                Ok(None) => break,
                Err(err) => {
                    out.push(format!("error: {err}"));
                    return out;
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_streams_never_panic_and_split_points_do_not_matter(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        piece in 1usize..32,
    ) {
        let _ = decode_request(&bytes);
        prop_assert_eq!(decode_stream(&bytes, bytes.len()), decode_stream(&bytes, piece));
    }

    #[test]
    fn requests_round_trip(requests in proptest::collection::vec(request(), 1..4)) {
        let mut src = BytesMut::new();
        for request in &requests {
            src.extend_from_slice(&frame_of(request));
        }
        let mut codec = ServerCodec::new(DEFAULT_MAX_FRAME_BYTES);
        for request in &requests {
            let decoded = codec.decode(&mut src).expect("framing is intact");
            prop_assert_eq!(decoded, Some(Ok(request.clone())));
        }
        prop_assert!(src.is_empty());
    }

    #[test]
    fn a_truncated_frame_waits_and_a_truncated_body_is_an_error(
        request in request(),
        cut in any::<prop::sample::Index>(),
    ) {
        let frame = frame_of(&request);
        let cut = cut.index(frame.len());
        // Fewer bytes than the frame: the codec waits for the rest, it never decodes.
        let mut src = BytesMut::from(&frame[..cut]);
        prop_assert!(matches!(ServerCodec::new(DEFAULT_MAX_FRAME_BYTES).decode(&mut src), Ok(None)));
        // A body cut short, framed as if complete: refused, never a (different) request.
        let body = &frame[LENGTH_PREFIX_BYTES..];
        let short = &body[..cut.min(body.len() - 1)];
        prop_assert!(decode_request(short).is_err());
    }

    #[test]
    fn a_flipped_byte_never_panics_and_framing_follows_the_prefix(
        request in request(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut frame = frame_of(&request).to_vec();
        let at = at.index(frame.len());
        frame[at] ^= flip;
        let announced = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        let mut src = BytesMut::from(&frame[..]);
        match ServerCodec::new(1 << 20).decode(&mut src) {
            // A frame came out: exactly the announced bytes were taken.
            Ok(Some(_)) => prop_assert_eq!(frame.len() - src.len(), LENGTH_PREFIX_BYTES + announced),
            Ok(None) => prop_assert!(announced > frame.len() - LENGTH_PREFIX_BYTES),
            Err(_) => prop_assert!(announced > 1 << 20),
        }
    }
}
