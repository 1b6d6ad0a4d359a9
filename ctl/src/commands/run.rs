//! `cachectl run`: replay a cached result of the command when it is fresh, else run it (its
//! output shown live) and cache the result. With `--stale-while-revalidate`, a result past
//! its TTL is replayed at once and a detached `cachectl run --refresh-only` runs the
//! command again in the background (one at a time per key, guarded by a lock entry).
//!
//! The cache is an optimisation: when the daemon cannot be reached or refuses, the command
//! simply runs, with a warning on stderr.

use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use cachectl::{Client, SetCondition, CLIENT_NAME};

use super::Outcome;
use crate::cli::RunArgs;
use crate::memo::exec::{self, Echo, Finished};
use crate::memo::key::RunIdentity;
use crate::memo::record::RunRecord;
use crate::when::now_ms;

/// Carries the refresh lock's token to the detached refresher.
const LOCK_TOKEN_ENV: &str = "CACHECTL_RUN_LOCK_TOKEN";

/// Shortest and longest hold of the refresh lock: long enough for most commands, short
/// enough that a refresher that died does not block refreshes for long.
const LOCK_HOLD: (Duration, Duration) = (Duration::from_secs(10), Duration::from_secs(3600));

/// Where a result lives.
struct Slot {
    ns: String,
    key: String,
}

/// Runs or replays the command; the outcome carries its exit code.
pub async fn run(socket: &Path, args: RunArgs) -> Result<Outcome> {
    let slot = slot_of(&args)?;
    let client = match Client::connect(socket, CLIENT_NAME).await {
        Ok(client) => client,
        Err(err) => {
            warn(&format!("not cached: {err}"));
            return run_live(&args, None, &slot).await;
        }
    };
    if args.refresh_only {
        return refresh(&client, &args, &slot).await;
    }
    let stored = match client.get(&slot.ns, &slot.key).await {
        // A failure stored by a caller with --cache-failures is not replayed to one without.
        Ok(stored) => stored
            .as_deref()
            .and_then(RunRecord::decode)
            .filter(|record| record.exit_code == 0 || args.cache_failures),
        Err(err) => {
            warn(&format!("not cached: {err}"));
            return run_live(&args, None, &slot).await;
        }
    };
    if let Some(record) = stored {
        let age = Duration::from_millis(record.age_ms(now_ms()));
        if age < args.ttl {
            return replay(&record);
        }
        if age < args.ttl + args.stale_while_revalidate.unwrap_or_default() {
            start_refresh(&client, socket, &args, &slot).await;
            return replay(&record);
        }
    }
    run_live(&args, Some(&client), &slot).await
}

fn slot_of(args: &RunArgs) -> Result<Slot> {
    let ns = match &args.ns {
        Some(ns) => ns.clone(),
        None => format!("user:{}", rustix::process::getuid().as_raw()),
    };
    let key = match &args.key {
        Some(key) => key.clone(),
        None => {
            let cwd = match args.cwd {
                true => Some(std::env::current_dir().context("cannot read the working directory")?),
                false => None,
            };
            let env = args.env.iter().map(|name| (name.clone(), std::env::var_os(name))).collect();
            RunIdentity { argv: &args.command, cwd: cwd.as_deref(), env }.key()
        }
    };
    Ok(Slot { ns, key })
}

/// Runs the command with its output shown, then caches the result when it may be.
async fn run_live(args: &RunArgs, client: Option<&Client>, slot: &Slot) -> Result<Outcome> {
    let finished = match execute(args, Echo::Live).await? {
        Ok(finished) => finished,
        Err(code) => return Ok(Outcome::Exit(code)),
    };
    if let Some(client) = client {
        store(client, args, slot, &finished).await;
    }
    Ok(Outcome::Exit(exit_byte(finished.exit_code)))
}

/// The background half of stale-while-revalidate: run quietly, store, release the lock
/// (only if it is still the one this refresh was started under: a refresh that outlived the
/// lock's hold must not release the next refresher's).
async fn refresh(client: &Client, args: &RunArgs, slot: &Slot) -> Result<Outcome> {
    let finished = execute(args, Echo::Quiet).await?;
    if let Ok(finished) = &finished {
        store(client, args, slot, finished).await;
    }
    let lock = lock_key(slot);
    let token = std::env::var(LOCK_TOKEN_ENV).unwrap_or_default();
    let held = client.get(&slot.ns, &lock).await.ok().flatten();
    if held.is_some_and(|held| held == token.as_bytes()) {
        let _ = client.delete(&slot.ns, &[lock]).await;
    }
    Ok(Outcome::Exit(finished.map_or_else(|code| code, |f| exit_byte(f.exit_code))))
}

