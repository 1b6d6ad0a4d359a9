//! The last actions of the monitor, bounded so a long-running daemon under repeated pressure
//! keeps a constant amount of history.

use std::collections::VecDeque;

use cachemgr_proto::PressureAction;

/// Actions kept.
pub const HISTORY_LEN: usize = 32;

/// A ring of the last [`HISTORY_LEN`] actions, oldest first.
#[derive(Debug, Default)]
pub struct History(VecDeque<PressureAction>);

impl History {
    /// Appends an action, dropping the oldest beyond the bound.
    pub fn push(&mut self, action: PressureAction) {
        if self.0.len() == HISTORY_LEN {
            self.0.pop_front();
        }
        self.0.push_back(action);
    }

    /// A copy, oldest first.
    pub fn to_vec(&self) -> Vec<PressureAction> {
        self.0.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_actions() {
        let mut history = History::default();
        for at in 0..(HISTORY_LEN as u64 + 5) {
            history.push(PressureAction { at_unix_ms: at, ..PressureAction::default() });
        }
        let kept = history.to_vec();
        assert_eq!(kept.len(), HISTORY_LEN);
        assert_eq!(kept[0].at_unix_ms, 5);
        assert_eq!(kept[HISTORY_LEN - 1].at_unix_ms, HISTORY_LEN as u64 + 4);
    }
}
