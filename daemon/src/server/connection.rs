//! One client connection: handshake, then read requests, answer each under its id.
//!
//! Requests are answered in order. Responses are queued while more requests are already
//! buffered and flushed when the client's input runs dry, so a pipelining client gets its
//! answers in few writes. A frame that is not a request is answered with an error and the
//! connection goes on; a frame over the cap is answered and the connection closed (its
//! body was never read, so the stream cannot be resynchronised).

use std::sync::Arc;
use std::time::Duration;

use cachemgr_proto::codec::CodecError;
use cachemgr_proto::{
    DecodeError, ErrorKind, PeerIdentity, Request, RequestBody, Response, ResponseBody,
    ServerCodec, PROTOCOL_VERSION, UNSOLICITED_ID,
};
use futures_util::{FutureExt, SinkExt, StreamExt};
use interprocess::local_socket::tokio::Stream;
use tokio_util::codec::Framed;

use super::peer::PeerCredentials;
use super::subscription;
use crate::access::{Caller, Refusal, Slot, SlotRefusal};
use crate::config::Config;
use crate::context::DaemonContext;
use crate::handlers::{self, Reply};

/// While draining, a connection closes once its client has been quiet this long.
const DRAIN_IDLE: Duration = Duration::from_millis(250);

/// Responses queued before a flush is forced even if more requests are buffered.
const MAX_BATCH: usize = 256;

/// One object for both directions: requests are handled one after another, so reading and
/// writing never need to run at the same time.
pub(super) type Conn = Framed<Stream, ServerCodec>;
type Frame = Result<Result<Request, DecodeError>, CodecError>;

/// Whether the connection goes on after a frame.
#[derive(PartialEq, Eq)]
enum Next {
    Continue,
    Close,
}

/// Serves one connection to the end, as the caller whose `creds` the kernel gave at accept;
/// `_slot` holds its place under the connection limits.
pub async fn serve(stream: Stream, state: Arc<DaemonContext>, creds: PeerCredentials, _slot: Slot) {
    let _counted = state.track_connection();
    let peer = creds.identity;
    tracing::debug!(uid = peer.uid, gid = peer.gid, pid = peer.pid, "connection accepted");
    let config = state.config();
    let resolving = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Caller::resolve(peer, creds.groups, &config))
    };
    let mut conn = Framed::new(stream, ServerCodec::new(config.max_frame()));
    if handshake(&mut conn, config.handshake_timeout, peer, config.max_frame()).await
        == Next::Continue
    {
        let Ok(caller) = resolving.await else {
            tracing::warn!(pid = peer.pid, "the caller's resolution failed; closing");
            return;
        };
        tracing::debug!(pid = peer.pid, admin = caller.admin, "caller resolved");
        serve_requests(&mut conn, &state, &caller).await;
    }
    let _ = SinkExt::<Response>::close(&mut conn).await;
    tracing::debug!(pid = peer.pid, "connection closed");
}

/// Tells a client over a connection limit why it is turned away.
pub async fn refuse_busy(stream: Stream, max_frame: usize, refusal: SlotRefusal) {
    let mut writer = Framed::new(stream, ServerCodec::new(max_frame));
    let message = refusal.to_string();
    tracing::warn!("{message}");
    let _ = writer.send(Response::error(UNSOLICITED_ID, ErrorKind::Unavailable, message)).await;
}

