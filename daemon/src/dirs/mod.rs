//! Disposable cache directories: directories registered with limits (a size, an age) whose
//! files the daemon deletes, oldest first, on a schedule, on request, and under pressure.
//!
//! Safety is the point of this module: a trim never follows a symlink (a link is deleted as
//! the directory entry it is, never its target), never leaves the registered directory (the
//! walk goes from directory descriptor to directory descriptor with `O_NOFOLLOW`, and every
//! file is looked at again just before it is unlinked), never crosses into another file
//! system, and never deletes the registered directory itself. `dir add` refuses `/`, home
//! directories, system directories and the daemon's own directories.

pub use crate::config::dirs as config;
pub mod error;
pub mod plan;
pub mod registry;
pub mod remove;
pub mod safety;
pub mod scheduler;
pub mod service;
#[cfg(test)]
mod tests;
pub mod walk;
pub mod work;

pub use error::DirsError;
pub use service::{DirService, DirsFreed, Freed};
