//! Running the command: its output goes through to ours as it comes (so a slow command is
//! still watched live) and is captured at the same time, up to a cap.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

/// Captured output beyond this (stdout and stderr together) is not kept: the result could
/// not be stored in one frame anyway, and memory stays bounded whatever the command prints.
pub const MAX_CAPTURE_BYTES: usize = 15 * 1024 * 1024;

/// How a run ended.
#[derive(Debug)]
pub struct Finished {
    /// The exit code, or `128 + signal` when a signal ended it (as shells report it).
    pub exit_code: i32,
    /// Whether a signal ended it (never cached: usually an interruption).
    pub signaled: bool,
    /// Its stdout, when it fit under the cap.
    pub stdout: Vec<u8>,
    /// Its stderr, when it fit under the cap.
    pub stderr: Vec<u8>,
    /// Whether the output went over [`MAX_CAPTURE_BYTES`] (then it is not cached).
    pub over_cap: bool,
}

/// Where the command's output goes besides the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// To our stdout and stderr, as it comes.
    Live,
    /// Nowhere (a background refresh).
    Quiet,
}

/// Runs `argv` (stdin inherited) and waits for it.
pub fn run(argv: &[OsString], echo: Echo) -> io::Result<Finished> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command given after --"))?;
    let stdin = match echo {
        Echo::Live => Stdio::inherit(),
        Echo::Quiet => Stdio::null(),
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let captured = Arc::new(AtomicUsize::new(0));
    let out = child.stdout.take().map(|pipe| tee(pipe, echo, io::stdout, captured.clone()));
    let err = child.stderr.take().map(|pipe| tee(pipe, echo, io::stderr, captured.clone()));
    let status = child.wait()?;
    let join = |handle: Option<thread::JoinHandle<io::Result<Vec<u8>>>>| match handle {
        Some(handle) => handle.join().unwrap_or_else(|_| Ok(Vec::new())),
        None => Ok(Vec::new()),
    };
    let (stdout, stderr) = (join(out)?, join(err)?);
    let over_cap = captured.load(Ordering::Relaxed) > MAX_CAPTURE_BYTES;
    let (exit_code, signaled) = match (status.code(), status.signal()) {
        (Some(code), _) => (code, false),
        (None, Some(signal)) => (128 + signal, true),
        (None, None) => (1, true),
    };
    Ok(Finished { exit_code, signaled, stdout, stderr, over_cap })
}

/// Copies a pipe to `sink` (when live) and into a buffer until the shared cap is reached.
fn tee<W: Write + 'static>(
    mut pipe: impl Read + Send + 'static,
    echo: Echo,
    sink: fn() -> W,
    captured: Arc<AtomicUsize>,
) -> thread::JoinHandle<io::Result<Vec<u8>>> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut echoing = echo == Echo::Live;
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) => return Ok(kept),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if echoing {
                let mut out = sink();
                // A reader that went away (`| head`) stops the echo, not the capture: the
                // command runs to its end and its whole result is still cached.
                echoing = out.write_all(&chunk[..n]).and_then(|()| out.flush()).is_ok();
            }
            let total = captured.fetch_add(n, Ordering::Relaxed) + n;
            if total <= MAX_CAPTURE_BYTES {
                kept.extend_from_slice(&chunk[..n]);
            } else {
                kept = Vec::new();
            }
        }
    })
}
