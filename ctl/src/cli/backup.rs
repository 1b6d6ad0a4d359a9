//! Arguments of `cachectl backup ...`: the stored backups of registered apps, made, listed,
//! pruned, verified and restored on demand (the daemon also makes them on its own).

use clap::Subcommand;

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
    Verify {
        /// The app whose backups to check.
        #[arg(required_unless_present = "all")]
        app: Option<String>,
        /// Check the backups of every app.
        #[arg(long, conflicts_with = "app")]
        all: bool,
    },
    /// Replace an app's live file with a backup (the current file is saved first).
    Restore {
        /// The app.
        app: String,
        /// The backup's file name, as `backup list` shows it.
        #[arg(required_unless_present = "latest")]
        backup: Option<String>,
        /// Restore the newest verified backup.
        #[arg(long, conflicts_with = "backup")]
        latest: bool,
    },
}
