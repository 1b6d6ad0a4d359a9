//! The daemon's frame decoder and request parser on arbitrary socket bytes.
//!
//! The bytes are decoded twice: all at once, and fed in pieces whose size the first byte picks
//! (as a socket delivers them). Neither may panic, the two must yield the same frames, and the
//! read buffer may never grow past (twice) the input plus one capped frame, whatever a length prefix
//! announces. `decode_request` also runs on the raw bytes as one frame body, where the id
//! scanner must agree with the decoder and every decoded request must have its access entry.

#![no_main]

use bytes::BytesMut;
use cachemgr_proto::{decode_request, CodecError, DecodeError, Request, ServerCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// A small cap, so prefixes just over it are easy to find; the real default is 16 MiB.
const MAX_FRAME: usize = 4096;

/// One decoder step, with errors made comparable.
type Step = Result<Option<Result<Request, DecodeError>>, String>;

fn step(codec: &mut ServerCodec, src: &mut BytesMut) -> Step {
    codec.decode(src).map_err(|err: CodecError| err.to_string())
}

/// Decodes everything in `src` until the codec errors or needs more bytes; the buffer's
/// capacity must stay within `limit`.
fn drain(codec: &mut ServerCodec, src: &mut BytesMut, out: &mut Vec<Step>, limit: usize) -> bool {
    loop {
        let before = src.len();
        let result = step(codec, src);
        assert!(src.capacity() <= limit, "buffer of {} bytes: grew past the cap", src.capacity());
        match result {
            Ok(Some(frame)) => {
                assert!(src.len() < before, "a frame was produced without consuming bytes");
                out.push(Ok(Some(frame)));
            }
            Ok(None) => return true,
            Err(err) => {
                out.push(Err(err));
                return false;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match decode_request(data) {
        // The id scanner (which answers requests too deep or odd to decode) agrees with the
        // decoder wherever the decoder succeeds; and every request has its table entry.
        Ok(request) => {
            assert_eq!(cachemgr_proto::scan::request_id(data), Some(request.id));
            let access = request.body.access();
            assert!(access.named_paths().count() <= 2);
        }
        Err(DecodeError::Malformed { id: Some(id), .. }) => {
            assert_eq!(cachemgr_proto::scan::request_id(data), Some(id));
        }
        Err(_) => {}
    }

    // What the input and one capped frame may take, with room for doubling growth.
    let limit = 2 * (data.len() + MAX_FRAME) + 64;
    let mut whole = Vec::new();
    let mut src = BytesMut::from(data);
    drain(&mut ServerCodec::new(MAX_FRAME), &mut src, &mut whole, limit);

    let piece = usize::from(data.first().copied().unwrap_or(0) % 16) + 1;
    let mut pieces = Vec::new();
    let mut codec = ServerCodec::new(MAX_FRAME);
    let mut src = BytesMut::new();
    for bytes in data.chunks(piece) {
        src.extend_from_slice(bytes);
        if !drain(&mut codec, &mut src, &mut pieces, limit) {
            break;
        }
    }
    assert_eq!(whole, pieces, "decoding in pieces differs from decoding at once");
});
