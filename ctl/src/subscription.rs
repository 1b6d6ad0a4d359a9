//! Change notifications: a [`Subscription`] is a connection of its own that the daemon turns
//! into a stream of events (protocol section 6.53).
//!
//! It reads one frame per [`Subscription::next`], so a consumer that stops reading stops the
//! socket: the daemon then drops events for this subscriber alone and tells it how many with
//! [`Notice::Missed`]. Nothing piles up in this process.

use std::path::Path;

use cachemgr_proto::{
    Event, EventKind, KeyPattern, MessageCodec, Request, RequestBody, Response, ResponseBody,
};
use futures_util::{SinkExt, StreamExt};
use interprocess::local_socket::tokio::Stream;
use tokio_util::codec::Framed;

use crate::client::{handshake_answer, ClientOptions};
use crate::error::ClientError;
use crate::socket::connect_stream;

/// What to hear about; the default is every change the caller may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeOptions {
    /// Only this namespace's events (and then no app or pressure events).
    pub ns: Option<String>,
    /// Only events whose key matches (events without a key, like `clear`, always pass).
    pub pattern: Option<KeyPattern>,
    /// Only these kinds.
    pub kinds: Option<Vec<EventKind>>,
    /// Let `set` events carry the value written (up to 64 KiB).
    pub values: bool,
    /// How many events may wait for this subscriber; `None` = the daemon's default.
    pub queue: Option<u32>,
}

/// One item of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A change.
    Event(Event),
    /// This many events were dropped here because this subscriber read too slowly.
    Missed(u64),
}

type Conn = Framed<Stream, MessageCodec<Request, Response>>;

/// The request id of the subscribe (the only request on its connection).
const SUBSCRIBE_ID: u64 = 2;

/// A live subscription; dropping it closes its connection and ends it.
#[derive(Debug)]
pub struct Subscription {
    conn: Conn,
    queue: u32,
}

impl Subscription {
    /// Connects to the daemon at `path`, shakes hands and subscribes.
    pub async fn open(
        path: impl AsRef<Path>,
        options: &ClientOptions,
        what: SubscribeOptions,
    ) -> Result<Self, ClientError> {
        let stream = connect_stream(path.as_ref()).await?;
        let mut conn = Framed::new(stream, MessageCodec::new(options.max_frame_bytes));
        let hello = RequestBody::Hello {
            protocol: cachemgr_proto::PROTOCOL_VERSION,
            client: options.client_name.clone(),
        };
        let greet = async {
            conn.send(Request { id: 1, body: hello }).await?;
            handshake_answer(read(&mut conn).await?.body)
        };
        match options.handshake_timeout {
            Some(limit) => tokio::time::timeout(limit, greet)
                .await
                .map_err(|_| ClientError::HandshakeTimeout(limit))??,
            None => greet.await?,
        };
        let body = RequestBody::Subscribe {
            ns: what.ns,
            pattern: what.pattern,
            kinds: what.kinds,
            values: what.values,
            queue: what.queue,
        };
        let op = body.name();
        conn.send(Request { id: SUBSCRIBE_ID, body }).await?;
        match read(&mut conn).await?.body {
            ResponseBody::Subscribed { queue } => Ok(Self { conn, queue }),
            ResponseBody::Error { kind, message } => Err(ClientError::Daemon { kind, message }),
            other => Err(crate::ops::unexpected(op, "subscribed", &other)),
        }
    }

    /// The queue length the daemon granted.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// The next notice; `Ok(None)` once the daemon closed the stream (it stopped).
    pub async fn next(&mut self) -> Result<Option<Notice>, ClientError> {
        loop {
            let Some(frame) = self.conn.next().await else { return Ok(None) };
            let response = frame?;
            match response.body {
                ResponseBody::Event { event } => return Ok(Some(Notice::Event(*event))),
                ResponseBody::Missed { count } => return Ok(Some(Notice::Missed(count))),
                ResponseBody::Error { kind, message } => {
                    return Err(ClientError::Daemon { kind, message })
                }
                // Answers this version does not know yet are skipped (protocol section 13).
                _ => continue,
            }
        }
    }
}

async fn read(conn: &mut Conn) -> Result<Response, ClientError> {
    match conn.next().await {
        Some(frame) => Ok(frame?),
        None => Err(ClientError::Disconnected {
            reason: "cachemgrd closed the connection during the subscribe".into(),
        }),
    }
}
