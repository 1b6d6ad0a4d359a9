//! Key commands: `key status` (source, fingerprint, each namespace's key and rotation) and
//! `key rotate` (with a progress bar on a terminal).

use anyhow::Result;
use cachectl::{KeyStatus, NamespaceKey, Progress, RotatedNamespace};
use serde_json::json;

use super::{Ctx, Outcome};
use crate::output::{print_json, print_text, Align, Table};
use crate::progress::Reporter;

/// `key status`: one line about the key source, then a table of namespaces.
pub async fn status(ctx: &Ctx) -> Result<Outcome> {
    let status = ctx.client.key_status().await?;
    if ctx.json {
        print_json(&status)?;
    } else {
        print_text(&status_text(&status))?;
    }
    Ok(Outcome::Success)
}

/// The text of `key status`; an ephemeral key is shouted, since losing it loses the data.
pub fn status_text(status: &KeyStatus) -> String {
    let lasting = if status.persistent {
        "persistent".to_owned()
    } else {
        "EPHEMERAL: what it sealed is unreadable once the daemon stops".to_owned()
    };
    let mut text =
        format!("key source {} ({lasting}), fingerprint {}\n", status.source, status.fingerprint);
    if status.namespaces.is_empty() {
        text.push_str("no namespaces\n");
        return text;
    }
    let mut table = Table::new(&["NAMESPACE", "TIER", "KEY ID", "ROTATION"])
        .align(1, Align::Left)
        .align(3, Align::Left);
    for row in &status.namespaces {
        table.push(vec![row.ns.clone(), row.tier.clone(), row.key_id.to_string(), rotation(row)]);
    }
    text.push_str(&table.render());
    text
}

/// `3→4 45%` for a rotation under way, `-` otherwise.
fn rotation(row: &NamespaceKey) -> String {
    let Some(rotation) = row.rotation else {
        return "-".to_owned();
    };
    let progress =
        Progress { ns: String::new(), done: rotation.done, total: rotation.total, unit: None };
    let percent = (progress.fraction() * 100.0).floor();
    format!("{}→{} {percent}%", rotation.from_key_id, rotation.to_key_id)
}

/// `key rotate [NS] [--clear]`: a progress bar while it runs (only when stderr is a terminal,
/// so logs and pipes stay clean, and not with `--json`), then one summary row per namespace.
pub async fn rotate(ctx: &Ctx, ns: Option<&str>, clear: bool) -> Result<Outcome> {
    let mut reporter = Reporter::terminal_only(ctx.json);
    let result = ctx.client.key_rotate(ns, clear, |progress| reporter.update(progress)).await;
    reporter.finish();
    let rotated = result?;
    if ctx.json {
        print_json(&json!({ "namespaces": rotated }))?;
    } else {
        print_text(&rotated_text(&rotated))?;
    }
    Ok(Outcome::Success)
}

/// The summary of a rotation: old→new key id, values resealed and dropped.
pub fn rotated_text(rotated: &[RotatedNamespace]) -> String {
    if rotated.is_empty() {
        return "no namespace to rotate\n".to_owned();
    }
    let mut table = Table::new(&["NAMESPACE", "KEY", "RESEALED", "CLEARED"]);
    for row in rotated {
        table.push(vec![
            row.ns.clone(),
            format!("{}→{}", row.old_key_id, row.new_key_id),
            row.resealed.to_string(),
            row.cleared.to_string(),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::RotationProgress;

    #[test]
    fn status_shows_source_and_rotation() {
        let status = KeyStatus {
            source: "keyring".into(),
            persistent: true,
            fingerprint: "5e1f".into(),
            namespaces: vec![NamespaceKey {
                ns: "sessions".into(),
                tier: "memory+disk".into(),
                key_id: 3,
                rotation: Some(RotationProgress {
                    from_key_id: 3,
                    to_key_id: 4,
                    done: 4500,
                    total: 10_000,
                }),
            }],
        };
        let text = status_text(&status);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "key source keyring (persistent), fingerprint 5e1f");
        assert_eq!(lines[1], "NAMESPACE  TIER         KEY ID  ROTATION");
        assert_eq!(lines[2], "sessions   memory+disk       3  3→4 45%");
    }

    #[test]
    fn rotated_rows() {
        let text = rotated_text(&[RotatedNamespace {
            ns: "sessions".into(),
            old_key_id: 3,
            new_key_id: 4,
            resealed: 9998,
            cleared: 2,
        }]);
        assert_eq!(text, "NAMESPACE  KEY  RESEALED  CLEARED\nsessions   3→4      9998        2\n");
    }
}
