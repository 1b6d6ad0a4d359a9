//! A tiny stand-in for cachemgrd, so the client library and the CLI can be tested for
//! routing, errors and exit codes before (and independently of) the real daemon.
//!
//! Behaviour of `get` by key: `slow` is answered only after the next request (out of order),
//! `unsolicited` gets no answer but an id-0 error, `hangup` closes the connection, `missing`
//! answers nil, anything else answers the key's bytes. `reload` answers `pong` (a wrong
//! variant). `key_rotate` sends five `progress` frames per namespace (0..=100 of 100), then
//! `rotated`; a step is taken after each other request answered, and after 2 ms without one,
//! except for namespace `interleaved`, which only advances behind other requests (so its
//! progress is interleaved with their answers on the wire). Namespace `busy` is refused as
//! busy, `hangup` closes the connection after the first progress. The other answers are in
//! `answers.rs`, those of the app and backup requests in `apps.rs`.

#![allow(dead_code)]

pub mod answers;
pub mod apps;
// Runs the `cachectl` binary, which only exists with the `cli` feature.
#[cfg(feature = "cli")]
pub mod run;

use std::path::PathBuf;
use std::time::Duration;

use cachemgr_proto::{
    ErrorKind, PeerIdentity, Request, RequestBody, Response, ResponseBody, ServerCodec,
    DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, UNSOLICITED_ID,
};
use futures_util::{SinkExt, StreamExt};
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use serde_bytes::ByteBuf;
use tokio_util::codec::Framed;

