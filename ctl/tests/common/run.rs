//! Runs the real `cachectl` binary against a mock daemon, capturing its output.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `cachectl --socket SOCKET ARGS...` in `dir` with `stdin` fed in.
pub async fn cachectl_in(dir: Option<&Path>, socket: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cachectl"));
    command.arg("--socket").arg(socket).args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let stdin = stdin.to_vec();
    tokio::task::spawn_blocking(move || {
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn cachectl");
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(&stdin).expect("write stdin");
        }
        child.wait_with_output().expect("wait for cachectl")
    })
    .await
    .expect("join")
}

/// Runs `cachectl --socket SOCKET ARGS...` in the current directory.
pub async fn cachectl(socket: &Path, args: &[&str], stdin: &[u8]) -> Output {
    cachectl_in(None, socket, args, stdin).await
}

/// Lossy text of an output stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stdout parsed as one JSON document.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", text(&output.stdout)))
}

/// Whether a terminal capture shows a finished indicatif bar `LABEL [####] TAIL` (the track
/// is as wide as the terminal allows, so only its being all `#` is checked).
pub fn shows_full_bar(screen: &str, label: &str, tail: &str) -> bool {
    let head = format!("{label} [");
    screen.match_indices(&head).any(|(at, _)| {
        let rest = &screen[at + head.len()..];
        let track_len = rest.find(']').unwrap_or(0);
        let track = &rest[..track_len];
        !track.is_empty()
            && track.chars().all(|c| c == '#')
            && rest[track_len..].starts_with(&format!("] {tail}"))
    })
}

/// Runs `cachectl --socket SOCKET ARGS` on a pseudo-terminal, under `script` (util-linux,
/// Debian package bsdutils, installed by scripts/test); its output is the terminal's.
pub async fn cachectl_on_terminal(socket: &Path, args: &str) -> Output {
    let script = Path::new("/usr/bin/script");
    assert!(
        script.exists(),
        "/usr/bin/script is missing: install the Debian package bsdutils (scripts/test does)"
    );
    let command =
        format!("'{}' --socket '{}' {args}", env!("CARGO_BIN_EXE_cachectl"), socket.display());
    tokio::task::spawn_blocking(move || {
        Command::new(script).args(["-qec", &command, "/dev/null"]).output()
    })
    .await
    .expect("join")
    .expect("run script")
}
