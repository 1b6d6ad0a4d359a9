//! The client library's multi-response path and the typed key/dump operations, against the
//! mock daemon: progress routed to its call while other pipelined calls are answered on the
//! same connection, a plain call skipping progress, and failures in the middle.

mod common;

use std::path::Path;
use std::time::Duration;

use cachectl::{Client, ClientError, ErrorKind, KeyPattern, Progress, RestoreMode};
use cachemgr_proto::{RequestBody, ResponseBody};
use futures_util::future::join_all;

fn steps(ns: &str) -> Vec<Progress> {
    [0, 25, 50, 75, 100]
        .map(|done| Progress { ns: ns.into(), done, total: 100, unit: None })
        .to_vec()
}

#[tokio::test]
async fn progress_interleaves_with_other_pipelined_answers() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let mut seen = Vec::new();
    // `interleaved` only advances behind other requests: each get answer on the wire is
    // followed by the rotation's next frame, so it cannot finish without them.
    let rotation = client.key_rotate(Some("interleaved"), false, |p| seen.push(p.clone()));
    let gets = join_all((0..12).map(|n| {
        let client = client.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            client.get("ns", &format!("k{n}")).await
        }
    }));
    let (rotated, values) = tokio::join!(rotation, gets);
    let rotated = rotated?;
    assert_eq!(seen, steps("interleaved"));
    assert_eq!(rotated.len(), 1);
    assert_eq!((rotated[0].old_key_id, rotated[0].new_key_id, rotated[0].resealed), (3, 4, 100));
    for (n, value) in values.into_iter().enumerate() {
        assert_eq!(value?, Some(format!("k{n}").into_bytes()));
    }
    Ok(())
}

#[tokio::test]
async fn progress_of_every_namespace_in_order() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let mut seen = Vec::new();
    let rotated = client.key_rotate(None, true, |p| seen.push(p.clone())).await?;
    let mut expected = steps("archive");
    expected.extend(steps("sessions"));
    assert_eq!(seen, expected);
    let names: Vec<&str> = rotated.iter().map(|r| r.ns.as_str()).collect();
    assert_eq!(names, ["archive", "sessions"]);
    assert!(rotated.iter().all(|r| r.cleared == 100 && r.resealed == 0));
    Ok(())
}

#[tokio::test]
async fn a_plain_call_skips_progress_and_waits_for_the_terminal_answer() -> Result<(), ClientError>
{
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let body = RequestBody::KeyRotate { ns: Some("sessions".into()), clear: false };
    let answer = client.call(body.clone()).await?;
    assert!(matches!(answer, ResponseBody::Rotated { ref namespaces } if namespaces.len() == 1));
    let mut progress = 0;
    let answer = client.call_with_progress(body, |_| progress += 1).await?;
    assert!(matches!(answer, ResponseBody::Rotated { .. }));
    assert_eq!(progress, 5);
    client.ping().await?;
    Ok(())
}

#[tokio::test]
async fn failures_of_a_long_request() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;
    let err = client.key_rotate(Some("busy"), false, |_| {}).await.err();
    assert_eq!(err.and_then(|e| e.daemon_kind()), Some(ErrorKind::Busy));

    let mut seen = 0;
    let err = client.key_rotate(Some("hangup"), false, |_| seen += 1).await.err();
    assert_eq!(seen, 1);
    assert!(err.as_ref().is_some_and(ClientError::is_disconnected), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn typed_key_and_dump_operations() -> Result<(), ClientError> {
    let mock = common::start();
    let client = Client::connect(&mock.socket, "test/0").await?;

    let status = client.key_status().await?;
    assert_eq!((status.source.as_str(), status.persistent), ("keyring", true));
    assert_eq!(status.namespaces[1].rotation.map(|r| r.to_key_id), Some(4));

    let report = client.dump(Path::new("rel/x.cmdump"), None, None).await?;
    let expected = std::env::current_dir().expect("cwd").join("rel/x.cmdump");
    assert_eq!(Path::new(&report.path), expected, "relative paths are made absolute");
    let err = client.dump(Path::new("/d/full.cmdump"), Some("ns"), None).await.err();
    assert_eq!(err.and_then(|e| e.daemon_kind()), Some(ErrorKind::Storage));

    let merged = client.restore(Path::new("/d/x"), None, RestoreMode::Merge).await?;
    let replaced = client.restore(Path::new("/d/x"), Some("web"), RestoreMode::Replace).await?;
    assert_eq!((merged.entries, replaced.entries, replaced.namespaces), (3, 5, vec!["web".into()]));
    let err = client.restore(Path::new("/d/corrupt"), None, RestoreMode::Merge).await.err();
    assert_eq!(err.and_then(|e| e.daemon_kind()), Some(ErrorKind::Corrupt));

    let every = Duration::from_secs(60);
    let started = client
        .autodump_start(Path::new("/d/a"), every, Some("web"), Some(KeyPattern::glob("u*")))
        .await?;
    assert_eq!((started.every_ms, started.path.as_deref()), (Some(60_000), Some("/d/a")));
    let changed = client.autodump_change(Some(Duration::from_millis(1500)), None).await?;
    assert_eq!(changed.every_ms, Some(1500));
    assert!(!client.autodump_stop().await?.enabled);
    assert!(client.autodump_status().await?.enabled);
    Ok(())
}