async fn handshake(
    conn: &mut Conn,
    timeout: Duration,
    peer: PeerIdentity,
    max_frame: usize,
) -> Next {
    let frame = match tokio::time::timeout(timeout, conn.next()).await {
        Ok(Some(frame)) => frame,
        Ok(None) => return Next::Close,
        Err(_) => {
            let message =
                format!("no hello within {}; closing", humantime::format_duration(timeout));
            tracing::debug!(pid = peer.pid, "{message}");
            let _ = conn.send(Response::error(UNSOLICITED_ID, ErrorKind::Timeout, message)).await;
            return Next::Close;
        }
    };
    let request = match frame {
        Ok(Ok(request)) => request,
        other => {
            answer_bad_frame(conn, other).await;
            return Next::Close;
        }
    };
    let reply = match request.body {
        RequestBody::Hello { protocol, client } if protocol == PROTOCOL_VERSION => {
            tracing::debug!(pid = peer.pid, client = %client, "handshake accepted");
            let _ = conn
                .send(Response {
                    id: request.id,
                    body: ResponseBody::Welcome {
                        protocol: PROTOCOL_VERSION,
                        server_version: env!("CARGO_PKG_VERSION").to_owned(),
                        peer,
                        max_frame_bytes: max_frame as u64,
                    },
                })
                .await;
            return Next::Continue;
        }
        RequestBody::Hello { protocol, client } => Response::error(
            request.id,
            ErrorKind::UnsupportedProtocol,
            format!(
                "client {client:?} speaks protocol {protocol}, but this cachemgrd {} speaks protocol {PROTOCOL_VERSION}",
                env!("CARGO_PKG_VERSION")
            ),
        ),
        other => Response::error(
            request.id,
            ErrorKind::HandshakeRequired,
            format!("the first request must be hello, got {}", other.name()),
        ),
    };
    let _ = conn.send(reply).await;
    Next::Close
}

async fn serve_requests(conn: &mut Conn, state: &Arc<DaemonContext>, caller: &Caller) {
    let mut draining = false;
    let mut idle = IdleTimer::new(state.config().idle_timeout);
    while let Some(frame) = next_frame(conn, state, &mut draining, &mut idle).await {
        idle.touch();
        let mut next = process(frame, conn, state, caller).await;
        let mut batched = 1;
        while next == Next::Continue && batched < MAX_BATCH {
            let Some(Some(frame)) = conn.next().now_or_never() else {
                break;
            };
            next = process(frame, conn, state, caller).await;
            batched += 1;
        }
        if SinkExt::<Response>::flush(conn).await.is_err() || next == Next::Close {
            return;
        }
        // A long request is not idleness: the quiet time counts from its answer.
        idle.touch();
    }
}

/// The next frame; once the daemon drains, only frames that arrive promptly are served. A
/// client quiet for `idle_timeout` is told so and closed.
async fn next_frame(
    conn: &mut Conn,
    state: &DaemonContext,
    draining: &mut bool,
    idle: &mut IdleTimer,
) -> Option<Frame> {
    if !*draining {
        let limit = state.config().idle_timeout;
        tokio::select! {
            biased;
            frame = conn.next() => return frame,
            _ = state.shutdown.cancelled() => *draining = true,
            () = idle.expired(limit) => {
                let message = format!(
                    "no request for {}; closing (idle_timeout)",
                    humantime::format_duration(limit)
                );
                tracing::debug!("{message}");
                let _ = conn.send(Response::error(UNSOLICITED_ID, ErrorKind::Timeout, message)).await;
                return None;
            }
        }
    }
    tokio::time::timeout(DRAIN_IDLE, conn.next()).await.ok().flatten()
}

/// When a connection has been quiet too long, with one timer per quiet period rather than
/// one per request: a request only notes the time, and the timer, when it fires early, is
/// moved to the last request plus the limit.
struct IdleTimer {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    last: tokio::time::Instant,
}

impl IdleTimer {
    fn new(limit: Duration) -> IdleTimer {
        IdleTimer { sleep: Box::pin(tokio::time::sleep(limit)), last: tokio::time::Instant::now() }
    }

    fn touch(&mut self) {
        self.last = tokio::time::Instant::now();
    }

    /// Resolves once nothing was noted for `limit` (read each time: a reload applies).
    async fn expired(&mut self, limit: Duration) {
        loop {
            self.sleep.as_mut().await;
            let due = self.last + limit;
            if tokio::time::Instant::now() >= due {
                return;
            }
            self.sleep.as_mut().reset(due);
        }
    }
}

