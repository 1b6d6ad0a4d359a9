//! Measures how long a change made on one daemon is still served by another daemon that
//! shares the namespace through Redis: the staleness bound `docs/scaling.md` documents.
//!
//! For each round: B reads the key (so B holds a memory copy), A writes a new value, and B
//! is polled until it answers the new value; the time from A's acknowledgement to B's
//! first fresh answer is one sample. Prints p50, p99 and max.
//!
//! Usage: `cargo run --release --example staleness_bound -- A_SOCKET B_SOCKET NS [ROUNDS]`

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use cachectl::{Client, SetCondition};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b, ns, rest @ ..] = args.as_slice() else {
        bail!("usage: staleness_bound A_SOCKET B_SOCKET NS [ROUNDS]");
    };
    let rounds: usize = rest.first().map_or(Ok(1000), |n| n.parse()).context("ROUNDS")?;
    let a = Client::connect(a, "staleness-a").await?;
    let b = Client::connect(b, "staleness-b").await?;
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let key = format!("staleness:{}", round % 16);
        b.get(ns, &key).await?;
        let value = format!("v{round}").into_bytes();
        a.set(ns, &key, value.clone(), None, SetCondition::Always).await?;
        let written = Instant::now();
        loop {
            if b.get(ns, &key).await?.as_deref() == Some(value.as_slice()) {
                samples.push(written.elapsed());
                break;
            }
            if written.elapsed() > Duration::from_secs(10) {
                bail!("round {round}: B still served the old value after 10 s");
            }
        }
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "rounds {rounds}: stale for p50 {:?}, p99 {:?}, max {:?} after the writer's ack",
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
    Ok(())
}
