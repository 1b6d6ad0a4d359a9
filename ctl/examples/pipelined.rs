//! Many calls in flight on one connection: a thousand writes, then a thousand reads, each
//! batch issued concurrently and answered by id. Compare with one call at a time.
//! Run with a daemon up: `cargo run --release -p cachectl --example pipelined`.

use std::time::Instant;

use cachectl::{default_socket_path, Client, ClientError, SetCondition};
use futures_util::future::try_join_all;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ClientError> {
    let client = Client::connect(default_socket_path(), "example-pipelined/1.0").await?;
    let keys: Vec<String> = (0..1000).map(|i| format!("item:{i}")).collect();

    let started = Instant::now();
    try_join_all(keys.iter().map(|key| {
        client.set("examples", key, key.as_bytes().to_vec(), None, SetCondition::Always)
    }))
    .await?;
    let values = try_join_all(keys.iter().map(|key| client.get("examples", key))).await?;
    let pipelined = started.elapsed();
    assert!(values.iter().all(Option::is_some));

    let started = Instant::now();
    for key in &keys {
        client.get("examples", key).await?;
    }
    let one_by_one = started.elapsed();
    println!("2000 pipelined calls: {pipelined:?}; 1000 sequential reads: {one_by_one:?}");
    client.delete("examples", &keys).await?;
    Ok(())
}
