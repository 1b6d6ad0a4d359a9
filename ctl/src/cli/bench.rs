//! Arguments of `cachectl bench`, apart from the cache commands since they describe a load
//! shape rather than an operation.

use clap::{Args, ValueEnum};

/// One benchmark test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchTest {
    /// `set` of a random key.
    Set,
    /// `get` of a random key.
    Get,
    /// `ping`, the protocol floor.
    Ping,
}

/// Arguments of `cachectl bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Parallel connections.
    #[arg(short = 'c', long, default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub clients: u32,
    /// Total requests per test.
    #[arg(short = 'n', long, default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: u64,
    /// Requests sent per round trip on each connection.
    #[arg(short = 'P', long, default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub pipeline: u32,
    /// Value size in bytes for set.
    #[arg(short = 'd', long = "data-size", default_value_t = 3)]
    pub value_bytes: usize,
    /// Comma-separated tests to run.
    #[arg(short = 't', long, value_delimiter = ',', default_value = "set,get")]
    pub tests: Vec<BenchTest>,
    /// Namespace the benchmark writes to.
    #[arg(long, default_value = "bench")]
    pub ns: String,
    /// Keys are `key:<n>` with n random below this.
    #[arg(long, default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    pub keyspace: u64,
    /// Use consecutive keys (each client its own range) instead of random ones, so a `set`
    /// run of N requests writes exactly N distinct keys (to measure memory per entry).
    #[arg(long)]
    pub sequential: bool,
}
