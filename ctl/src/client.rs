//! The connection handle programs use: connect, handshake, then any number of concurrent
//! calls over one socket. Typed helpers for each operation live in `ops.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cachemgr_proto::{
    PeerIdentity, RequestBody, ResponseBody, DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use serde::Serialize;

use crate::error::ClientError;
use crate::socket::connect_stream;
use crate::subscription::{SubscribeOptions, Subscription};
use crate::transport::Transport;

/// How long [`Client::connect`] waits for the daemon's `welcome` by default; a daemon that
/// accepts but never answers should not hang a script forever.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection settings beyond the socket path, for callers that need more than the defaults
/// of [`Client::connect`] (tests with small frame caps, slow CI machines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Name sent in `hello` (shows in the daemon's logs), e.g. `cachectl/0.1.0`.
    pub client_name: String,
    /// Largest frame this client sends or accepts.
    pub max_frame_bytes: usize,
    /// Limit on waiting for `welcome`; `None` waits forever (and needs no tokio timer).
    pub handshake_timeout: Option<Duration>,
}

impl ClientOptions {
    /// Default options with the given client name.
    pub fn new(client_name: impl Into<String>) -> Self {
        Self {
            client_name: client_name.into(),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
        }
    }
}

/// What the daemon said when it accepted the handshake; kept so callers can show which daemon
/// they talk to and who the daemon thinks they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Welcome {
    /// The daemon's protocol version (equal to [`PROTOCOL_VERSION`] once connected).
    pub protocol: u32,
    /// The daemon's version string.
    pub server_version: String,
    /// This process as the daemon's kernel sees it.
    pub peer: PeerIdentity,
}

/// A connection to cachemgrd. Cheap to clone: clones share the connection, and calls from
/// any of them are pipelined on it (many requests in flight, answered by id). The connection
/// closes when the last clone is dropped. Must be used inside a tokio runtime.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    welcome: Welcome,
    socket: PathBuf,
    options: ClientOptions,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("socket", &self.inner.socket)
            .field("welcome", &self.inner.welcome)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the daemon's socket and performs the `hello` handshake with default
    /// options; `client_name` is what the daemon logs (e.g. `"myapp/1.2"`).
    pub async fn connect(path: impl AsRef<Path>, client_name: &str) -> Result<Self, ClientError> {
        Self::connect_with(path, ClientOptions::new(client_name)).await
    }

    /// Like [`Client::connect`] with explicit [`ClientOptions`].
    pub async fn connect_with(
        path: impl AsRef<Path>,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let path = path.as_ref();
        let stream = connect_stream(path).await?;
        let transport = Transport::start(stream, options.max_frame_bytes);
        let hello = handshake(&transport, options.client_name.clone());
        let welcome = match options.handshake_timeout {
            Some(limit) => tokio::time::timeout(limit, hello)
                .await
                .map_err(|_| ClientError::HandshakeTimeout(limit))??,
            None => hello.await?,
        };
        let socket = path.to_path_buf();
        Ok(Self { inner: Arc::new(Inner { transport, welcome, socket, options }) })
    }

    /// The daemon's answer to the handshake.
    pub fn welcome(&self) -> &Welcome {
        &self.inner.welcome
    }

    /// The socket path this client connected to, for messages.
    pub fn socket_path(&self) -> &Path {
        &self.inner.socket
    }

    /// Subscribes to changes on a connection of its own (a subscribed connection carries
    /// nothing else), with this client's socket and options. See [`Subscription`].
    pub async fn subscribe(&self, what: SubscribeOptions) -> Result<Subscription, ClientError> {
        Subscription::open(&self.inner.socket, &self.inner.options, what).await
    }

    /// Sends one request and returns its answer; an `Error` answer becomes
    /// [`ClientError::Daemon`], so `Ok` is always a success variant.
    pub async fn call(&self, body: RequestBody) -> Result<ResponseBody, ClientError> {
        match self.call_raw(body).await? {
            ResponseBody::Error { kind, message } => Err(ClientError::Daemon { kind, message }),
            other => Ok(other),
        }
    }

    /// Sends one request and returns the answer untouched, `Error` included; for tests and
    /// tools that want to inspect the exact response.
    pub async fn call_raw(&self, body: RequestBody) -> Result<ResponseBody, ClientError> {
        self.inner.transport.call(body).await
    }

    /// Sends a long request (e.g. `key_rotate`) and calls `on_progress` with each `progress`
    /// response as it arrives, so a caller can show how far it has come; returns the terminal
    /// answer, an `Error` answer becoming [`ClientError::Daemon`] as in [`Client::call`].
    /// Other calls on the same connection go on meanwhile. ([`Client::call`] on such a
    /// request also works: it skips the progress.)
    pub async fn call_with_progress(
        &self,
        body: RequestBody,
        on_progress: impl FnMut(&ResponseBody),
    ) -> Result<ResponseBody, ClientError> {
        match self.inner.transport.call_with_progress(body, on_progress).await? {
            ResponseBody::Error { kind, message } => Err(ClientError::Daemon { kind, message }),
            other => Ok(other),
        }
    }
}

async fn handshake(transport: &Transport, client: String) -> Result<Welcome, ClientError> {
    let hello = RequestBody::Hello { protocol: PROTOCOL_VERSION, client };
    handshake_answer(transport.call(hello).await?)
}

/// Reads the daemon's answer to `hello`: its welcome, or why the connection is refused.
pub(crate) fn handshake_answer(answer: ResponseBody) -> Result<Welcome, ClientError> {
    match answer {
        ResponseBody::Welcome { protocol, server_version, peer, .. } => {
            if protocol != PROTOCOL_VERSION {
                return Err(ClientError::Protocol(format!(
                    "cachemgrd {server_version} welcomed us with protocol {protocol}, \
                     but this client speaks protocol {PROTOCOL_VERSION}"
                )));
            }
            Ok(Welcome { protocol, server_version, peer })
        }
        ResponseBody::Error { kind, message } => Err(ClientError::Daemon { kind, message }),
        other => Err(crate::ops::unexpected("hello", "welcome", &other)),
    }
}
