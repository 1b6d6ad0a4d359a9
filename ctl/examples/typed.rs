//! Typed values through serde, and `get_or_compute` in front of a slow function.
//! Run with a daemon up: `cargo run -p cachectl --example typed` (twice: the second run is
//! served from the cache).

use std::time::Duration;

use cachectl::{default_socket_path, Client, ClientError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Forecast {
    city: String,
    celsius: Vec<f32>,
}

async fn slow_forecast(city: &str) -> Forecast {
    tokio::time::sleep(Duration::from_secs(1)).await; // a remote API in real life
    Forecast { city: city.to_owned(), celsius: vec![11.5, 12.0, 9.5] }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ClientError> {
    let client = Client::connect(default_socket_path(), "example-typed/1.0").await?;
    let started = std::time::Instant::now();
    let forecast: Forecast = client
        .get_or_compute("examples", "forecast:oslo", Duration::from_secs(300), || {
            slow_forecast("oslo")
        })
        .await?;
    println!("{forecast:?} in {:?}", started.elapsed());

    client.set_value("examples", "forecast:bergen", &forecast, None).await?;
    let back: Option<Forecast> = client.get_value("examples", "forecast:bergen").await?;
    println!("read back: {back:?}");
    Ok(())
}
