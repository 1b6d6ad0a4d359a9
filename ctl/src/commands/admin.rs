//! Daemon-wide commands: ping, info, clear, reload, shutdown.

use std::time::{Duration, Instant};

use anyhow::Result;
use cachectl::ServerInfo;
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::output::{aligned_rows, format_bytes, format_ttl, print_json, print_text};

/// `ping`: prints `PONG` and the round-trip time.
pub async fn ping(ctx: &Ctx) -> Result<Outcome> {
    let started = Instant::now();
    ctx.client.ping().await?;
    let rtt_ms = started.elapsed().as_secs_f64() * 1000.0;
    if ctx.json {
        let server = &ctx.client.welcome().server_version;
        print_json(&json!({ "pong": true, "rtt_ms": rtt_ms, "server_version": server }))?;
    } else {
        print_text(&format!("PONG ({rtt_ms:.3} ms)\n"))?;
    }
    Ok(Outcome::Success)
}

/// `info`: the daemon's facts, plus who it sees us as; notices first, since they are what an
/// operator must act on.
pub async fn info(ctx: &Ctx) -> Result<Outcome> {
    let info = ctx.client.info().await?;
    let peer = ctx.client.welcome().peer;
    if ctx.json {
        let mut value = serde_json::to_value(&info)?;
        if let Value::Object(map) = &mut value {
            map.insert("peer".to_owned(), serde_json::to_value(peer)?);
            // Always present in the JSON (the wire leaves them out when empty/absent), so
            // scripts can test `.notices | length` and `.key_source` directly.
            map.insert("notices".to_owned(), json!(info.notices));
            map.insert("key_source".to_owned(), json!(info.key_source));
        }
        print_json(&value)?;
        return Ok(Outcome::Success);
    }
    let you = format!("uid {} gid {} pid {}", peer.uid, peer.gid, peer.pid);
    print_text(&info_text(info, &you))?;
    Ok(Outcome::Success)
}

/// The text of `info`: one `NOTICE:` line per notice and a blank line, then the facts.
pub fn info_text(info: ServerInfo, you: &str) -> String {
    let mut text: String =
        info.notices.iter().map(|notice| format!("NOTICE: {notice}\n")).collect();
    if !text.is_empty() {
        text.push('\n');
    }
    let rows = [
        ("version", info.version),
        ("protocol", info.protocol.to_string()),
        ("pid", info.pid.to_string()),
        ("uptime", format_ttl(Duration::from_millis(info.uptime_ms))),
        ("socket", info.socket),
        ("config", info.config_path.unwrap_or_else(|| "(none)".to_owned())),
        ("state dir", info.state_dir),
        ("key source", info.key_source.unwrap_or_else(|| "(none)".to_owned())),
        ("connections", info.connections.to_string()),
        ("you are", you.to_owned()),
    ];
    text.push_str(&aligned_rows(&rows));
    text
}

/// `clear NS` / `clear --all` (`ns` is `None`): prints what was freed.
pub async fn clear(ctx: &Ctx, ns: Option<&str>) -> Result<Outcome> {
    let (entries, bytes) = match ns {
        Some(ns) => ctx.client.clear(ns).await?,
        None => ctx.client.clear_all().await?,
    };
    if ctx.json {
        print_json(&json!({ "entries": entries, "bytes": bytes }))?;
    } else {
        let noun = if entries == 1 { "entry" } else { "entries" };
        print_text(&format!("cleared {entries} {noun} ({})\n", format_bytes(bytes)))?;
    }
    Ok(Outcome::Success)
}

/// `reload`: one line per change the daemon applied.
pub async fn reload(ctx: &Ctx) -> Result<Outcome> {
    let changes = ctx.client.reload().await?;
    if ctx.json {
        print_json(&json!({ "changes": changes }))?;
    } else if changes.is_empty() {
        print_text("configuration reloaded: no changes\n")?;
    } else {
        let text: String = changes.iter().map(|change| format!("{change}\n")).collect();
        print_text(&text)?;
    }
    Ok(Outcome::Success)
}

/// `shutdown`: returns once the daemon has acknowledged (it then drains and exits).
pub async fn shutdown(ctx: &Ctx) -> Result<Outcome> {
    ctx.client.shutdown().await?;
    if ctx.json {
        print_json(&json!({ "shutdown": true }))?;
    } else {
        print_text("cachemgrd is shutting down\n")?;
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_come_first() {
        let info = ServerInfo {
            version: "0.1.0".into(),
            protocol: 1,
            pid: 7,
            uptime_ms: 1000,
            socket: "/s".into(),
            config_path: None,
            state_dir: "/st".into(),
            connections: 1,
            notices: vec!["ephemeral key: values on disk die with the daemon".into()],
            key_source: Some("ephemeral".into()),
        };
        let text = info_text(info, "uid 1");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NOTICE: ephemeral key: values on disk die with the daemon");
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], "version      0.1.0");
        assert!(text.contains("key source   ephemeral\n"), "{text}");
    }
}
