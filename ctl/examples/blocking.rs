//! The blocking client, for programs without an async runtime.
//! Run with a daemon up: `cargo run -p cachectl --example blocking`.

use std::time::Duration;

use cachectl::blocking::Client;
use cachectl::{default_socket_path, ClientError, SubscribeOptions};

fn main() -> Result<(), ClientError> {
    let client = Client::connect(default_socket_path(), "example-blocking/1.0")?;
    client.set("examples", "counter", b"1".to_vec(), Some(Duration::from_secs(60)))?;
    println!("counter = {:?}", client.get("examples", "counter")?);

    let squares: Vec<u64> =
        client.get_or_compute("examples", "squares", Duration::from_secs(60), || {
            (1..=10).map(|n| n * n).collect()
        })?;
    println!("squares = {squares:?}");

    // Any async call is available through `run`.
    let stats = client.run(|c| c.pattern_stats("examples", None))?;
    println!("examples holds {} keys", stats.keys);

    let mut changes = client.subscribe(SubscribeOptions::default())?;
    client.set("examples", "counter", b"2".to_vec(), None)?;
    println!("heard: {:?}", changes.next_within(Duration::from_secs(2))?);
    Ok(())
}
