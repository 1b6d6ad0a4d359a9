//! The client library pipelines: many requests in flight on one connection, each answer
//! routed back to its caller.

use cachemgr_e2e::Daemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_on_one_connection_get_their_own_answers() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let writes = (0..2000).map(|i| {
        let client = client.clone();
        async move {
            client
                .set("pipe", &format!("k{i}"), format!("v{i}").as_bytes(), None, Default::default())
                .await
        }
    });
    for stored in futures_join(writes).await {
        assert!(stored.expect("set"), "stored");
    }
    let reads = (0..2000).map(|i| {
        let client = client.clone();
        async move { (i, client.get("pipe", &format!("k{i}")).await) }
    });
    for (i, value) in futures_join(reads).await {
        assert_eq!(value.expect("get"), Some(format!("v{i}").into_bytes()), "answer for k{i}");
    }
    let info = client.info().await.expect("info");
    assert_eq!(info.connections, 1, "all of it went over one connection");
}

async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}
