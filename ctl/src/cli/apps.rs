//! Arguments of `cachectl app ...`: registering desktop apps' encrypted cache files with the
//! daemon (which then backs them up, verifies and restores them), and looking into or
//! changing their decrypted JSON.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cachectl::{absolute_path, ttl_to_ms, AppSettings, AppStrategy, ClientError};
use clap::{Args, Subcommand, ValueEnum};

use crate::parse::{parse_duration, parse_interval, parse_json_text, parse_pointer};

/// `--strategy` of `app add` / `app edit`: how the cache file is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// P-384 ECDH + AES-256-GCM.
    Standard,
    /// Kyber768 + AES-256-GCM.
    Quantum,
    /// Plain JSON, not encrypted.
    None,
}

impl From<StrategyArg> for AppStrategy {
    fn from(arg: StrategyArg) -> Self {
        match arg {
            StrategyArg::Standard => AppStrategy::Standard,
            StrategyArg::Quantum => AppStrategy::Quantum,
            StrategyArg::None => AppStrategy::None,
        }
    }
}

/// `--strategy` of `app migrate`: only real encryptions, since new keys for a plain file
/// make no sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyStrategyArg {
    /// P-384 ECDH + AES-256-GCM.
    Standard,
    /// Kyber768 + AES-256-GCM.
    Quantum,
}

impl From<KeyStrategyArg> for AppStrategy {
    fn from(arg: KeyStrategyArg) -> Self {
        match arg {
            KeyStrategyArg::Standard => AppStrategy::Standard,
            KeyStrategyArg::Quantum => AppStrategy::Quantum,
        }
    }
}

/// Subcommands of `cachectl app`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an app's cache file (it must decrypt) to back it up on a schedule.
    Add(AppAddArgs),
    /// Change a registered app's settings (only the options given change).
    Edit(AppEditArgs),
    /// Forget an app; its backups stay on disk unless --delete-backups.
    Remove {
        /// The app.
        name: String,
        /// Also delete its stored backups.
        #[arg(long)]
        delete_backups: bool,
    },
    /// List the registered apps with their last good backup, schedule and health.
    List,
    /// Show one app's settings, backup directory and health.
    Show {
        /// The app.
        name: String,
    },
    /// Register the apps of the Python Cache Manager and adopt their backups.
    ImportCacheManager {
        /// The Cache Manager's own encrypted cache [default: its usual place].
        #[arg(long, value_name = "FILE")]
        cache: Option<PathBuf>,
        /// Its backup directory [default: the one its cache names].
        #[arg(long, value_name = "DIR")]
        backups: Option<PathBuf>,
    },
    /// Show the structure of an app's decrypted JSON (keys, types, sizes; values on request).
    Inspect {
        /// The app.
        app: String,
        /// Only the subtree at this JSON pointer (e.g. /settings).
        #[arg(long, value_name = "POINTER", value_parser = parse_pointer)]
        pointer: Option<String>,
        /// Also print scalar values (they may be secrets).
        #[arg(long)]
        show_values: bool,
        /// Levels below the pointer to describe [default: 2].
        #[arg(long, value_name = "N")]
        depth: Option<u32>,
    },
    /// Change one value of an app's JSON; the file as it was is kept as a backup.
    Set {
        /// The app.
        app: String,
        /// JSON pointer of the value to replace or add (e.g. /settings/theme).
        #[arg(value_parser = parse_pointer)]
        pointer: String,
        /// The new value as JSON: '"dark"', 42, true, '{"a": 1}'.
        #[arg(value_name = "VALUE_JSON", value_parser = parse_json_text)]
        value: String,
    },
    /// Give an app new keys and re-encrypt its file and every backup with them.
    Migrate {
        /// The app.
        app: String,
        /// Generate new keys (required: it is the only kind of migration).
        #[arg(long, required = true)]
        new_keys: bool,
        /// The new encryption [default: the current one].
        #[arg(long, value_enum)]
        strategy: Option<KeyStrategyArg>,
    },
}

