//! Runs one parsed command against the daemon: connect, call, print. One file per family of
//! commands; this one holds what they share.

mod admin;
mod app_content;
mod app_text;
mod apps;
mod autodump;
mod backups;
mod clear;
mod dirs;
mod dump;
mod keys;
mod kv;
mod pattern;
mod pressure;
mod run;
mod shell;
mod stats;
mod watch;

use std::path::{Path, PathBuf};

use anyhow::Result;
use cachectl::{absolute_path, default_socket_path, Client, CLIENT_NAME};

use crate::cli::{
    AppCommand, AutodumpCommand, Cli, Command, DirCommand, KeyCommand, NsCommand, StatsFormat,
};

/// How a command ended when it did not fail: the exit code scripts branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the key was missing (or a conditional set did not happen).
    NotFound,
    /// Exit 1: `status` found an app stale or broken.
    Unhealthy,
    /// Exit 4: `backup verify` found a damaged backup.
    BadBackups,
    /// Exit with this code: `run` replays the command's own.
    Exit(u8),
}

impl Outcome {
    /// `Success` when `found`, else `NotFound`; the common tail of key commands.
    pub fn found(found: bool) -> Self {
        if found {
            Outcome::Success
        } else {
            Outcome::NotFound
        }
    }
}

/// What every command needs: the connection and the output mode.
pub struct Ctx {
    /// The connected client.
    pub client: Client,
    /// Print JSON instead of text.
    pub json: bool,
}

/// The socket to use: `--socket` / `$CACHEMGR_SOCKET` when non-empty, else the default path.
pub fn socket_path(cli_socket: Option<PathBuf>) -> PathBuf {
    cli_socket.filter(|path| !path.as_os_str().is_empty()).unwrap_or_else(default_socket_path)
}

/// Executes the parsed command line.
pub async fn run(cli: Cli, socket: &Path) -> Result<Outcome> {
    match cli.command {
        Command::Bench(args) => {
            crate::bench::run(socket, &args, cli.json).await?;
            return Ok(Outcome::Success);
        }
        // These open their own connections.
        Command::Watch(args) => return watch::run(socket, args, cli.json).await,
        Command::Run(args) => return run::run(socket, args).await,
        // Made from the command line's own definition: no daemon needed.
        Command::Completions { shell } => return shell::completions(shell),
        Command::Man { dir } => return shell::man(&dir),
        _ => {}
    }
    let stats_format = match &cli.command {
        Command::Stats { ns, format } => Some(stats::format(cli.json, *format, ns.as_deref())?),
        _ => None,
    };
    // Read a `set` value before connecting, so the connection does not idle while stdin
    // is being produced.
    let set_value = match &cli.command {
        Command::Set(args) => Some(kv::read_value(args)?),
        _ => None,
    };
    // A path the protocol cannot carry is a usage error, whether or not a daemon runs.
    for path in path_arguments(&cli.command) {
        absolute_path(path)?;
    }
    let client = Client::connect(socket, CLIENT_NAME).await?;
    let ctx = Ctx { client, json: cli.json };
    match cli.command {
        Command::Ping => admin::ping(&ctx).await,
        Command::Info => admin::info(&ctx).await,
        Command::Stats { ns, .. } => {
            stats::stats(&ctx, ns.as_deref(), stats_format.unwrap_or(StatsFormat::Table)).await
        }
        Command::Ns { command: NsCommand::List } => stats::list_namespaces(&ctx).await,
        Command::Clear { dir: Some(dir), dry_run, .. } => clear::dir(&ctx, &dir, dry_run).await,
        Command::Clear { ns: Some(ns), pattern: Some(glob), regex, .. } => {
            clear::pattern(&ctx, &ns, pattern::make(glob, regex)).await
        }
        Command::Clear { ns, .. } => admin::clear(&ctx, ns.as_deref()).await,
        Command::Reload => admin::reload(&ctx).await,
        Command::Shutdown => admin::shutdown(&ctx).await,
        Command::Set(args) => kv::set(&ctx, &args, set_value.unwrap_or_default()).await,
        Command::Get { ns, key, out } => kv::get(&ctx, &ns, &key, out.as_deref()).await,
        Command::Del { ns, keys } => kv::del(&ctx, &ns, &keys).await,
        Command::Exists { ns, key } => kv::exists(&ctx, &ns, &key).await,
        Command::Ttl { ns, key } => kv::ttl(&ctx, &ns, &key).await,
        Command::Expire { ns, key, ttl, persist: _ } => kv::expire(&ctx, &ns, &key, ttl).await,
        Command::Mget { ns, keys } => kv::mget(&ctx, &ns, &keys).await,
        Command::Mset { ns, pairs, ttl } => kv::mset(&ctx, &ns, pairs, ttl).await,
        Command::Keys { ns, glob, regex, limit } => {
            pattern::keys(&ctx, &ns, pattern::select(glob, regex), limit).await
        }
        Command::Count { ns, glob, regex } => {
            pattern::count(&ctx, &ns, pattern::select(glob, regex)).await
        }
        Command::DelPattern { ns, pattern, regex } => {
            pattern::delete(&ctx, &ns, pattern::make(pattern, regex)).await
        }
        Command::ExpirePattern { ns, pattern, ttl, persist: _, regex } => {
            pattern::expire(&ctx, &ns, pattern::make(pattern, regex), ttl).await
        }
        Command::Key { command: KeyCommand::Status } => keys::status(&ctx).await,
        Command::Key { command: KeyCommand::Rotate { ns, clear } } => {
            keys::rotate(&ctx, ns.as_deref(), clear).await
        }
        Command::Dump(args) => dump::dump(&ctx, args).await,
        Command::Restore(args) => dump::restore(&ctx, args).await,
        Command::Autodump { command } => autodump::run(&ctx, command).await,
        Command::App { command } => apps::run(&ctx, command).await,
        Command::Backup { command } => backups::run(&ctx, command).await,
        Command::Dir { command } => dirs::run(&ctx, command).await,
        Command::Status => apps::status(&ctx).await,
        Command::Pressure { command } => pressure::pressure(&ctx, command).await,
        Command::Schedule { command } => pressure::schedule(&ctx, command).await,
        // Handled before connecting, above (bench, watch and run open their own connections).
        Command::Bench(_) | Command::Watch(_) | Command::Run(_) => Ok(Outcome::Success),
        Command::Completions { .. } | Command::Man { .. } => Ok(Outcome::Success),
    }
}

/// The files a command hands to the daemon.
fn path_arguments(command: &Command) -> Vec<&Path> {
    match command {
        Command::Dump(args) => vec![&args.file],
        Command::Restore(args) => vec![&args.file],
        Command::Autodump { command: AutodumpCommand::Start(args) } => vec![&args.to],
        Command::Autodump { command: AutodumpCommand::Change(args) } => {
            args.to.as_deref().into_iter().collect()
        }
        Command::App { command: AppCommand::Add(args) } => args.paths(),
        Command::App { command: AppCommand::Edit(args) } => args.paths(),
        Command::App { command: AppCommand::ImportCacheManager { cache, backups } } => {
            cache.as_deref().into_iter().chain(backups.as_deref()).collect()
        }
        Command::Clear { dir: Some(dir), .. } => vec![dir],
        Command::Dir { command: DirCommand::Add(args) } => vec![&args.path],
        Command::Dir { command: DirCommand::Remove { path } } => vec![path],
        Command::Dir { command: DirCommand::Clear { path, .. } } => vec![path],
        Command::Dir { command: DirCommand::Trim { path: Some(path), .. } } => vec![path],
        _ => Vec::new(),
    }
}
