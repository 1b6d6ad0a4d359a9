//! Arguments of `cachectl backup ...`: the stored backups of registered apps, made, listed,
//! pruned, verified and restored on demand (the daemon also makes them on its own).

use clap::{ArgGroup, Subcommand};

/// Subcommands of `cachectl backup`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back an app up now.
    Create {
        /// The app.
        app: String,
        /// Never prune this backup.
        #[arg(long)]
        pin: bool,
        /// Free text kept with the backup (why it was taken).
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// List an app's backups, newest first, with why each is kept.
    List {
        /// The app.
        app: String,
    },
    /// Delete the backups the retention rules no longer keep.
    Prune {
        /// The app.
        app: String,
        /// Only say what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Decrypt stored backups to check them; exit 4 when any is damaged.
    #[command(group(ArgGroup::new("which").required(true).args(["app", "all"])))]
    Verify {
        /// The app whose backups to check.
        app: Option<String>,
        /// Check the backups of every app.
        #[arg(long)]
        all: bool,
    },
    /// Replace an app's live file with a backup (the current file is saved first).
    #[command(group(ArgGroup::new("which").required(true).args(["backup", "latest"])))]
    #[command(override_usage = "cachectl backup restore <APP> <BACKUP|--latest>")]
    Restore {
        /// The app.
        app: String,
        /// The backup's file name, as `backup list` shows it.
        backup: Option<String>,
        /// Restore the newest verified backup.
        #[arg(long)]
        latest: bool,
    },
}
