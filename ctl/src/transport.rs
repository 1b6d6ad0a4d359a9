//! The pipelining engine under [`crate::Client`]: one writer task that batches encoded frames
//! onto the socket, one reader task that routes each response to its caller by id.
//!
//! Requests are encoded by the caller (so an oversized request fails alone, without touching
//! the connection) and queued to the writer; the caller then waits on a `oneshot` registered
//! under the request's id. When the connection ends, every waiting call is failed with
//! [`ClientError::Disconnected`] and later calls fail at once with the same reason.
//!
//! Progress: every response is terminal except `progress`. A call made with
//! [`Transport::call_with_progress`] registers a channel instead of a `oneshot`; each
//! `progress` under its id is forwarded to it and the first terminal response completes it.
//! A plain call ignores `progress` responses and stays pending until its terminal one, so the
//! single-response path pays only for a variant check.
//!
//! Unsolicited errors (id [`UNSOLICITED_ID`]): the daemon sends them for a frame it could not
//! read an id from, so one of the calls in flight will never be answered, and we cannot tell
//! which. Every call in flight at that moment is therefore failed with that
//! [`ClientError::Daemon`] error (none is left hanging); the connection itself stays usable
//! unless the daemon closes it, in which case the close reason mentions the error.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use cachemgr_proto::{
    encode_frame, ErrorKind, MessageCodec, Request, RequestBody, Response, ResponseBody,
    UNSOLICITED_ID,
};
use futures_util::StreamExt;
use interprocess::local_socket::tokio::Stream;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio_util::codec::FramedRead;

use crate::error::ClientError;

/// Upper bound on how many queued bytes the writer coalesces into one `write`.
const MAX_WRITE_BATCH: usize = 256 * 1024;

/// What a call waits on: one answer, or a stream of progress ended by the answer.
enum Reply {
    /// A single-response call; `progress` responses are not passed on.
    Once(oneshot::Sender<Result<ResponseBody, ClientError>>),
    /// A call that wants every `progress` before its terminal response.
    Progress(mpsc::UnboundedSender<Result<ResponseBody, ClientError>>),
}

impl Reply {
    /// Completes the call (the receiver may be gone if the caller gave up; nothing to do then).
    fn finish(self, result: Result<ResponseBody, ClientError>) {
        match self {
            Reply::Once(reply) => {
                let _ = reply.send(result);
            }
            Reply::Progress(reply) => {
                let _ = reply.send(result);
            }
        }
    }
}

/// State shared by the callers and the reader/writer tasks.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Calls waiting for their response, by request id.
    pending: HashMap<u64, Reply>,
    /// Set once the connection is unusable; the text every later call fails with.
    closed: Option<String>,
    /// The last unsolicited error, to explain a close that follows it.
    last_unsolicited: Option<(ErrorKind, String)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update; the map is still
        // structurally valid, and failing every later call would be worse.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a waiting call, unless the connection has already closed.
    fn register(&self, id: u64, reply: Reply) -> Result<(), ClientError> {
        let mut state = self.lock();
        if let Some(reason) = &state.closed {
            return Err(ClientError::Disconnected { reason: reason.clone() });
        }
        state.pending.insert(id, reply);
        Ok(())
    }

    fn forget(&self, id: u64) {
        self.lock().pending.remove(&id);
    }

    fn closed_error(&self) -> ClientError {
        let reason = self.lock().closed.clone();
        ClientError::Disconnected {
            reason: reason.unwrap_or_else(|| "connection closed".to_owned()),
        }
    }

    /// Routes one response to its caller (see the module doc for id 0).
    fn deliver(&self, response: Response) {
        if response.id == UNSOLICITED_ID {
            if let ResponseBody::Error { kind, message } = response.body {
                let mut state = self.lock();
                for (_, reply) in state.pending.drain() {
                    reply.finish(Err(ClientError::Daemon { kind, message: message.clone() }));
                }
                state.last_unsolicited = Some((kind, message));
            }
            return;
        }
        if response.body.is_terminal() {
            let reply = self.lock().pending.remove(&response.id);
            if let Some(reply) = reply {
                reply.finish(Ok(response.body));
            }
        } else if let Some(Reply::Progress(reply)) = self.lock().pending.get(&response.id) {
            // Unbounded and non-blocking, so sending under the lock cannot stall the reader.
            let _ = reply.send(Ok(response.body));
        }
        // A `progress` for a single-response call (or a call no longer waiting) is dropped.
    }

    /// Marks the connection closed and fails every waiting call; the first reason wins.
    fn close(&self, reason: String) {
        let mut state = self.lock();
        if state.closed.is_some() {
            return;
        }
        let reason = match &state.last_unsolicited {
            Some((kind, message)) => {
                format!("{reason} (after the daemon reported {kind}: {message})")
            }
            None => reason,
        };
        for (_, reply) in state.pending.drain() {
            reply.finish(Err(ClientError::Disconnected { reason: reason.clone() }));
        }
        state.closed = Some(reason);
    }
}

