//! The optional HTTP endpoint (`metrics_listen`): `GET /metrics` answers the exposition in the
//! admin view (names and counters, never keys or values); anything else is 404 or 405.
//!
//! Hand-written on tokio's `TcpListener` rather than built on hyper or axum: there is one
//! route and one method, the answer is computed in microseconds, and a few dozen lines of
//! HTTP/1.1 with hard bounds (a capped request head read under a timeout, a handful of
//! connections, `Connection: close`) are easier to audit than a server framework and its
//! dependency tree inside a daemon that holds keys.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::context::DaemonContext;
use crate::metrics::exposition::CONTENT_TYPE;

/// Largest request head (request line and headers) read; a longer one is answered 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Time a client has to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Time the answer may take to be written.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Scrapes served at once; as many more are answered 503, the rest closed at once. A
/// scraper needs one.
pub const MAX_CONNECTIONS: usize = 8;

/// After answering, unread input is read and dropped for at most this long before closing:
/// closing with unread input makes the kernel reset the connection, which can destroy the
/// answer before the client reads it.
const LINGER: Duration = Duration::from_secs(1);

const PLAIN: &str = "text/plain; charset=utf-8";

const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Binds the endpoint; the caller names the address and the config key in the error.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves scrapes until the daemon shuts down.
pub async fn serve(listener: Arc<TcpListener>, state: Arc<DaemonContext>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let refusals = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                if let Ok(permit) = permits.clone().try_acquire_owned() {
                    tokio::spawn(connection(stream, state.clone(), permit));
                } else if let Ok(permit) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(answer_and_close(stream, BUSY.to_vec(), permit));
                }
                // Else dropped at once: a flood must not pile up tasks.
            }
            Err(err) => {
                tracing::warn!("metrics endpoint: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What a request head asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `GET /metrics` (`head_only` for `HEAD`).
    Metrics { head_only: bool },
    /// Another path.
    NotFound,
    /// `/metrics` with another method.
    MethodNotAllowed,
    /// Not an HTTP/1.x request line.
    BadRequest,
}

/// Why no request head was read.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    /// The client closed the connection before sending anything.
    Closed,
    /// The client closed it in the middle of a head.
    Truncated,
    /// Over [`MAX_HEAD_BYTES`].
    TooLarge,
}

async fn connection(
    mut stream: TcpStream,
    state: Arc<DaemonContext>,
    permit: OwnedSemaphorePermit,
) {
    let route = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => Ok(route(&head)),
        Ok(Err(HeadError::Closed)) => return,
        Ok(Err(HeadError::Truncated)) => Ok(Route::BadRequest),
        Ok(Err(HeadError::TooLarge)) => Err("431 Request Header Fields Too Large"),
        Err(_) => Err("408 Request Timeout"),
    };
    let reply = match route {
        Ok(Route::Metrics { head_only }) => {
            let text = crate::handlers::metrics::text(&state, None);
            response("200 OK", CONTENT_TYPE, &text, head_only, "")
        }
        Ok(Route::NotFound) => plain("404 Not Found", "not found: the metrics are at /metrics\n"),
        Ok(Route::MethodNotAllowed) => {
            response("405 Method Not Allowed", PLAIN, "use GET\n", false, "Allow: GET, HEAD\r\n")
        }
        Ok(Route::BadRequest) => plain("400 Bad Request", "not an HTTP/1.x request\n"),
        Err(status) => plain(status, ""),
    };
    answer_and_close(stream, reply, permit).await;
}

/// Writes `reply`, ends the output, and reads what the client still sends (up to [`LINGER`])
/// so that the close does not reset the connection under the answer. The slot (`permit`) is
/// given back once the answer is written: a lingering close must not turn the next client
/// away.
async fn answer_and_close(mut stream: TcpStream, reply: Vec<u8>, permit: OwnedSemaphorePermit) {
    let write = async {
        stream.write_all(&reply).await?;
        stream.shutdown().await
    };
    let written = match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "not read in time")),
    };
    drop(permit);
    if let Err(err) = written {
        tracing::debug!("metrics endpoint: cannot answer: {err}");
        return;
    }
    let drain = async {
        let mut sink = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Reads up to the blank line ending the head (bytes past it, a body, are ignored).
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| HeadError::Truncated)?;
        if n == 0 {
            return Err(if head.is_empty() { HeadError::Closed } else { HeadError::Truncated });
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&head) {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() >= MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Where the head ends (`\r\n\r\n`, or a bare `\n\n` from a lenient client), if it has.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The route of a request head (its first line decides).
fn route(head: &[u8]) -> Route {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else { return Route::BadRequest };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (path, method) {
        ("/metrics", "GET") => Route::Metrics { head_only: false },
        ("/metrics", "HEAD") => Route::Metrics { head_only: true },
        ("/metrics", _) => Route::MethodNotAllowed,
        _ => Route::NotFound,
    }
}

fn plain(status: &str, body: &str) -> Vec<u8> {
    response(status, PLAIN, body, false, "")
}

/// A complete HTTP/1.1 response; the connection closes after it.
fn response(status: &str, content_type: &str, body: &str, head_only: bool, extra: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_path_then_method() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x"), Route::Metrics { head_only: false });
        assert_eq!(route(b"GET /metrics?name[]=x HTTP/1.0"), Route::Metrics { head_only: false });
        assert_eq!(route(b"HEAD /metrics HTTP/1.1"), Route::Metrics { head_only: true });
        assert_eq!(route(b"POST /metrics HTTP/1.1"), Route::MethodNotAllowed);
        assert_eq!(route(b"GET / HTTP/1.1"), Route::NotFound);
        assert_eq!(route(b"GET /metrics/x HTTP/1.1"), Route::NotFound);
        for garbage in [
            &b"GET /metrics"[..],
            b"GET /metrics HTTP/2",
            b"GET  /metrics HTTP/1.1",
            b"GET metrics HTTP/1.1",
            b"\xff\xfe /metrics HTTP/1.1",
            b"",
        ] {
            assert_eq!(route(garbage), Route::BadRequest, "{garbage:?}");
        }
    }

    #[test]
    fn the_head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(20));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }

    #[test]
    fn responses_carry_length_and_close() {
        let text = String::from_utf8(response("200 OK", CONTENT_TYPE, "abc", false, "")).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Length: 3\r\n"), "{text}");
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert!(text.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")), "{text}");
        assert!(text.ends_with("\r\n\r\nabc"), "{text}");
        let head = String::from_utf8(response("200 OK", CONTENT_TYPE, "abc", true, "")).unwrap();
        assert!(head.ends_with(
            "Content-Length: 3\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        ));
    }
}
