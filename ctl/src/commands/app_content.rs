//! `app inspect`, `app set` and `app migrate`: the commands that look into or change an app's
//! decrypted cache, with the tree layout of `inspect` (pure, tested here).

use std::collections::HashMap;

use anyhow::Result;
use cachectl::{AppStrategy, JsonNode};

use super::app_text::migrated_text;
use super::{Ctx, Outcome};
use crate::cli::AppCommand;
use crate::output::{format_bytes, print_json, print_text};
use crate::progress::Reporter;

/// Runs `app inspect | set | migrate` (the other `app` subcommands never reach here).
pub async fn run(ctx: &Ctx, command: AppCommand) -> Result<Outcome> {
    let client = &ctx.client;
    match command {
        AppCommand::Inspect { app, pointer, show_values, depth } => {
            let report = client.app_inspect(&app, pointer.as_deref(), show_values, depth).await?;
            if ctx.json {
                print_json(&report)?;
            } else {
                print_text(&tree_text(&report.nodes))?;
            }
        }
        AppCommand::Set { app, pointer, value } => {
            let report = client.app_set(&app, &pointer, &value).await?;
            if ctx.json {
                print_json(&report)?;
            } else {
                let shown = if pointer.is_empty() { "the whole document" } else { &pointer };
                let text =
                    format!("changed {shown}; the previous file is backup {}\n", report.backup);
                print_text(&text)?;
            }
        }
        AppCommand::Migrate { app, new_keys: _, strategy } => {
            let mut reporter = Reporter::new(ctx.json);
            let strategy = strategy.map(AppStrategy::from);
            let result = client.app_migrate(&app, strategy, |p| reporter.update(p)).await;
            reporter.finish();
            let report = result?;
            if ctx.json {
                print_json(&report)?;
            } else {
                print_text(&migrated_text(&report))?;
            }
        }
        // Handled by `apps::run`.
        AppCommand::Add(_)
        | AppCommand::Edit(_)
        | AppCommand::Remove { .. }
        | AppCommand::List
        | AppCommand::Show { .. }
        | AppCommand::ImportCacheManager { .. } => {}
    }
    Ok(Outcome::Success)
}

/// The last reference token of a JSON pointer, unescaped (`~1` is `/`, `~0` is `~`).
fn last_token(pointer: &str) -> String {
    let token = pointer.rsplit_once('/').map_or(pointer, |(_, token)| token);
    token.replace("~1", "/").replace("~0", "~")
}

/// How deep a pointer is: the number of reference tokens (`""` is 0, `/a/b` is 2).
fn depth_of(pointer: &str) -> usize {
    pointer.matches('/').count()
}

/// What a node is called in the tree: the first node by its pointer (`(root)` for the whole
/// document), array items as `[i]`, object members by their key.
fn label(node: &JsonNode, first: bool, kinds: &HashMap<&str, &str>) -> String {
    if first {
        return if node.pointer.is_empty() { "(root)".to_owned() } else { node.pointer.clone() };
    }
    let parent = node.pointer.rsplit_once('/').map_or("", |(parent, _)| parent);
    let token = last_token(&node.pointer);
    if kinds.get(parent) == Some(&"array") {
        format!("[{token}]")
    } else {
        token
    }
}

/// `app inspect`: the nodes as an indented tree, two spaces a level below the first node,
/// with aligned columns `key  type  size  (N items)  = value`.
pub fn tree_text(nodes: &[JsonNode]) -> String {
    let Some(base) = nodes.iter().map(|node| depth_of(&node.pointer)).min() else {
        return "(nothing at that pointer)\n".to_owned();
    };
    let kinds: HashMap<&str, &str> =
        nodes.iter().map(|node| (node.pointer.as_str(), node.kind.as_str())).collect();
    let names: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let indent = "  ".repeat(depth_of(&node.pointer).saturating_sub(base));
            format!("{indent}{}", label(node, index == 0, &kinds))
        })
        .collect();
    let sizes: Vec<String> = nodes.iter().map(|node| format_bytes(node.bytes)).collect();
    let name_width = names.iter().map(|name| name.chars().count()).max().unwrap_or(0);
    let kind_width = nodes.iter().map(|node| node.kind.len()).max().unwrap_or(0);
    let size_width = sizes.iter().map(String::len).max().unwrap_or(0);
    let mut text = String::new();
    for ((node, name), size) in nodes.iter().zip(&names).zip(&sizes) {
        let mut line = format!(
            "{name:<name_width$}  {kind:<kind_width$}  {size:>size_width$}",
            kind = node.kind
        );
        if let Some(items) = node.items {
            line.push_str(&format!("  ({items} {})", if items == 1 { "item" } else { "items" }));
        }
        if let Some(value) = &node.value {
            line.push_str(&format!("  = {value}"));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(
        pointer: &str,
        kind: &str,
        bytes: u64,
        items: Option<u64>,
        value: Option<&str>,
    ) -> JsonNode {
        JsonNode {
            pointer: pointer.into(),
            kind: kind.into(),
            bytes,
            items,
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn tree_is_indented_by_pointer_depth() {
        let nodes = [
            node("", "object", 2048, Some(2), None),
            node("/settings", "object", 40, Some(2), None),
            node("/settings/theme", "string", 6, None, Some("\"dark\"")),
            node("/settings/a~1b", "number", 1, None, Some("1")),
            node("/runs", "array", 1990, Some(1), None),
            node("/runs/0", "object", 1988, Some(1), None),
        ];
        assert_eq!(
            tree_text(&nodes),
            "(root)      object  2.0 KiB  (2 items)\n\
             \x20 settings  object     40 B  (2 items)\n\
             \x20   theme   string      6 B  = \"dark\"\n\
             \x20   a/b     number      1 B  = 1\n\
             \x20 runs      array   1.9 KiB  (1 item)\n\
             \x20   [0]     object  1.9 KiB  (1 item)\n"
        );
    }

    #[test]
    fn a_subtree_starts_at_its_pointer() {
        let nodes = [
            node("/settings", "object", 40, Some(1), None),
            node("/settings/theme", "string", 6, None, None),
        ];
        assert_eq!(
            tree_text(&nodes),
            "/settings  object  40 B  (1 item)\n  theme    string   6 B\n"
        );
        assert_eq!(tree_text(&[]), "(nothing at that pointer)\n");
    }

    #[test]
    fn pointer_tokens() {
        assert_eq!(last_token("/a/b~1c~0d"), "b/c~d");
        assert_eq!(depth_of(""), 0);
        assert_eq!(depth_of("/a/b"), 2);
    }
}
