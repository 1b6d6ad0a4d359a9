//! `app ...` and `status`: registering app cache files and reading their health. The texts
//! live in `app_text.rs`; looking into and changing the files in `app_content.rs`.

use anyhow::Result;
use cachectl::AppInfo;
use serde_json::json;

use super::app_text::{imported_text, list_text, show_text, status_text};
use super::{app_content, Ctx, Outcome};
use crate::cli::AppCommand;
use crate::output::{print_json, print_text};
use crate::progress::Reporter;
use crate::when::Local;

/// Runs one `app` subcommand.
pub async fn run(ctx: &Ctx, command: AppCommand) -> Result<Outcome> {
    let client = &ctx.client;
    match command {
        AppCommand::Add(args) => {
            let app = client.app_add(&args.name, args.to_settings()?).await?;
            print_app(ctx, "registered", &app)
        }
        AppCommand::Edit(args) => {
            let app = client.app_edit(&args.name, args.to_settings()?).await?;
            print_app(ctx, "updated", &app)
        }
        AppCommand::Remove { name, delete_backups } => {
            client.app_remove(&name, delete_backups).await?;
            if ctx.json {
                print_json(&json!({ "removed": name, "delete_backups": delete_backups }))?;
            } else if delete_backups {
                print_text(&format!("removed {name} and deleted its backups\n"))?;
            } else {
                print_text(&format!("removed {name}; its backups stay on disk\n"))?;
            }
            Ok(Outcome::Success)
        }
        AppCommand::List => {
            let apps = client.app_list().await?;
            if ctx.json {
                print_json(&json!({ "apps": apps }))?;
            } else {
                print_text(&list_text(&apps, &Local::current()))?;
            }
            Ok(Outcome::Success)
        }
        AppCommand::Show { name } => {
            let app = client.app_show(&name).await?;
            if ctx.json {
                print_json(&app)?;
            } else {
                print_text(&show_text(&app, &Local::current()))?;
            }
            Ok(Outcome::Success)
        }
        AppCommand::ImportCacheManager { cache, backups } => {
            let mut reporter = Reporter::new(ctx.json);
            let result = client
                .app_import(cache.as_deref(), backups.as_deref(), |p| reporter.update(p))
                .await;
            reporter.finish();
            let report = result?;
            if ctx.json {
                print_json(&report)?;
            } else {
                print_text(&imported_text(&report))?;
            }
            Ok(Outcome::Success)
        }
        command => app_content::run(ctx, command).await,
    }
}

/// The answer of `app add` / `app edit`: the app as the daemon now holds it.
fn print_app(ctx: &Ctx, done: &str, app: &AppInfo) -> Result<Outcome> {
    if ctx.json {
        print_json(app)?;
    } else {
        let text = format!("{done} {}\n{}", app.name, show_text(app, &Local::current()));
        print_text(&text)?;
    }
    Ok(Outcome::Success)
}

/// `status`: exit 0 when healthy, 1 (with the problems) while any app is stale or broken.
pub async fn status(ctx: &Ctx) -> Result<Outcome> {
    let status = ctx.client.status().await?;
    if ctx.json {
        print_json(&status)?;
    } else {
        print_text(&status_text(&status))?;
    }
    Ok(if status.healthy { Outcome::Success } else { Outcome::Unhealthy })
}
