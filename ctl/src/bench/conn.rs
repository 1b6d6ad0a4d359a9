//! One benchmark connection: a raw framed socket (no client-library routing, so the numbers
//! measure the daemon), pre-encoded request frames with the key patched in place, and a
//! write-batch / read-batch loop like redis-benchmark's.

use std::cell::RefCell;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use bytes::BytesMut;
use cachectl::{connect_stream, ClientError, CLIENT_NAME};
use cachemgr_proto::codec::FrameCodec;
use cachemgr_proto::{
    encode_frame, ErrorKind, MessageCodec, Request, RequestBody, Response, ResponseBody,
    DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use hdrhistogram::Histogram;
use interprocess::local_socket::tokio::Stream;
use serde_bytes::ByteBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Decoder;

use super::reply::{Reply, ReplyBody};
use crate::cli::BenchTest;

/// Digits of the random part of a key (`key:000000012345`), as redis-benchmark does, so
/// every frame of a test has the same length and the key can be overwritten in place.
const KEY_DIGITS: usize = 12;

/// Placeholder the template is encoded with, then searched for and overwritten.
const KEY_PLACEHOLDER: &str = "key:############";

/// Id of every benchmark request: responses are counted per batch, not matched by id.
const BENCH_ID: u64 = 2;

/// A pre-encoded request frame and where its key digits are.
#[derive(Debug, Clone)]
pub struct Template {
    frame: Vec<u8>,
    digits_at: Option<usize>,
}

impl Template {
    /// Encodes the request of `test` once; keys are filled in per request later.
    pub fn new(test: BenchTest, ns: &str, value_bytes: usize) -> Result<Self> {
        let key = KEY_PLACEHOLDER.to_owned();
        let body = match test {
            BenchTest::Set => RequestBody::Set {
                ns: ns.to_owned(),
                key,
                value: ByteBuf::from(vec![b'x'; value_bytes]),
                ttl_ms: None,
                condition: Default::default(),
            },
            BenchTest::Get => RequestBody::Get { ns: ns.to_owned(), key },
            BenchTest::Ping => RequestBody::Ping {},
        };
        let mut frame = BytesMut::new();
        encode_frame(&Request { id: BENCH_ID, body }, &mut frame, DEFAULT_MAX_FRAME_BYTES)
            .context("cannot encode the benchmark request")?;
        let digits_at = frame
            .windows(KEY_PLACEHOLDER.len())
            .position(|window| window == KEY_PLACEHOLDER.as_bytes())
            .map(|at| at + KEY_PLACEHOLDER.len() - KEY_DIGITS);
        if test != BenchTest::Ping && digits_at.is_none() {
            bail!("internal error: key placeholder not found in the encoded request");
        }
        Ok(Self { frame: frame.to_vec(), digits_at })
    }
}

/// xorshift64*: deterministic and cheap, enough to spread keys over the keyspace.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for client number `index`; never seeded with 0 (a fixed point).
    pub fn new(index: u64) -> Self {
        let mixed = index.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        Self((0x9E37_79B9_7F4A_7C15 ^ mixed) | 1)
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Writes `n` as zero-padded decimal into `out` (its length is the width).
fn write_digits(out: &mut [u8], mut n: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// How a connection picks the key of each request.
#[derive(Debug, Clone)]
pub enum KeyChoice {
    /// Uniformly at random below the keyspace.
    Random {
        /// The generator.
        rng: XorShift,
        /// Keys are below this.
        keyspace: u64,
    },
    /// Consecutive keys from a start, so a run writes exactly `requests` distinct keys.
    Sequential {
        /// The next key number.
        next: u64,
    },
}

impl KeyChoice {
    fn next_key(&mut self) -> u64 {
        match self {
            KeyChoice::Random { rng, keyspace } => rng.next_u64() % *keyspace,
            KeyChoice::Sequential { next } => {
                *next += 1;
                *next - 1
            }
        }
    }
}

/// What one connection saw during one test.
#[derive(Debug, Default)]
pub struct ConnResult {
    /// Error responses received.
    pub errors: u64,
    /// The first of them, to show the user.
    pub first_error: Option<(ErrorKind, String)>,
}

/// One benchmark connection after its handshake.
pub struct BenchConn {
    stream: Stream,
    codec: MessageCodec<Request, Response>,
    frames: FrameCodec,
    buffer: BytesMut,
}

impl BenchConn {
    /// Connects and performs the `hello` handshake.
    pub async fn open(path: &Path) -> Result<Self> {
        let stream = connect_stream(path).await?;
        let mut conn = Self {
            stream,
            codec: MessageCodec::new(DEFAULT_MAX_FRAME_BYTES),
            frames: FrameCodec::new(DEFAULT_MAX_FRAME_BYTES),
            buffer: BytesMut::with_capacity(64 * 1024),
        };
        let hello = RequestBody::Hello {
            protocol: PROTOCOL_VERSION,
            client: format!("{CLIENT_NAME} bench"),
        };
        let mut frame = BytesMut::new();
        encode_frame(&Request { id: 1, body: hello }, &mut frame, DEFAULT_MAX_FRAME_BYTES)?;
        (&conn.stream).write_all(&frame).await.context("cannot send hello")?;
        let response = read_response(&conn.stream, &mut conn.codec, &mut conn.buffer).await?;
        match response.body {
            ResponseBody::Welcome { .. } => Ok(conn),
            ResponseBody::Error { kind, message } => {
                Err(ClientError::Daemon { kind, message }.into())
            }
            other => Err(anyhow!("expected welcome, got {}", cachectl::response_name(&other))),
        }
    }

    /// Sends `requests` requests in batches of `pipeline`, recording each response's latency
    /// (from the start of its batch's write) in microseconds.
    pub async fn run(
        &mut self,
        template: &Template,
        requests: u64,
        pipeline: u64,
        keys: &mut KeyChoice,
        histogram: &RefCell<Histogram<u64>>,
    ) -> Result<ConnResult> {
        let Self { stream, frames, buffer, .. } = self;
        let mut result = ConnResult::default();
        let frame_len = template.frame.len();
        let mut batch = Vec::with_capacity(frame_len * usize::try_from(pipeline).unwrap_or(1));
        let mut remaining = requests;
        while remaining > 0 {
            let n = remaining.min(pipeline);
            batch.clear();
            for _ in 0..n {
                let start = batch.len();
                batch.extend_from_slice(&template.frame);
                if let Some(at) = template.digits_at {
                    let digits = &mut batch[start + at..start + at + KEY_DIGITS];
                    write_digits(digits, keys.next_key());
                }
            }
            let sent = Instant::now();
            // Write and read at once: with deep pipelines and big values, writing everything
            // before reading could fill both socket buffers and stall.
            let write = async { (&*stream).write_all(&batch).await.context("cannot send") };
            let read = async {
                for _ in 0..n {
                    let reply = read_reply(stream, frames, buffer).await?;
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    histogram.borrow_mut().saturating_record(micros.max(1));
                    if let ReplyBody::Error(kind, message) = reply.body {
                        result.errors += 1;
                        result.first_error.get_or_insert((kind, message));
                    }
                }
                Ok::<_, anyhow::Error>(())
            };
            tokio::try_join!(write, read)?;
            remaining -= n;
        }
        Ok(result)
    }
}

/// Reads until one whole response frame is buffered, then decodes it.
/// Reads one response frame and decodes only what the benchmark needs.
async fn read_reply(
    stream: &Stream,
    frames: &mut FrameCodec,
    buffer: &mut BytesMut,
) -> Result<Reply> {
    loop {
        if let Some(frame) = frames.decode_frame(buffer)? {
            return rmp_serde::from_slice(&frame).context("cannot decode a response");
        }
        let mut reader = stream;
        if reader.read_buf(buffer).await.context("cannot read from cachemgrd")? == 0 {
            bail!(ClientError::Disconnected { reason: "connection closed by cachemgrd".into() });
        }
    }
}

async fn read_response(
    stream: &Stream,
    codec: &mut MessageCodec<Request, Response>,
    buffer: &mut BytesMut,
) -> Result<Response> {
    loop {
        if let Some(response) = codec.decode(buffer)? {
            return Ok(response);
        }
        let mut reader = stream;
        if reader.read_buf(buffer).await.context("cannot read from cachemgrd")? == 0 {
            bail!(ClientError::Disconnected { reason: "connection closed by cachemgrd".into() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_zero_padded() {
        let mut out = [0u8; 6];
        write_digits(&mut out, 42);
        assert_eq!(&out, b"000042");
    }

    #[test]
    fn template_key_is_patchable() -> Result<()> {
        let template = Template::new(BenchTest::Set, "bench", 3)?;
        let at = template.digits_at.context("no key offset")?;
        let mut frame = template.frame.clone();
        write_digits(&mut frame[at..at + KEY_DIGITS], 7);
        let body = cachemgr_proto::decode_request(&frame[4..]).map(|request| request.body);
        match body {
            Ok(RequestBody::Set { key, value, .. }) => {
                assert_eq!(key, "key:000000000007");
                assert_eq!(value.as_ref(), b"xxx");
            }
            other => panic!("unexpected {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn rng_is_deterministic_and_spreads() {
        let mut a = XorShift::new(0);
        let mut b = XorShift::new(0);
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(XorShift::new(1).next_u64(), first[0]);
    }
}