/// Runs the command; a command that cannot be started is reported like a shell does, with
/// exit code 127 (not found) or 126 (not executable) as the `Err`.
async fn execute(args: &RunArgs, echo: Echo) -> Result<Result<Finished, u8>> {
    let argv = args.command.clone();
    let ran = tokio::task::spawn_blocking(move || exec::run(&argv, echo)).await?;
    Ok(ran.map_err(|err| {
        let program = args.command.first().map(|p| p.to_string_lossy().into_owned());
        warn(&format!("cannot run {}: {err}", program.unwrap_or_default()));
        match err.kind() {
            io::ErrorKind::NotFound => 127,
            _ => 126,
        }
    }))
}

/// Caches a finished run if it is a success (or failures are cached) and fits.
async fn store(client: &Client, args: &RunArgs, slot: &Slot, finished: &Finished) {
    if finished.signaled || (finished.exit_code != 0 && !args.cache_failures) {
        return;
    }
    if finished.over_cap {
        warn(&format!("not cached: the output is over {} bytes", exec::MAX_CAPTURE_BYTES));
        return;
    }
    let record = RunRecord::new(
        finished.exit_code,
        finished.stdout.clone(),
        finished.stderr.clone(),
        now_ms(),
    );
    // Kept as long as it may be replayed: fresh for --ttl, then stale for the window.
    let keep = args.ttl + args.stale_while_revalidate.unwrap_or_default();
    let written =
        client.set(&slot.ns, &slot.key, record.encode(), Some(keep), SetCondition::Always).await;
    if let Err(err) = written {
        warn(&format!("not cached: {err}"));
    }
}

/// Takes the refresh lock and, if it was free, starts a detached refresher.
async fn start_refresh(client: &Client, socket: &Path, args: &RunArgs, slot: &Slot) {
    let hold = args.ttl.clamp(LOCK_HOLD.0, LOCK_HOLD.1);
    let lock = lock_key(slot);
    let token = format!("{}:{}", std::process::id(), now_ms());
    let taken =
        client.set(&slot.ns, &lock, token.clone().into_bytes(), Some(hold), SetCondition::IfAbsent);
    if !matches!(taken.await, Ok(true)) {
        return; // Another refresh is under way (or the daemon refused: nothing to do).
    }
    if let Err(err) = spawn_refresher(socket, args, slot, &token) {
        warn(&format!("cannot start the background refresh: {err}"));
        let _ = client.delete(&slot.ns, &[lock_key(slot)]).await;
    }
}

/// `cachectl --socket S run --refresh-only ... -- CMD`, in its own process group (so the
/// terminal's Ctrl-C does not reach it) with no terminal I/O; not waited for.
fn spawn_refresher(socket: &Path, args: &RunArgs, slot: &Slot, token: &str) -> io::Result<()> {
    use std::os::unix::process::CommandExt;
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--socket").arg(socket).arg("run").arg("--refresh-only");
    command.args(["--ttl", &ms(args.ttl), "--ns", &slot.ns, "--key", &slot.key]);
    if let Some(stale) = args.stale_while_revalidate {
        command.arg(format!("--stale-while-revalidate={}", ms(stale)));
    }
    if args.cache_failures {
        command.arg("--cache-failures");
    }
    command.arg("--").args(&args.command);
    command.env(LOCK_TOKEN_ENV, token);
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0);
    command.spawn().map(drop)
}

/// The lock entry of a refresh: a prefix no derived key has (`run:<hex>`), so it cannot
/// collide with a result.
fn lock_key(slot: &Slot) -> String {
    format!("run-refreshing:{}", slot.key)
}

/// Writes the cached output exactly and ends with the cached exit code. A reader that went
/// away (`| head`) ends only that stream, as it would for the command itself.
fn replay(record: &RunRecord) -> Result<Outcome> {
    fn write_all(mut sink: impl Write, bytes: &[u8]) -> io::Result<()> {
        match sink.write_all(bytes).and_then(|()| sink.flush()) {
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
    write_all(io::stdout().lock(), &record.stdout)?;
    write_all(io::stderr().lock(), &record.stderr)?;
    Ok(Outcome::Exit(exit_byte(record.exit_code)))
}

fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

fn warn(message: &str) {
    eprintln!("cachectl run: {message}");
}
