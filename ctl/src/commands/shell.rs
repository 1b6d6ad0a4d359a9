//! `completions` and `man`: shell integration made from the command line's own definition,
//! so it always matches this binary. Neither talks to the daemon.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::Outcome;
use crate::cli::Cli;
use crate::output::print_text;

/// Prints the completion script for `shell`. Rendered into memory first: the generator
/// panics on a write error, and a closed pipe must stay an ordinary error.
pub fn completions(shell: Shell) -> Result<Outcome> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "cachectl", &mut script);
    print_text(&String::from_utf8(script).context("the completion script is not UTF-8")?)?;
    Ok(Outcome::Success)
}

/// Writes `cachectl.1` and one page per subcommand, nested ones included
/// (`cachectl-app-add.1`), into `dir`, and prints each path written.
pub fn man(dir: &Path) -> Result<Outcome> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The `help` pseudo-subcommand gets no page (each page shows its own --help).
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut written = Vec::new();
    write_pages(&root, dir, &mut written)?;
    let mut listing = String::new();
    for path in written {
        listing.push_str(&format!("{}\n", path.display()));
    }
    print_text(&listing)?;
    Ok(Outcome::Success)
}

/// The page of `command`, then those of its visible subcommands. A built command carries
/// its display name (`cachectl-app-add`), which names the file.
fn write_pages(
    command: &clap::Command,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> Result<()> {
    // Every page's footer names the program and version (a subcommand has no version of its
    // own, which would leave just its name there).
    let path = clap_mangen::Man::new(command.clone())
        .source(concat!("cachectl ", env!("CARGO_PKG_VERSION")))
        .generate_to(dir)
        .with_context(|| format!("cannot write a man page into {}", dir.display()))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
