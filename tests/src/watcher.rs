//! A long-running command (e.g. `cachectl watch`) whose stdout lines a test reads with a
//! deadline, so a missing line fails the test instead of hanging it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The running command; killed on drop.
pub struct LineReader {
    child: Child,
    lines: Receiver<String>,
}

impl LineReader {
    /// Starts `command` with its stdout piped (stderr is inherited for diagnostics).
    pub fn spawn(mut command: Command) -> LineReader {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("spawn the command");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        LineReader { child, lines }
    }

    /// The next line, or `None` when none came within `timeout` (or the command ended).
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Calls `poke` (a change the watcher should print) until a line comes, so the watcher
    /// is surely subscribed; returns that line, failing the test after 50 tries.
    pub fn first_line_after(&self, poke: impl Fn()) -> String {
        for _ in 0..50 {
            poke();
            if let Some(line) = self.next_line(Duration::from_millis(300)) {
                return line;
            }
        }
        panic!("the watcher printed nothing");
    }

    /// Reads and drops lines until none comes for 300 ms (the probes' echoes).
    pub fn drain(&self) {
        while self.next_line(Duration::from_millis(300)).is_some() {}
    }

    /// Lines until one satisfies `done` (included), failing the test after `timeout`.
    pub fn lines_until(&self, timeout: Duration, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line(left) {
                Some(line) => {
                    let finished = done(&line);
                    seen.push(line);
                    if finished {
                        return seen;
                    }
                }
                None => panic!("the awaited line did not come within {timeout:?}; got {seen:#?}"),
            }
        }
    }

    /// Waits for the command to exit by itself; its exit code, or `None` after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for LineReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
