//! The counter and settings tables: `stats` (per namespace, per layer for layered ones, and
//! a total) and `ns list`.

use std::time::Duration;

use anyhow::Result;
use cachectl::{CacheStats, NamespaceSummary, StatsReport};
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::cli::StatsFormat;
use crate::output::{format_bytes, format_rate, format_ttl, print_json, print_text, Align, Table};

/// The output format `stats` uses: `--format`, else `--json`, else the table. Contradictions
/// (`--json --format table`, a namespace with the Prometheus format, which has no per-namespace
/// form) are usage errors, found before connecting.
pub fn format(json: bool, format: Option<StatsFormat>, ns: Option<&str>) -> Result<StatsFormat> {
    let chosen = match (json, format) {
        (true, Some(StatsFormat::Json) | None) => StatsFormat::Json,
        (true, Some(other)) => {
            anyhow::bail!("--json contradicts --format {other:?}; use one of them")
        }
        (false, format) => format.unwrap_or(StatsFormat::Table),
    };
    if let (StatsFormat::Prometheus, Some(ns)) = (chosen, ns) {
        anyhow::bail!(
            "--format prometheus shows every namespace; drop {ns:?} (filter by the `namespace` label)"
        );
    }
    Ok(chosen)
}

/// `stats`: a table with one row per namespace (and per layer) and a total; JSON adds
/// `hit_rate`; the Prometheus format prints the daemon's `metrics` answer as it is.
pub async fn stats(ctx: &Ctx, ns: Option<&str>, format: StatsFormat) -> Result<Outcome> {
    if format == StatsFormat::Prometheus {
        print_text(&ctx.client.metrics().await?)?;
        return Ok(Outcome::Success);
    }
    let report = ctx.client.stats(ns).await?;
    if format == StatsFormat::Json {
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

/// The wire shape (`{total, namespaces: [{ns, stats, tier, layers: [{layer, stats}]}]}`, as
/// docs/protocol.md describes it) with `hit_rate` added to every stats object and `layers`
/// always present, so scripts need not test for it.
fn stats_json(report: &StatsReport) -> Result<Value> {
    let namespaces = report
        .namespaces
        .iter()
        .map(|row| {
            let layers = row
                .layers
                .iter()
                .map(|layer| {
                    Ok(json!({ "layer": layer.layer, "stats": with_hit_rate(&layer.stats)? }))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(json!({
                "ns": row.ns,
                "tier": row.tier,
                "stats": with_hit_rate(&row.stats)?,
                "layers": layers,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({ "total": with_hit_rate(&report.total)?, "namespaces": namespaces }))
}

/// The stats table; namespaces with more than one layer get an indented row per layer, and
/// the TOTAL row is shown when all namespaces were asked for.
pub fn stats_table(report: &StatsReport, with_total: bool) -> Table {
    let mut table = Table::new(&[
        "NAMESPACE",
        "TIER",
        "HITS",
        "MISSES",
        "HIT%",
        "SETS",
        "DELETES",
        "EVICTIONS",
        "EXPIRED",
        "EVICTED-EARLY",
        "CORRUPT",
        "DEGRADED",
        "ENTRIES",
        "USED / LIMIT",
    ])
    .align(1, Align::Left);
    let row = |name: String, tier: &str, s: &CacheStats| {
        vec![
            name,
            tier.to_owned(),
            s.hits.to_string(),
            s.misses.to_string(),
            format_rate(s.hits, s.misses),
            s.sets.to_string(),
            s.deletes.to_string(),
            s.evictions.to_string(),
            s.expired.to_string(),
            s.evicted_before_expiry.to_string(),
            s.corrupt.to_string(),
            s.degraded.to_string(),
            s.entries.to_string(),
            format!("{} / {}", format_bytes(s.bytes_used), format_bytes(s.bytes_limit)),
        ]
    };
    for ns in &report.namespaces {
        table.push(row(ns.ns.clone(), &ns.tier, &ns.stats));
        if ns.layers.len() > 1 {
            for layer in &ns.layers {
                table.push(row(format!("  {}", layer.layer), "", &layer.stats));
            }
        }
    }
    if with_total {
        table.push(row("TOTAL".to_owned(), "", &report.total));
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

/// One row per namespace: where it lives, its limits, and how durable its writes are.
pub fn namespaces_table(namespaces: &[NamespaceSummary]) -> Table {
    let mut table = Table::new(&[
        "NAMESPACE",
        "TIER",
        "DURABILITY",
        "EVICTION",
        "ENTRIES",
        "USED",
        "LIMIT",
        "DEFAULT TTL",
        "CONFIGURED",
    ])
    .align(1, Align::Left)
    .align(2, Align::Left)
    .align(3, Align::Left)
    .align(8, Align::Left);
    for ns in namespaces {
        table.push(vec![
            ns.ns.clone(),
            ns.tier.clone(),
            ns.durability.clone().unwrap_or_else(|| "-".to_owned()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::{LayerStats, NamespaceStats};

    fn layered() -> StatsReport {
        let memory = CacheStats {
            hits: 3,
            misses: 1,
            bytes_used: 2048,
            bytes_limit: 1 << 20,
            ..Default::default()
        };
        let disk = CacheStats { hits: 1, corrupt: 2, ..Default::default() };
        let total = CacheStats { hits: 4, misses: 0, corrupt: 2, ..memory };
        StatsReport {
            total,
            namespaces: vec![NamespaceStats {
                ns: "web".into(),
                stats: total,
                tier: "memory+disk".into(),
                layers: vec![
                    LayerStats { layer: "memory".into(), stats: memory },
                    LayerStats { layer: "disk".into(), stats: disk },
                ],
            }],
        }
    }

    #[test]
    fn stats_table_has_a_row_per_namespace_and_layer_and_a_total() {
        let text = stats_table(&layered(), true).render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("NAMESPACE  TIER         HITS"), "{text}");
        assert!(lines[0].contains("CORRUPT"), "{text}");
        assert!(lines[1].starts_with("web        memory+disk"), "{text}");
        assert!(lines[2].starts_with("  memory"), "{text}");
        assert!(lines[2].contains("75.0%"), "{text}");
        assert!(lines[2].ends_with("2.0 KiB / 1.0 MiB"), "{text}");
        assert!(lines[3].starts_with("  disk"), "{text}");
        assert!(lines[4].starts_with("TOTAL"), "{text}");
    }

    #[test]
    fn a_single_layer_gets_no_layer_rows() {
        let mut report = layered();
        report.namespaces[0].layers.truncate(1);
        assert_eq!(stats_table(&report, false).render().lines().count(), 2);
    }

    #[test]
    fn stats_json_keeps_the_wire_shape_and_adds_hit_rate() -> Result<()> {
        let value = stats_json(&layered())?;
        assert_eq!(value["namespaces"][0]["ns"], "web");
        assert_eq!(value["namespaces"][0]["tier"], "memory+disk");
        assert_eq!(value["namespaces"][0]["stats"]["corrupt"], 2);
        assert_eq!(value["namespaces"][0]["layers"][0]["stats"]["hit_rate"], 0.75);
        assert_eq!(value["namespaces"][0]["layers"][1]["layer"], "disk");
        assert_eq!(value["total"]["hit_rate"], 1.0);
        Ok(())
    }

    #[test]
    fn the_format_comes_from_format_then_json() -> Result<()> {
        use StatsFormat::{Json, Prometheus, Table};
        assert_eq!(format(false, None, None)?, Table);
        assert_eq!(format(true, None, Some("web"))?, Json);
        assert_eq!(format(true, Some(Json), None)?, Json);
        assert_eq!(format(false, Some(Prometheus), None)?, Prometheus);
        assert!(format(true, Some(Prometheus), None).is_err());
        assert!(format(true, Some(Table), None).is_err());
        let err = format(false, Some(Prometheus), Some("web")).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("web")));
        Ok(())
    }

    #[test]
    fn namespaces_show_tier_and_durability() {
        let row = NamespaceSummary {
            ns: "web".into(),
            eviction: "lru".into(),
            max_bytes: 1024,
            default_ttl_ms: None,
            entries: 1,
            bytes_used: 10,
            configured: true,
            tier: "disk".into(),
            durability: Some("fsync".into()),
        };
        let text = namespaces_table(&[row]).render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAMESPACE  TIER  DURABILITY  EVICTION  ENTRIES  USED    LIMIT  DEFAULT TTL  CONFIGURED");
        assert!(lines[1].starts_with("web        disk  fsync       lru"), "{text}");
    }
}
