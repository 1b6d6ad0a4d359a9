//! Connect, store, read, and see who the daemon thinks we are.
//! Run with a daemon up: `cargo run -p cachectl --example connect`.

use std::time::Duration;

use cachectl::{default_socket_path, Client, ClientError, SetCondition};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ClientError> {
    let client = Client::connect(default_socket_path(), "example-connect/1.0").await?;
    let welcome = client.welcome();
    println!("cachemgrd {} knows us as uid {}", welcome.server_version, welcome.peer.uid);

    let ttl = Some(Duration::from_secs(60));
    client.set("examples", "greeting", b"hello".to_vec(), ttl, SetCondition::Always).await?;
    let value = client.get("examples", "greeting").await?;
    println!("greeting = {:?}", value.map(String::from_utf8));
    let (exists, left) = client.ttl("examples", "greeting").await?;
    println!("exists: {exists}, expires in {left:?}");
    Ok(())
}
