//! The client library against a mock daemon: handshake, pipelined routing by id, error
//! mapping, unsolicited errors and disconnects.

mod common;

use std::time::Duration;

use cachectl::{Client, ClientError, ClientOptions, ErrorKind, SetCondition};
use futures_util::future::join_all;

#[tokio::test]
async fn handshake_and_ping() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    assert_eq!(client.welcome().server_version, "mock");
    assert_eq!(client.welcome().peer.gid, 2);
    client.ping().await?;
    Ok(())
}

#[tokio::test]
async fn responses_are_routed_by_id_even_out_of_order() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let (slow, fast) = tokio::join!(client.get("ns", "slow"), client.get("ns", "fast"));
    assert_eq!(slow?.as_deref(), Some(&b"slow"[..]));
    assert_eq!(fast?.as_deref(), Some(&b"fast"[..]));
    Ok(())
}

#[tokio::test]
async fn many_calls_in_flight_from_clones() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let calls = (0..500).map(|n| {
        let client = client.clone();
        async move { client.get("ns", &format!("k{n}")).await }
    });
    for (n, value) in join_all(calls).await.into_iter().enumerate() {
        assert_eq!(value?, Some(format!("k{n}").into_bytes()));
    }
    Ok(())
}

#[tokio::test]
async fn daemon_errors_are_typed() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let err = client.clear("ns").await.err();
    assert_eq!(err.and_then(|e| e.daemon_kind()), Some(ErrorKind::InvalidArgument));
    let err = client.reload().await.err();
    assert!(
        matches!(
            err,
            Some(ClientError::UnexpectedResponse {
                request: "reload",
                expected: "reloaded",
                got: "pong"
            })
        ),
        "{err:?}"
    );
    assert!(client.set("ns", "k", "v", None, SetCondition::Always).await?);
    assert_eq!(client.delete("ns", &["a", "b"]).await?, 2);
    assert_eq!(client.get("ns", "missing").await?, None);
    Ok(())
}

#[tokio::test]
async fn unsolicited_error_fails_pending_calls_but_not_the_connection() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let err = client.get("ns", "unsolicited").await.err();
    assert_eq!(err.and_then(|e| e.daemon_kind()), Some(ErrorKind::Malformed));
    client.ping().await?;
    Ok(())
}

#[tokio::test]
async fn disconnect_fails_pending_and_later_calls() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let err = client.get("ns", "hangup").await.err();
    assert!(err.as_ref().is_some_and(ClientError::is_disconnected), "{err:?}");
    let err = client.ping().await.err();
    assert!(err.as_ref().is_some_and(ClientError::is_disconnected), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn missing_socket_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Client::connect(dir.path().join("none.sock"), "test/0").await.err();
    assert!(err.as_ref().is_some_and(ClientError::is_unreachable), "{err:?}");
}

#[tokio::test]
async fn oversized_request_fails_alone() -> Result<(), ClientError> {
    let mock = common::start();
    let options = ClientOptions {
        max_frame_bytes: 1024,
        handshake_timeout: Some(Duration::from_secs(5)),
        ..ClientOptions::new("test/0")
    };
    let client = Client::connect_with(&mock.socket, options).await?;
    let err = client.set("ns", "k", vec![0u8; 2048], None, SetCondition::Always).await.err();
    assert!(matches!(err, Some(ClientError::Codec(_))), "{err:?}");
    client.ping().await?;
    Ok(())
}
