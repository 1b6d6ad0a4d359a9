//! `cachectl bench`: redis-benchmark for cachemgrd. Opens `-c` connections, then for each test
//! sends `-n` requests spread over them, `-P` at a time per connection, all driven from one
//! thread (the current-thread runtime), and reports throughput and latency percentiles.

mod conn;
mod reply;

use std::cell::RefCell;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Result};
use cachectl::{ClientError, ErrorKind};
use futures_util::future::join_all;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::cli::{BenchArgs, BenchTest};
use crate::output::{print_json, print_text};
use conn::{BenchConn, ConnResult, KeyChoice, Template, XorShift};

/// Longest latency the histogram tracks exactly (60 s, in microseconds); longer ones saturate.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// The result of one test, printed as a line or as one JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `set`, `get` or `ping`.
    pub test: &'static str,
    /// Requests sent.
    pub requests: u64,
    /// Wall time of the test.
    pub seconds: f64,
    /// Requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Connections used.
    pub clients: u32,
    /// Pipeline depth.
    pub pipeline: u32,
    /// Value size of `set`.
    pub value_bytes: usize,
    /// Error responses.
    pub errors: u64,
}

impl BenchReport {
    /// The redis-benchmark style line: `SET: 123456.78 requests per second, p50=...`.
    pub fn line(&self) -> String {
        format!(
            "{}: {:.2} requests per second, p50={:.3} msec, p99={:.3} msec",
            self.test.to_uppercase(),
            self.rps,
            self.p50_ms,
            self.p99_ms
        )
    }
}

fn test_name(test: BenchTest) -> &'static str {
    match test {
        BenchTest::Set => "set",
        BenchTest::Get => "get",
        BenchTest::Ping => "ping",
    }
}

/// Runs every requested test; fails (exit 4) if any request got an error response.
pub async fn run(socket: &Path, args: &BenchArgs, json: bool) -> Result<()> {
    let opened = join_all((0..args.clients).map(|_| BenchConn::open(socket))).await;
    let mut conns = opened.into_iter().collect::<Result<Vec<_>>>()?;
    let mut tests = args.tests.clone();
    tests.dedup();
    let mut reports = Vec::new();
    let mut first_error: Option<(ErrorKind, String)> = None;
    for (index, test) in tests.into_iter().enumerate() {
        let (report, error) = run_test(&mut conns, test, index as u64, args).await?;
        if let Some((kind, message)) = &error {
            eprintln!(
                "{}: {} error responses, first: ({kind}) {message}",
                test_name(test).to_uppercase(),
                report.errors
            );
        }
        if !json {
            print_text(&format!("{}\n", report.line()))?;
        }
        first_error = first_error.or(error);
        reports.push(report);
    }
    if json {
        print_json(&reports)?;
    }
    match first_error {
        None => Ok(()),
        Some((kind, message)) => {
            let failed: u64 = reports.iter().map(|report| report.errors).sum();
            let message = format!("{failed} benchmark requests failed; first error: {message}");
            Err(ClientError::Daemon { kind, message }.into())
        }
    }
}

async fn run_test(
    conns: &mut [BenchConn],
    test: BenchTest,
    test_index: u64,
    args: &BenchArgs,
) -> Result<(BenchReport, Option<(ErrorKind, String)>)> {
    let template = Template::new(test, &args.ns, args.value_bytes)?;
    let histogram = Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
        .map_err(|err| anyhow!("cannot create the latency histogram: {err:?}"))?;
    let histogram = RefCell::new(histogram);
    let clients = conns.len() as u64;
    let per_client = args.requests / clients;
    let extra = args.requests % clients;
    let pipeline = u64::from(args.pipeline);
    let started = Instant::now();
    let runs = conns.iter_mut().enumerate().map(|(index, conn)| {
        let index = index as u64;
        let requests = per_client + u64::from(index < extra);
        let mut keys = if args.sequential {
            KeyChoice::Sequential { next: index * per_client + index.min(extra) }
        } else {
            KeyChoice::Random {
                rng: XorShift::new(index + test_index * clients),
                keyspace: args.keyspace,
            }
        };
        let (template, histogram) = (&template, &histogram);
        async move { conn.run(template, requests, pipeline, &mut keys, histogram).await }
    });
    let results = join_all(runs).await;
    let seconds = started.elapsed().as_secs_f64();
    let results = results.into_iter().collect::<Result<Vec<ConnResult>>>()?;
    let errors = results.iter().map(|result| result.errors).sum();
    let first_error = results.into_iter().find_map(|result| result.first_error);
    let histogram = histogram.into_inner();
    let report = BenchReport {
        test: test_name(test),
        requests: args.requests,
        seconds,
        rps: if seconds > 0.0 { args.requests as f64 / seconds } else { 0.0 },
        p50_ms: histogram.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: histogram.value_at_quantile(0.99) as f64 / 1000.0,
        clients: args.clients,
        pipeline: args.pipeline,
        value_bytes: args.value_bytes,
        errors,
    };
    Ok((report, first_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_looks_like_redis_benchmark() {
        let report = BenchReport {
            test: "set",
            requests: 10,
            seconds: 1.0,
            rps: 123_456.784,
            p50_ms: 0.231,
            p99_ms: 0.511,
            clients: 1,
            pipeline: 1,
            value_bytes: 3,
            errors: 0,
        };
        let expected = "SET: 123456.78 requests per second, p50=0.231 msec, p99=0.511 msec";
        assert_eq!(report.line(), expected);
    }
}
