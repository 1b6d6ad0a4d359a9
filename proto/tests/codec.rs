//! Framing and request decoding at the edges: the cap, empty frames, malformed bodies with and
//! without a readable id, split and pipelined frames, and a roundtrip property.

use bytes::{BufMut, BytesMut};
use cachemgr_proto::codec::LENGTH_PREFIX_BYTES;
use cachemgr_proto::{
    decode_request, encode_frame, CodecError, DecodeError, MessageCodec, Request, RequestBody,
    Response, ServerCodec, SetCondition, DEFAULT_MAX_FRAME_BYTES, UNSOLICITED_ID,
};
use proptest::prelude::*;
use serde::Serialize;
use serde_bytes::ByteBuf;
use tokio_util::codec::{Decoder, Encoder};

/// A prefix alone, announcing `len` body bytes.
fn prefix(len: u32) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_u32(len);
    buf
}

/// `message` as a complete frame, named MessagePack as the protocol wants.
fn frame_of<T: Serialize>(message: &T) -> BytesMut {
    let mut buf = BytesMut::new();
    encode_frame(message, &mut buf, DEFAULT_MAX_FRAME_BYTES).expect("encodable");
    buf
}

/// Raw bytes as one frame (prefix + body), for bodies that are not a `Request`.
fn raw_frame(body: &[u8]) -> BytesMut {
    let mut buf = prefix(u32::try_from(body.len()).unwrap());
    buf.extend_from_slice(body);
    buf
}

fn ping(id: u64) -> Request {
    Request { id, body: RequestBody::Ping {} }
}

#[test]
fn over_the_cap_is_refused_from_the_prefix_alone() {
    // Only the 4 prefix bytes have arrived: the codec must refuse without waiting for (or
    // buffering) the announced body.
    let mut codec = ServerCodec::new(1024);
    let mut src = prefix(1025);
    match codec.decode(&mut src) {
        Err(CodecError::FrameTooLarge { len: 1025, max: 1024 }) => {}
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }

    let mut codec = ServerCodec::new(DEFAULT_MAX_FRAME_BYTES);
    let announced = DEFAULT_MAX_FRAME_BYTES as u32 + 1;
    match codec.decode(&mut prefix(announced)) {
        Err(CodecError::FrameTooLarge { len, max }) => {
            assert_eq!((len, max), (announced as usize, DEFAULT_MAX_FRAME_BYTES));
        }
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }

    // The largest length prefix is refused too, not treated as a wrapped/negative number.
    match ServerCodec::new(DEFAULT_MAX_FRAME_BYTES).decode(&mut prefix(u32::MAX)) {
        Err(CodecError::FrameTooLarge { .. }) => {}
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }

    // The client side refuses the same way.
    let mut client = MessageCodec::<Request, Response>::new(1024);
    assert!(matches!(client.decode(&mut prefix(4096)), Err(CodecError::FrameTooLarge { .. })));
}

#[test]
fn the_cap_is_inclusive_and_a_partial_frame_waits() {
    let mut codec = ServerCodec::new(1024);
    // Exactly the cap, body not here yet: no error, just "need more bytes".
    let mut src = prefix(1024);
    assert!(matches!(codec.decode(&mut src), Ok(None)));
    // Fewer than 4 bytes: nothing can be said yet.
    let mut src = BytesMut::from(&[0u8, 0][..]);
    assert!(matches!(codec.decode(&mut src), Ok(None)));
}

#[test]
fn encoding_over_the_cap_fails_and_leaves_the_buffer_untouched() {
    let big = Request {
        id: 9,
        body: RequestBody::Set {
            ns: "big".into(),
            key: "k".into(),
            value: ByteBuf::from(vec![0xab; 2048]),
            ttl_ms: None,
            condition: SetCondition::Always,
        },
    };
    let mut dst = frame_of(&ping(1));
    let before = dst.clone();
    match encode_frame(&big, &mut dst, 1024) {
        Err(CodecError::FrameTooLarge { len, max: 1024 }) => assert!(len > 2048, "{len}"),
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }
    assert_eq!(dst, before, "a refused frame must not leave partial bytes behind");

    let mut codec = ServerCodec::new(1024);
    assert!(matches!(
        Encoder::<&Request>::encode(&mut codec, &big, &mut BytesMut::new()),
        Err(CodecError::FrameTooLarge { .. })
    ));
}

#[test]
fn the_length_prefix_is_big_endian_and_excludes_itself() {
    let frame = frame_of(&ping(2));
    let len = u32::from_be_bytes(frame[..LENGTH_PREFIX_BYTES].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - LENGTH_PREFIX_BYTES);
    // {"id": 2, "body": {"ping": {}}}
    assert_eq!(&frame[..], b"\x00\x00\x00\x11\x82\xa2id\x02\xa4body\x81\xa4ping\x80", "ping frame");
}

