//! Timed jobs the daemon runs on its own. Each job owns its settings and its timer; handlers
//! call it, and the daemon spawns its `run` loop once at start-up.

pub mod autodump;
pub mod clear_schedule;