/// The settings `app add` and `app edit` share; absent options keep the current value (or
/// the daemon's default when adding).
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Keyring service [default: MyPersonalApplicationsService].
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// App identifier in the keyring [default: the name, lowercased, spaces and dashes to _].
    #[arg(long, value_name = "ID")]
    pub app_id: Option<String>,
    /// Encryption [default: what the keyring says].
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyArg>,
    /// Back up on a schedule: 6h, 1d, 30m; 0 = only when the file changes.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub backup_every: Option<Duration>,
    /// Keep the newest N backups (at least 1) [default: 10].
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Also keep the newest backup of each of the last N days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Also keep the newest backup of each of the last N weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Also keep the newest backup of each of the last N months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Call the app stale when its last good backup is older than this [default: 30d].
    #[arg(long, value_name = "DUR", value_parser = parse_interval)]
    pub stale_after: Option<Duration>,
}

impl SettingsArgs {
    /// The wire form, durations in milliseconds; the paths are the caller's to add.
    pub fn to_settings(&self) -> AppSettings {
        AppSettings {
            service: self.service.clone(),
            app_id: self.app_id.clone(),
            strategy: self.strategy.map(AppStrategy::from),
            backup_every_ms: self.backup_every.map(ttl_to_ms),
            keep_last: self.keep_last,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            stale_after_ms: self.stale_after.map(ttl_to_ms),
            ..AppSettings::default()
        }
    }
}

/// Arguments of `cachectl app add`.
#[derive(Debug, Args)]
pub struct AppAddArgs {
    /// Unique name (letters, digits, space, `.`, `_`, `-`).
    pub name: String,
    /// The app's cache file; relative to the current directory.
    #[arg(long, value_name = "FILE")]
    pub path: PathBuf,
    /// Also write every backup to this directory (e.g. a mounted USB disk).
    #[arg(long, value_name = "DIR")]
    pub external_dir: Option<PathBuf>,
    /// The other settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

impl AppAddArgs {
    /// The settings to send, paths made absolute (a usage error when they cannot be).
    pub fn to_settings(&self) -> Result<AppSettings, ClientError> {
        Ok(AppSettings {
            path: Some(absolute_path(&self.path)?),
            external_dir: self.external_dir.as_deref().map(absolute_path).transpose()?,
            ..self.settings.to_settings()
        })
    }

    /// The paths it hands to the daemon, to check before connecting.
    pub fn paths(&self) -> Vec<&Path> {
        std::iter::once(self.path.as_path()).chain(self.external_dir.as_deref()).collect()
    }
}

/// Arguments of `cachectl app edit`: at least one change.
#[derive(Debug, Args)]
#[command(override_usage = "cachectl app edit <NAME> <OPTION>... (at least one)")]
#[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args([
    "path", "external_dir", "no_external_dir", "service", "app_id", "strategy", "backup_every",
    "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "stale_after",
])))]
pub struct AppEditArgs {
    /// The app.
    pub name: String,
    /// A new place of the cache file; relative to the current directory.
    #[arg(long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// Also write every backup to this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "no_external_dir")]
    pub external_dir: Option<PathBuf>,
    /// Stop writing backups to the external directory.
    #[arg(long)]
    pub no_external_dir: bool,
    /// The other settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

impl AppEditArgs {
    /// The changes to send, paths made absolute; `--no-external-dir` is the empty directory
    /// the protocol reads as "none".
    pub fn to_settings(&self) -> Result<AppSettings, ClientError> {
        let external_dir = if self.no_external_dir {
            Some(String::new())
        } else {
            self.external_dir.as_deref().map(absolute_path).transpose()?
        };
        Ok(AppSettings {
            path: self.path.as_deref().map(absolute_path).transpose()?,
            external_dir,
            ..self.settings.to_settings()
        })
    }

    /// The paths it hands to the daemon, to check before connecting.
    pub fn paths(&self) -> Vec<&Path> {
        self.path.as_deref().into_iter().chain(self.external_dir.as_deref()).collect()
    }
}
