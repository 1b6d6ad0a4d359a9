//! Print every change of one namespace as it happens (like `cachectl watch NS`), telling
//! when events were missed because we read too slowly.
//! Run with a daemon up: `cargo run -p cachectl --example subscribe -- web`, then change
//! something: `cachectl set web k v`.

use cachectl::{default_socket_path, Client, ClientError, Notice, SubscribeOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ClientError> {
    let ns = std::env::args().nth(1);
    let client = Client::connect(default_socket_path(), "example-subscribe/1.0").await?;
    let what = SubscribeOptions { ns, values: true, ..SubscribeOptions::default() };
    let mut changes = client.subscribe(what).await?;
    println!("subscribed (queue of {} events); Ctrl-C to stop", changes.queue());
    while let Some(notice) = changes.next().await? {
        match notice {
            Notice::Event(event) => println!(
                "#{} {} {} {}",
                event.seq,
                event.kind.as_str(),
                event.ns.as_deref().unwrap_or("-"),
                event.key.as_deref().unwrap_or("-")
            ),
            Notice::Missed(count) => println!("(missed {count} events)"),
        }
    }
    println!("the daemon closed the stream");
    Ok(())
}
