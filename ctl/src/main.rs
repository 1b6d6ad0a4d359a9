//! `cachectl`: the command-line client of cachemgrd. This file only parses arguments, builds
//! a single-threaded runtime (fast start), runs the command and maps the result to an exit
//! code; the commands live in `commands/` and `bench/`.

mod bench;
mod cli;
mod commands;
mod memo;
mod output;
mod parse;
mod progress;
mod when;

use std::io;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Error;
use cachectl::ClientError;
use clap::Parser;

use crate::cli::Cli;
use crate::commands::Outcome;

/// Exit code for "the key was missing", and for `status` finding an app stale or broken.
const EXIT_NOT_FOUND: u8 = 1;
/// Exit code for "cachemgrd is not reachable".
const EXIT_UNREACHABLE: u8 = 3;
/// Exit code for "cachemgrd answered with an error", and for `backup verify` finding a
/// damaged backup.
const EXIT_DAEMON_ERROR: u8 = 4;
/// Exit code for a usage problem found after parsing (e.g. `--file` that cannot be read).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    // Usage errors exit here with clap's code 2.
    let cli = Cli::parse();
    let socket = commands::socket_path(cli.socket.clone());
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_DAEMON_ERROR);
        }
    };
    match runtime.block_on(commands::run(cli, &socket)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::NotFound | Outcome::Unhealthy) => ExitCode::from(EXIT_NOT_FOUND),
        Ok(Outcome::BadBackups) => ExitCode::from(EXIT_DAEMON_ERROR),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(err) => ExitCode::from(report(&err, &socket)),
    }
}

/// Prints an error the way the exit code promises and returns that code.
fn report(err: &Error, socket: &Path) -> u8 {
    if is_broken_pipe(err) {
        // The reader went away (`cachectl keys ns | head`): nothing left to say.
        return 0;
    }
    match err.chain().find_map(|cause| cause.downcast_ref::<ClientError>()) {
        Some(ClientError::Unreachable { path, source }) => {
            eprintln!(
                "cannot reach cachemgrd at {}: {source}. Start it with `cachemgrd` (or \
                 `systemctl --user start cachemgrd`), or point --socket / CACHEMGR_SOCKET at it.",
                path.display()
            );
            EXIT_UNREACHABLE
        }
        Some(ClientError::HandshakeTimeout(limit)) => {
            eprintln!(
                "cachemgrd at {} accepted the connection but did not answer within {limit:?}",
                socket.display()
            );
            EXIT_UNREACHABLE
        }
        Some(ClientError::Daemon { kind, message }) => {
            eprintln!("error ({kind}): {message}");
            EXIT_DAEMON_ERROR
        }
        Some(ClientError::InvalidArgument(message)) => {
            eprintln!("error: {message}");
            EXIT_USAGE
        }
        Some(ClientError::Disconnected { reason }) => {
            eprintln!("lost the connection to cachemgrd at {}: {reason}", socket.display());
            EXIT_UNREACHABLE
        }
        Some(_) => {
            eprintln!("error: {err:#}");
            EXIT_DAEMON_ERROR
        }
        None => {
            // Not a client error: a local file or argument problem.
            eprintln!("error: {err:#}");
            EXIT_USAGE
        }
    }
}

fn is_broken_pipe(err: &Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
