//! A tiny stand-in for cachemgrd, so the client library and the CLI can be tested for
//! routing, errors and exit codes before (and independently of) the real daemon.
//!
//! Behaviour of `get` by key: `slow` is answered only after the next request (out of order),
//! `unsolicited` gets no answer but an id-0 error, `hangup` closes the connection, `missing`
//! answers nil, anything else answers the key's bytes. `info` answers `done` (a wrong variant).

#![allow(dead_code)]

use std::path::PathBuf;

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

async fn serve(stream: Stream) {
    let mut framed = Framed::new(stream, ServerCodec::new(DEFAULT_MAX_FRAME_BYTES));
    let mut held: Option<Response> = None;
    while let Some(Ok(request)) = framed.next().await {
        let Ok(Request { id, body }) = request else {
            return;
        };
        let response = match body {
            RequestBody::Hello { protocol, .. } if protocol == PROTOCOL_VERSION => {
                let peer = PeerIdentity { uid: 1, gid: 2, pid: 3 };
                reply(
                    id,
                    ResponseBody::Welcome {
                        protocol,
                        server_version: "mock".into(),
                        peer,
                        max_frame_bytes: 16 << 20,
                    },
                )
            }
            RequestBody::Hello { protocol, .. } => Response::error(
                id,
                ErrorKind::UnsupportedProtocol,
                format!("client speaks {protocol}, mock speaks {PROTOCOL_VERSION}"),
            ),
            RequestBody::Ping {} => reply(id, ResponseBody::Pong {}),
            RequestBody::Info {} => reply(id, ResponseBody::Done {}),
            RequestBody::Set { .. } => reply(id, ResponseBody::Stored { stored: true }),
            RequestBody::Delete { keys, .. } => {
                reply(id, ResponseBody::Count { count: keys.len() as u64 })
            }
            RequestBody::Get { key, .. } => match key.as_str() {
                "slow" => {
                    held =
                        Some(reply(id, ResponseBody::Value { value: Some(ByteBuf::from("slow")) }));
                    continue;
                }
                "unsolicited" => Response::error(UNSOLICITED_ID, ErrorKind::Malformed, "garbled"),
                "hangup" => return,
                "missing" => reply(id, ResponseBody::Value { value: None }),
                other => reply(id, ResponseBody::Value { value: Some(ByteBuf::from(other)) }),
            },
            other => Response::error(
                id,
                ErrorKind::InvalidArgument,
                format!("mock does not support {}", other.name()),
            ),
        };
        if framed.send(response).await.is_err() {
            return;
        }
        if let Some(late) = held.take() {
            if framed.send(late).await.is_err() {
                return;
            }
        }
    }
}