#[test]
fn an_empty_frame_is_an_error_the_connection_survives() {
    let mut codec = ServerCodec::new(1024);
    let mut src = prefix(0);
    src.extend_from_slice(&frame_of(&ping(3)));
    match codec.decode(&mut src) {
        Ok(Some(Err(DecodeError::Empty))) => {}
        other => panic!("expected Empty, got {other:?}"),
    }
    assert_eq!(DecodeError::Empty.reply_id(), UNSOLICITED_ID);
    // The next frame is read normally.
    assert_eq!(codec.decode(&mut src).unwrap(), Some(Ok(ping(3))));
    assert!(src.is_empty());
    assert_eq!(decode_request(&[]), Err(DecodeError::Empty));
}

#[test]
fn a_wrong_shape_with_a_readable_id_is_answered_under_that_id() {
    #[derive(Serialize)]
    struct Envelope<B> {
        id: u64,
        body: B,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Bogus {
        Frobnicate {},
    }
    #[derive(Serialize)]
    struct SetWithoutKey {
        set: NsOnly,
    }
    #[derive(Serialize)]
    struct NsOnly {
        ns: &'static str,
    }

    let cases: Vec<(BytesMut, &str)> = vec![
        (frame_of(&Envelope { id: 7, body: Bogus::Frobnicate {} }), "unknown variant `frobnicate`"),
        (
            frame_of(&Envelope { id: 7, body: SetWithoutKey { set: NsOnly { ns: "a" } } }),
            "missing field `key`",
        ),
        (frame_of(&Envelope { id: 7, body: "ping" }), "expected struct variant"),
        // rmp_serde reads a bare integer as a variant index, so a small one names a real
        // (struct) variant and fails differently; 200 is past every variant.
        (frame_of(&Envelope { id: 7, body: 200u8 }), "integer `200`"),
    ];
    for (frame, expected) in cases {
        let mut src = frame;
        match ServerCodec::new(1024).decode(&mut src) {
            Ok(Some(Err(err @ DecodeError::Malformed { id: Some(7), .. }))) => {
                assert_eq!(err.reply_id(), 7);
                assert!(err.to_string().contains(expected), "{err} should mention {expected:?}");
            }
            other => panic!("expected Malformed with id 7, got {other:?}"),
        }
    }
}

#[test]
fn bytes_without_a_readable_id_are_malformed_with_no_id() {
    let bodies: [&[u8]; 5] = [
        &[0xc1, 0x13, 0x37],                        // 0xc1 is never used in MessagePack
        &[0xde, 0xad, 0xbe, 0xef],                  // map16 announcing far more than follows
        b"\x07",                                    // a bare integer
        b"\x81\xa4body\x81\xa4ping\x80",            // {"body": {"ping": {}}}: no id
        b"\x82\xa2id\xa17\xa4body\x81\xa4ping\x80", // {"id": "7", ...}: id is a string
    ];
    for body in bodies {
        let mut src = raw_frame(body);
        match ServerCodec::new(1024).decode(&mut src) {
            Ok(Some(Err(err @ DecodeError::Malformed { id: None, .. }))) => {
                assert_eq!(err.reply_id(), UNSOLICITED_ID);
            }
            other => panic!("{body:02x?}: expected Malformed without id, got {other:?}"),
        }
        assert!(src.is_empty(), "the bad frame is consumed whole");
    }
}

#[test]
fn frames_split_anywhere_and_pipelined_decode_in_order() {
    let requests: Vec<Request> = (1..=5)
        .map(|id| Request {
            id,
            body: RequestBody::Get { ns: "sessions".into(), key: format!("user:{id}") },
        })
        .collect();
    let mut stream = BytesMut::new();
    for request in &requests {
        stream.extend_from_slice(&frame_of(request));
    }

    // All at once.
    let mut codec = ServerCodec::new(1024);
    let mut src = stream.clone();
    for expected in &requests {
        assert_eq!(codec.decode(&mut src).unwrap(), Some(Ok(expected.clone())));
    }
    assert_eq!(codec.decode(&mut src).unwrap(), None);

    // One byte at a time.
    let mut codec = ServerCodec::new(1024);
    let mut src = BytesMut::new();
    let mut decoded = Vec::new();
    for byte in stream.iter() {
        src.put_u8(*byte);
        while let Some(item) = codec.decode(&mut src).unwrap() {
            decoded.push(item.unwrap());
        }
    }
    assert_eq!(decoded, requests);
}

/// Regression: the cap check once peeked at the front of the buffer for a prefix even while a
/// body was half-read, so any frame arriving in several reads (every frame over ~8 KiB on a
/// real socket) was refused as a multi-gigabyte "frame too large".
#[test]
fn a_large_frame_arriving_in_pieces_is_not_mistaken_for_an_oversized_one() {
    let request = Request {
        id: 11,
        body: RequestBody::Set {
            ns: "blobs".into(),
            key: "big".into(),
            value: ByteBuf::from(vec![0x5a; 64 * 1024]),
            ttl_ms: Some(1_000),
            condition: SetCondition::Always,
        },
    };
    let mut stream = frame_of(&request);
    stream.extend_from_slice(&frame_of(&ping(12)));
    let mut codec = ServerCodec::new(DEFAULT_MAX_FRAME_BYTES);
    let mut src = BytesMut::new();
    let mut decoded = Vec::new();
    for chunk in stream.chunks(4096) {
        src.extend_from_slice(chunk);
        while let Some(item) = codec.decode(&mut src).expect("no framing error") {
            decoded.push(item.expect("a request"));
        }
    }
    assert_eq!(decoded, vec![request, ping(12)]);

    // The same on the client side, with a response.
    let response = Response {
        id: 11,
        body: cachemgr_proto::ResponseBody::Value {
            value: Some(ByteBuf::from(vec![0x82; 50_000])),
        },
    };
    let stream = frame_of(&response);
    let mut codec = MessageCodec::<Request, Response>::new(DEFAULT_MAX_FRAME_BYTES);
    let mut src = BytesMut::new();
    let mut got = None;
    for chunk in stream.chunks(1000) {
        src.extend_from_slice(chunk);
        if let Some(decoded) = codec.decode(&mut src).expect("no framing error") {
            got = Some(decoded);
        }
    }
    assert_eq!(got, Some(response));
}

#[test]
fn an_oversized_prefix_after_a_good_frame_or_split_in_two_is_refused() {
    let mut codec = ServerCodec::new(1024);
    let mut src = frame_of(&ping(1));
    src.extend_from_slice(&[0x00, 0x01]);
    assert_eq!(codec.decode(&mut src).unwrap(), Some(Ok(ping(1))));
    assert!(matches!(codec.decode(&mut src), Ok(None)), "half a prefix: wait");
    src.extend_from_slice(&[0x00, 0x00]); // 0x00010000 = 65536 > 1024
    match codec.decode(&mut src) {
        Err(CodecError::FrameTooLarge { len: 65_536, max: 1024 }) => {}
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }
}

fn condition() -> impl Strategy<Value = SetCondition> {
    prop_oneof![
        Just(SetCondition::Always),
        Just(SetCondition::IfAbsent),
        Just(SetCondition::IfPresent)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn set_roundtrips_through_encode_frame_and_the_server_codec(
        id in any::<u64>(),
        ns in "[A-Za-z0-9_.:-]{1,128}",
        key in any::<String>(),
        value in proptest::collection::vec(any::<u8>(), 0..2048),
        ttl_ms in any::<Option<u64>>(),
        condition in condition(),
        split in any::<prop::sample::Index>(),
    ) {
        let request = Request {
            id,
            body: RequestBody::Set { ns, key, value: ByteBuf::from(value), ttl_ms, condition },
        };
        let mut src = BytesMut::new();
        encode_frame(&request, &mut src, DEFAULT_MAX_FRAME_BYTES).unwrap();
        let announced = u32::from_be_bytes(src[..4].try_into().unwrap()) as usize;
        prop_assert_eq!(announced, src.len() - LENGTH_PREFIX_BYTES);

        // Delivered in two reads split anywhere, as a socket may.
        let split = split.index(src.len() + 1);
        let mut rest = src.split_off(split);
        let mut codec = ServerCodec::new(DEFAULT_MAX_FRAME_BYTES);
        let first = codec.decode(&mut src).unwrap();
        let decoded = match first {
            Some(decoded) => decoded,
            None => {
                src.unsplit(std::mem::take(&mut rest));
                codec.decode(&mut src).unwrap().expect("a whole frame is buffered")
            }
        };
        prop_assert_eq!(decoded, Ok(request));
        prop_assert!(src.is_empty() && rest.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_server_codec(
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut src = raw_frame(&body);
        let decoded = ServerCodec::new(1024).decode(&mut src).unwrap();
        prop_assert!(decoded.is_some());
        prop_assert!(src.is_empty());
    }
}

#[test]
fn trailing_bytes_after_a_request_are_refused() {
    let request = cachemgr_proto::Request { id: 4, body: cachemgr_proto::RequestBody::Ping {} };
    let mut frame = rmp_serde::to_vec_named(&request).expect("encode");
    frame.extend_from_slice(&[0x80]);
    match cachemgr_proto::decode_request(&frame) {
        Err(cachemgr_proto::DecodeError::Malformed { id: Some(4), message }) => {
            assert!(message.contains("1 bytes after the end"), "{message}");
        }
        other => panic!("expected a trailing-bytes error, got {other:?}"),
    }
}