/// A running mock daemon; its socket lives in a temp dir removed on drop.
pub struct Mock {
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

/// Starts the mock on the current runtime.
pub fn start() -> Mock {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("mock.sock");
    let name = socket.clone().to_fs_name::<GenericFilePath>().expect("name");
    let listener = ListenerOptions::new().name(name).create_tokio().expect("listen");
    tokio::spawn(async move {
        while let Ok(stream) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    Mock { socket, _dir: dir }
}

fn reply(id: u64, body: ResponseBody) -> Response {
    Response { id, body }
}

/// Progress steps per namespace of a rotation, and the total each reports.
const STEPS: u64 = 4;
const TOTAL: u64 = 100;

/// A key rotation in flight on one connection.
struct Rotation {
    id: u64,
    namespaces: Vec<String>,
    clear: bool,
    /// Progress frames sent so far, over all namespaces.
    sent: u64,
    /// Whether it advances on idle ticks too.
    on_idle: bool,
}

impl Rotation {
    /// The next frame: a progress, or the terminal `rotated` (then the rotation is over).
    fn step(&mut self) -> (Response, bool) {
        let per_ns = STEPS + 1;
        let index = usize::try_from(self.sent / per_ns).unwrap_or(usize::MAX);
        let Some(ns) = self.namespaces.get(index) else {
            return (reply(self.id, answers::rotated(&self.namespaces, self.clear)), true);
        };
        let done = (self.sent % per_ns) * TOTAL / STEPS;
        self.sent += 1;
        (
            reply(
                self.id,
                ResponseBody::Progress { ns: ns.clone(), done, total: TOTAL, unit: None },
            ),
            false,
        )
    }
}

type Conn = Framed<Stream, ServerCodec>;

async fn serve(stream: Stream) {
    let mut framed = Framed::new(stream, ServerCodec::new(DEFAULT_MAX_FRAME_BYTES));
    let mut held: Option<Response> = None;
    let mut rotation: Option<Rotation> = None;
    loop {
        let idle_ticks = rotation.as_ref().is_some_and(|r| r.on_idle);
        let frame = if idle_ticks {
            tokio::select! {
                frame = framed.next() => frame,
                () = tokio::time::sleep(Duration::from_millis(2)) => {
                    if !advance(&mut framed, &mut rotation).await {
                        return;
                    }
                    continue;
                }
            }
        } else {
            framed.next().await
        };
        let Some(Ok(Ok(Request { id, body }))) = frame else {
            return;
        };
        if let Some(frames) = apps::stream(&body) {
            for frame in frames {
                if framed.send(reply(id, frame)).await.is_err() {
                    return;
                }
            }
            continue;
        }
        let response = match body {
            RequestBody::Get { key, .. } if key == "slow" => {
                held = Some(reply(id, ResponseBody::Value { value: Some(ByteBuf::from("slow")) }));
                continue;
            }
            RequestBody::Get { key, .. } if key == "hangup" => return,
            RequestBody::KeyRotate { ns, clear } => match ns.as_deref() {
                Some("busy") => {
                    Response::error(id, ErrorKind::Busy, "namespace \"busy\" is being rotated")
                }
                Some("hangup") => {
                    let mut once = Rotation {
                        id,
                        namespaces: vec!["hangup".into()],
                        clear,
                        sent: 0,
                        on_idle: false,
                    };
                    let _ = framed.send(once.step().0).await;
                    return;
                }
                _ => {
                    let on_idle = ns.as_deref() != Some("interleaved");
                    let namespaces =
                        ns.map_or_else(|| vec!["archive".into(), "sessions".into()], |ns| vec![ns]);
                    rotation = Some(Rotation { id, namespaces, clear, sent: 0, on_idle });
                    if !advance(&mut framed, &mut rotation).await {
                        return;
                    }
                    continue;
                }
            },
            other => answer(id, other),
        };
        if framed.send(response).await.is_err() {
            return;
        }
        if let Some(late) = held.take() {
            if framed.send(late).await.is_err() {
                return;
            }
        }
        if !advance(&mut framed, &mut rotation).await {
            return;
        }
    }
}

/// Sends the next frame of the rotation in flight, if any; false when the connection broke.
async fn advance(framed: &mut Conn, rotation: &mut Option<Rotation>) -> bool {
    let Some(current) = rotation.as_mut() else {
        return true;
    };
    let (frame, finished) = current.step();
    if finished {
        *rotation = None;
    }
    framed.send(frame).await.is_ok()
}

/// The single answer to every request without special timing.
fn answer(id: u64, body: RequestBody) -> Response {
    let body = match body {
        RequestBody::Hello { protocol, .. } if protocol == PROTOCOL_VERSION => {
            let peer = PeerIdentity { uid: 1, gid: 2, pid: 3 };
            ResponseBody::Welcome {
                protocol,
                server_version: "mock".into(),
                peer,
                max_frame_bytes: 16 << 20,
            }
        }
        RequestBody::Hello { protocol, .. } => {
            return Response::error(
                id,
                ErrorKind::UnsupportedProtocol,
                format!("client speaks {protocol}, mock speaks {PROTOCOL_VERSION}"),
            )
        }
        RequestBody::Ping {} => ResponseBody::Pong {},
        RequestBody::Info {} => answers::info(),
        RequestBody::Reload {} => ResponseBody::Pong {},
        RequestBody::Stats { .. } => answers::stats(),
        RequestBody::ListNamespaces {} => answers::namespaces(),
        RequestBody::Set { .. } => ResponseBody::Stored { stored: true },
        RequestBody::Delete { keys, .. } => {
            ResponseBody::Count { count: keys.len() as u64, bytes: None }
        }
        RequestBody::Get { key, .. } => match key.as_str() {
            "unsolicited" => {
                return Response::error(UNSOLICITED_ID, ErrorKind::Malformed, "garbled")
            }
            "missing" => ResponseBody::Value { value: None },
            other => ResponseBody::Value { value: Some(ByteBuf::from(other)) },
        },
        RequestBody::KeyStatus {} => answers::key_status(),
        RequestBody::Dump { path, .. } => return answers::dump(id, path),
        RequestBody::Restore { path, ns, mode } => return answers::restore(id, &path, ns, mode),
        RequestBody::AutodumpStart { path, every_ms, ns, pattern } => {
            answers::autodump(true, Some(path), Some(every_ms), ns, pattern)
        }
        RequestBody::AutodumpChange { every_ms, path } => {
            answers::autodump(true, path, every_ms, None, None)
        }
        RequestBody::AutodumpStop {} => answers::autodump(false, None, None, None, None),
        RequestBody::AutodumpStatus {} => answers::autodump(true, None, None, None, None),
        other => {
            return apps::answer(id, &other).unwrap_or_else(|| {
                Response::error(
                    id,
                    ErrorKind::InvalidArgument,
                    format!("mock does not support {}", other.name()),
                )
            })
        }
    };
    reply(id, body)
}
