//! `dir add|list|remove|clear|trim`: disposable cache directories.

use anyhow::Result;
use cachectl::{DirInfo, DirSettings};

use super::clear::{dir as clear_dir, print_freed};
use super::{Ctx, Outcome};
use crate::cli::{DirAddArgs, DirCommand};
use crate::output::{format_bytes, print_json, print_text, Table};
use crate::when::{format_age, format_interval, format_relative, now_ms};

/// Runs one `dir` subcommand.
pub async fn run(ctx: &Ctx, command: DirCommand) -> Result<Outcome> {
    match command {
        DirCommand::Add(args) => add(ctx, args).await,
        DirCommand::List => list(ctx).await,
        DirCommand::Remove { path } => {
            ctx.client.dir_remove(&path).await?;
            if ctx.json {
                print_json(&serde_json::json!({ "removed": path }))?;
            } else {
                print_text(&format!("{} is no longer trimmed (its files stay)\n", path.display()))?;
            }
            Ok(Outcome::Success)
        }
        DirCommand::Clear { path, dry_run } => clear_dir(ctx, &path, dry_run).await,
        DirCommand::Trim { path, dry_run } => {
            let report = ctx.client.dir_trim(path.as_deref(), dry_run).await?;
            print_freed(ctx, &report, "trimmed")
        }
    }
}

async fn add(ctx: &Ctx, args: DirAddArgs) -> Result<Outcome> {
    let settings = DirSettings {
        max_size_bytes: args.max_size,
        max_age_ms: args.max_age.map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX)),
        clear_on_pressure: args.clear_on_pressure,
        priority: args.priority,
    };
    let info = ctx.client.dir_add(&args.path, settings).await?;
    if ctx.json {
        print_json(&info)?;
    } else {
        let files =
            if info.files == 1 { "1 file".to_owned() } else { format!("{} files", info.files) };
        print_text(&format!(
            "registered {} ({} in {files}; limits: {})\n",
            info.path,
            format_bytes(info.size_bytes),
            limits_text(&info.settings)
        ))?;
    }
    Ok(Outcome::Success)
}

fn limits_text(settings: &DirSettings) -> String {
    let mut parts = Vec::new();
    if let Some(size) = settings.max_size_bytes {
        parts.push(format!("max size {}", format_bytes(size)));
    }
    if let Some(age) = settings.max_age_ms {
        parts.push(format!("max age {}", format_interval(age)));
    }
    if settings.clear_on_pressure {
        parts.push(format!("cleared under pressure (priority {})", settings.priority));
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

async fn list(ctx: &Ctx) -> Result<Outcome> {
    let dirs = ctx.client.dir_list().await?;
    if ctx.json {
        print_json(&dirs)?;
    } else {
        print_text(&list_text(&dirs, now_ms()))?;
    }
    Ok(Outcome::Success)
}

/// The `dir list` table, then one line per directory that could not be measured.
pub fn list_text(dirs: &[DirInfo], now: u64) -> String {
    if dirs.is_empty() {
        return "no cache directories registered (see `cachectl dir add`)\n".to_owned();
    }
    let mut table = Table::new(&[
        "PATH",
        "SIZE",
        "FILES",
        "OLDEST",
        "MAX SIZE",
        "MAX AGE",
        "ON PRESSURE",
        "PRIORITY",
        "LAST TRIM",
    ]);
    let mut problems = String::new();
    for dir in dirs {
        let s = &dir.settings;
        let last = match (dir.last_trim_unix_ms, &dir.last_trim_result) {
            (Some(at), Some(result)) if result.starts_with("failed") => {
                format!("failed {}", format_relative(at, now))
            }
            (Some(at), _) => format_relative(at, now),
            (None, _) => "never".to_owned(),
        };
        table.push(vec![
            dir.path.clone(),
            if dir.problem.is_some() { "?".to_owned() } else { format_bytes(dir.size_bytes) },
            dir.files.to_string(),
            dir.oldest_unix_ms.map_or("-".to_owned(), |at| format_age(now.saturating_sub(at))),
            s.max_size_bytes.map_or("-".to_owned(), format_bytes),
            s.max_age_ms.map_or("-".to_owned(), format_interval),
            if s.clear_on_pressure { "clear" } else { "trim" }.to_owned(),
            s.priority.to_string(),
            last,
        ]);
        if let Some(problem) = &dir.problem {
            problems.push_str(&format!("{}: {problem}\n", dir.path));
        }
        if let Some(result) = dir.last_trim_result.as_ref().filter(|r| r.starts_with("failed")) {
            problems.push_str(&format!("{}: last trim {result}\n", dir.path));
        }
    }
    let mut text = table.render();
    if !problems.is_empty() {
        text.push('\n');
        text.push_str(&problems);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_size_age_limits_and_last_trim() {
        let now = 100 * 86_400_000;
        let dir = DirInfo {
            path: "/c".into(),
            settings: DirSettings {
                max_size_bytes: Some(2 << 30),
                max_age_ms: Some(30 * 86_400_000),
                clear_on_pressure: true,
                priority: -1,
            },
            size_bytes: 2048,
            files: 3,
            oldest_unix_ms: Some(now - 3 * 86_400_000),
            last_trim_unix_ms: Some(now - 600_000),
            last_trim_result: Some("ok: 1 files (10 bytes)".into()),
            problem: None,
        };
        let text = list_text(&[dir], now);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("PATH") && lines[0].ends_with("LAST TRIM"), "{text}");
        for cell in ["/c", "2.0 KiB", "3", "3d", "2.0 GiB", "30d", "clear", "-1", "10m ago"] {
            assert!(lines[1].contains(cell), "{cell}: {text}");
        }
    }
}