/// Removes a call's registration if its future is dropped before the answer arrives.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.forget(self.id);
    }
}

/// One connection: the handle callers use to send requests and await their responses.
pub(crate) struct Transport {
    shared: Arc<Shared>,
    frames: mpsc::UnboundedSender<Bytes>,
    next_id: AtomicU64,
    max_frame_bytes: usize,
    reader: AbortHandle,
}

impl Transport {
    /// Spawns the reader and writer tasks on the current tokio runtime.
    pub(crate) fn start(stream: Stream, max_frame_bytes: usize) -> Self {
        let stream = Arc::new(stream);
        let shared = Arc::new(Shared::default());
        let (frames, queue) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(Half(Arc::clone(&stream)), queue, Arc::clone(&shared)));
        let reader = tokio::spawn(read_loop(Half(stream), max_frame_bytes, Arc::clone(&shared)));
        Self {
            shared,
            frames,
            next_id: AtomicU64::new(UNSOLICITED_ID + 1),
            max_frame_bytes,
            reader: reader.abort_handle(),
        }
    }

    /// Sends one request and waits for its terminal response, whatever its variant.
    pub(crate) async fn call(&self, body: RequestBody) -> Result<ResponseBody, ClientError> {
        let (id, frame) = self.encode(body)?;
        let (reply, answer) = oneshot::channel();
        self.shared.register(id, Reply::Once(reply))?;
        let _guard = PendingGuard { shared: &self.shared, id };
        if self.frames.send(frame).is_err() {
            return Err(self.shared.closed_error());
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(self.shared.closed_error()),
        }
    }

    /// Sends one request, hands every `progress` response to `on_progress` as it arrives, and
    /// returns the terminal response (an `error` included, as [`Transport::call`] does).
    pub(crate) async fn call_with_progress(
        &self,
        body: RequestBody,
        mut on_progress: impl FnMut(&ResponseBody),
    ) -> Result<ResponseBody, ClientError> {
        let (id, frame) = self.encode(body)?;
        let (reply, mut answers) = mpsc::unbounded_channel();
        self.shared.register(id, Reply::Progress(reply))?;
        let _guard = PendingGuard { shared: &self.shared, id };
        if self.frames.send(frame).is_err() {
            return Err(self.shared.closed_error());
        }
        while let Some(answer) = answers.recv().await {
            match answer {
                Ok(body) if !body.is_terminal() => on_progress(&body),
                other => return other,
            }
        }
        Err(self.shared.closed_error())
    }

    /// A fresh id and the request's frame; an oversized request fails here, alone.
    fn encode(&self, body: RequestBody) -> Result<(u64, Bytes), ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = BytesMut::new();
        encode_frame(&Request { id, body }, &mut frame, self.max_frame_bytes)?;
        Ok((id, frame.freeze()))
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        // The reader holds half of the socket; stop it so the connection actually closes.
        // The writer stops by itself once the queue's sender (ours) is gone.
        self.reader.abort();
    }
}

async fn write_loop(
    mut half: Half,
    mut queue: mpsc::UnboundedReceiver<Bytes>,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        let written = if queue.is_empty() {
            half.write_all(&first).await
        } else {
            batch.clear();
            batch.extend_from_slice(&first);
            while batch.len() < MAX_WRITE_BATCH {
                match queue.try_recv() {
                    Ok(frame) => batch.extend_from_slice(&frame),
                    Err(_) => break,
                }
            }
            half.write_all(&batch).await
        };
        if let Err(err) = written {
            shared.close(format!("cannot write to cachemgrd: {err}"));
            return;
        }
    }
}

async fn read_loop(half: Half, max_frame_bytes: usize, shared: Arc<Shared>) {
    let mut responses =
        FramedRead::new(half, MessageCodec::<Request, Response>::new(max_frame_bytes));
    let reason = loop {
        match responses.next().await {
            Some(Ok(response)) => shared.deliver(response),
            Some(Err(err)) => break format!("cannot read from cachemgrd: {err}"),
            None => break "connection closed by cachemgrd".to_owned(),
        }
    };
    shared.close(reason);
}

/// One side of the shared stream; `&Stream` reads and writes concurrently without a lock.
struct Half(Arc<Stream>);

impl AsyncRead for Half {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Half {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_shutdown(cx)
    }
}
