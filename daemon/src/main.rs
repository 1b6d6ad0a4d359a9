//! `cachemgrd`: arguments, logging, runtime. Everything else lives in the library.

use std::process::ExitCode;

use cachemgrd::cli::{Args, Command};
use clap::Parser;

fn main() -> ExitCode {
    let mut args = Args::parse();
    if let Err(err) = cachemgrd::logging::init(args.log_level.as_deref()) {
        eprintln!("cachemgrd: {err:#}");
        return ExitCode::from(2);
    }
    // Before any key is loaded: no core file or same-uid ptrace may expose one.
    cachemgrd::hygiene::harden_process();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match args.command.take() {
        Some(Command::KeyInit(init)) => runtime
            .block_on(cachemgrd::keys::run_key_init(&args.key_init(init)))
            .map(|report| println!("{report}")),
        None => runtime.block_on(cachemgrd::daemon::run(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}
