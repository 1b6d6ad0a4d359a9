//! Daemon-wide commands: ping, info, stats, ns list, clear, reload, shutdown.

use std::time::{Duration, Instant};

use anyhow::Result;
use cachectl::{CacheStats, NamespaceSummary, StatsReport};
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::output::{format_bytes, format_rate, format_ttl, print_json, print_text, Align, Table};

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

/// `info`: the daemon's facts, plus who it sees us as.
pub async fn info(ctx: &Ctx) -> Result<Outcome> {
    let info = ctx.client.info().await?;
    let peer = ctx.client.welcome().peer;
    if ctx.json {
        let mut value = serde_json::to_value(&info)?;
        if let Value::Object(map) = &mut value {
            map.insert("peer".to_owned(), serde_json::to_value(peer)?);
        }
        print_json(&value)?;
        return Ok(Outcome::Success);
    }
    let uptime = format_ttl(Duration::from_millis(info.uptime_ms));
    let rows = [
        ("version", info.version),
        ("protocol", info.protocol.to_string()),
        ("pid", info.pid.to_string()),
        ("uptime", uptime),
        ("socket", info.socket),
        ("config", info.config_path.unwrap_or_else(|| "(none)".to_owned())),
        ("state dir", info.state_dir),
        ("connections", info.connections.to_string()),
        ("you are", format!("uid {} gid {} pid {}", peer.uid, peer.gid, peer.pid)),
    ];
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let text: String =
        rows.iter().map(|(name, value)| format!("{name:<width$}  {value}\n")).collect();
    print_text(&text)?;
    Ok(Outcome::Success)
}

/// `stats`: a table with one row per namespace and a total; JSON adds `hit_rate`.
pub async fn stats(ctx: &Ctx, ns: Option<&str>) -> Result<Outcome> {
    let report = ctx.client.stats(ns).await?;
    if ctx.json {
        print_json(&stats_json(&report)?)?;
    } else {
        print_text(&stats_table(&report, ns.is_none()).render())?;
    }
    Ok(Outcome::Success)
}

/// A `CacheStats` as JSON with `hit_rate` added, so scripts need not divide.
fn with_hit_rate(stats: &CacheStats) -> Result<Value> {
    let mut value = serde_json::to_value(stats)?;
    if let Value::Object(map) = &mut value {
        map.insert("hit_rate".to_owned(), json!(stats.hit_rate()));
    }
    Ok(value)
}

/// The wire shape (`{total, namespaces: [{ns, stats}]}`, as docs/protocol.md describes it)
/// with `hit_rate` added to every stats object.
fn stats_json(report: &StatsReport) -> Result<Value> {
    let namespaces = report
        .namespaces
        .iter()
        .map(|row| Ok(json!({ "ns": row.ns, "stats": with_hit_rate(&row.stats)? })))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({ "total": with_hit_rate(&report.total)?, "namespaces": namespaces }))
}

/// The stats table; the TOTAL row is shown when all namespaces were asked for.
pub fn stats_table(report: &StatsReport, with_total: bool) -> Table {
    let mut table = Table::new(&[
        "NAMESPACE",
        "HITS",
        "MISSES",
        "HIT%",
        "SETS",
        "DELETES",
        "EVICTIONS",
        "EXPIRED",
        "EVICTED-EARLY",
        "ENTRIES",
        "MEMORY USED / LIMIT",
    ]);
    let row = |name: &str, s: &CacheStats| {
        vec![
            name.to_owned(),
            s.hits.to_string(),
            s.misses.to_string(),
            format_rate(s.hits, s.misses),
            s.sets.to_string(),
            s.deletes.to_string(),
            s.evictions.to_string(),
            s.expired.to_string(),
            s.evicted_before_expiry.to_string(),
            s.entries.to_string(),
            format!("{} / {}", format_bytes(s.bytes_used), format_bytes(s.bytes_limit)),
        ]
    };
    for ns in &report.namespaces {
        table.push(row(&ns.ns, &ns.stats));
    }
    if with_total {
        table.push(row("TOTAL", &report.total));
    }
    table
}

/// `ns list`: namespaces with their settings and usage.
pub async fn list_namespaces(ctx: &Ctx) -> Result<Outcome> {
    let namespaces = ctx.client.list_namespaces().await?;
    if ctx.json {
        print_json(&namespaces)?;
    } else {
        print_text(&namespaces_table(&namespaces).render())?;
    }
    Ok(Outcome::Success)
}

fn namespaces_table(namespaces: &[NamespaceSummary]) -> Table {
    let mut table = Table::new(&[
        "NAMESPACE",
        "EVICTION",
        "ENTRIES",
        "USED",
        "LIMIT",
        "DEFAULT TTL",
        "CONFIGURED",
    ])
    .align(1, Align::Left)
    .align(6, Align::Left);
    for ns in namespaces {
        table.push(vec![
            ns.ns.clone(),
            ns.eviction.clone(),
            ns.entries.to_string(),
            format_bytes(ns.bytes_used),
            format_bytes(ns.max_bytes),
            ns.default_ttl_ms
                .map_or_else(|| "none".to_owned(), |ms| format_ttl(Duration::from_millis(ms))),
            if ns.configured { "yes" } else { "no" }.to_owned(),
        ]);
    }
    table
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
    use cachectl::NamespaceStats;

    #[test]
    fn stats_table_has_a_row_per_namespace_and_a_total() {
        let stats = CacheStats {
            hits: 3,
            misses: 1,
            bytes_used: 2048,
            bytes_limit: 1 << 20,
            ..Default::default()
        };
        let report = StatsReport {
            total: stats,
            namespaces: vec![NamespaceStats { ns: "web".into(), stats }],
        };
        let text = stats_table(&report, true).render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("NAMESPACE  HITS"));
        assert!(lines[1].starts_with("web"));
        assert!(lines[1].contains("75.0%"));
        assert!(lines[1].ends_with("2.0 KiB / 1.0 MiB"));
        assert!(lines[2].starts_with("TOTAL"));
    }

    #[test]
    fn stats_json_keeps_the_wire_shape_and_adds_hit_rate() -> Result<()> {
        let stats = CacheStats { hits: 1, misses: 1, bytes_used: 10, ..Default::default() };
        let report = StatsReport {
            total: stats,
            namespaces: vec![NamespaceStats { ns: "web".into(), stats }],
        };
        let value = stats_json(&report)?;
        assert_eq!(value["namespaces"][0]["ns"], "web");
        assert_eq!(value["namespaces"][0]["stats"]["bytes_used"], 10);
        assert_eq!(value["namespaces"][0]["stats"]["hit_rate"], 0.5);
        assert_eq!(value["total"]["hit_rate"], 0.5);
        Ok(())
    }
}