async fn process(
    frame: Frame,
    writer: &mut Conn,
    state: &Arc<DaemonContext>,
    caller: &Caller,
) -> Next {
    let request = match frame {
        Ok(Ok(request)) => request,
        other => return answer_bad_frame(writer, other).await,
    };
    let id = request.id;
    let config = state.config();
    if let Err(refusal) = authorize(state, caller, &request.body, &config) {
        return match writer.feed(Response { id, body: refusal }).await {
            Ok(()) => Next::Continue,
            Err(_) => Next::Close,
        };
    }
    let body = match handlers::dispatch(state, caller, request.body).await {
        Reply::Now(body) => body,
        Reply::Stream(progress) => match stream_progress(id, progress, writer).await {
            Some(last) => last,
            None => return Next::Close,
        },
        Reply::Subscribe(args) => match subscription::start(state, caller, args) {
            Ok(events) => {
                subscription::stream(writer, id, events, state).await;
                return Next::Close;
            }
            Err(refusal) => refusal,
        },
    };
    let body = crate::access::filter::visible(caller, &config, body);
    match writer.feed(Response { id, body }).await {
        Ok(()) => Next::Continue,
        Err(CodecError::FrameTooLarge { len, max }) => {
            let message = format!(
                "the response of {len} bytes exceeds the maximum frame size of {max} bytes; ask for fewer or smaller values"
            );
            match writer.feed(Response::error(id, ErrorKind::TooLarge, message)).await {
                Ok(()) => Next::Continue,
                Err(_) => Next::Close,
            }
        }
        Err(err) => {
            tracing::debug!("cannot answer request {id}: {err}");
            Next::Close
        }
    }
}

/// The access check of one request; a refusal is the error body to answer with.
fn authorize(
    state: &DaemonContext,
    caller: &Caller,
    body: &RequestBody,
    config: &Config,
) -> Result<(), ResponseBody> {
    let owner_of = |name: &str| {
        let apps = state.apps.as_ref()?;
        Some(apps.record(name).ok().map(|app| app.owner_uid))
    };
    crate::access::check(caller, body, config, owner_of).map_err(|refusal| {
        let (kind, message) = match refusal {
            Refusal::Denied(message) => (ErrorKind::PermissionDenied, message),
            Refusal::ReadOnly(message) => (ErrorKind::PermissionDenied, message),
            Refusal::NoSuchApp(message) => (ErrorKind::InvalidArgument, message),
            Refusal::BadPath(message) => (ErrorKind::InvalidArgument, message),
        };
        tracing::info!(
            uid = caller.peer.uid,
            pid = caller.peer.pid,
            request = body.name(),
            "refused: {message}"
        );
        ResponseBody::Error { kind, message }
    })
}

/// Sends each `progress` body as it comes (flushed, so the client sees it at once) and
/// returns the terminal body; `None` when the client went away.
async fn stream_progress(
    id: u64,
    mut bodies: tokio::sync::mpsc::Receiver<ResponseBody>,
    writer: &mut Conn,
) -> Option<ResponseBody> {
    while let Some(body) = bodies.recv().await {
        if body.is_terminal() {
            return Some(body);
        }
        writer.send(Response { id, body }).await.ok()?;
    }
    Some(ResponseBody::Error {
        kind: ErrorKind::Internal,
        message: "the operation ended without an answer".to_owned(),
    })
}

/// Answers a frame that is not a request; says whether the stream can go on.
async fn answer_bad_frame(writer: &mut Conn, frame: Frame) -> Next {
    let (response, next) = match frame {
        Ok(Ok(_)) => return Next::Continue,
        Ok(Err(err)) => {
            tracing::debug!("malformed frame: {err}");
            (Response::error(err.reply_id(), ErrorKind::Malformed, err.to_string()), Next::Continue)
        }
        Err(err @ CodecError::FrameTooLarge { .. }) => {
            tracing::debug!("{err}; closing");
            (
                Response::error(UNSOLICITED_ID, ErrorKind::FrameTooLarge, err.to_string()),
                Next::Close,
            )
        }
        Err(err) => {
            tracing::debug!("connection ended: {err}");
            return Next::Close;
        }
    };
    if writer.send(response).await.is_err() {
        return Next::Close;
    }
    next
}
