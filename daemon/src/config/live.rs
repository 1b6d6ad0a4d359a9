//! The configuration in force: one cell that every component reads (the context for rights
//! and limits, the store for its namespaces, the jobs for their timers), replaced as a whole
//! by a reload, so no two components can hold different "current" configs.

use std::sync::{Arc, PoisonError, RwLock};

use super::Config;

/// The one live configuration.
#[derive(Debug)]
pub struct LiveConfig {
    current: RwLock<Arc<Config>>,
}

impl LiveConfig {
    /// A cell holding `config`.
    pub fn new(config: Arc<Config>) -> Arc<LiveConfig> {
        Arc::new(LiveConfig { current: RwLock::new(config) })
    }

    /// The config in force (a snapshot: it never changes under the caller).
    pub fn get(&self) -> Arc<Config> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Puts `new` in force; returns the config it replaces.
    pub fn replace(&self, new: Arc<Config>) -> Arc<Config> {
        std::mem::replace(&mut *self.current.write().unwrap_or_else(PoisonError::into_inner), new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_stays_while_the_cell_moves_on() {
        let live = LiveConfig::new(Arc::new(Config::default()));
        let before = live.get();
        let new = Arc::new(Config { read_only: true, ..Config::default() });
        let old = live.replace(new);
        assert!(Arc::ptr_eq(&old, &before));
        assert!(!before.read_only, "a snapshot never changes");
        assert!(live.get().read_only);
    }
}
