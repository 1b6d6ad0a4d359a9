//! `cachectl run`: memoizing a command's result in the daemon.

pub mod exec;
pub mod key;
pub mod record;
