//! The trigger of one resource: act once when usage reaches `high`, then stay quiet until it
//! has fallen below `low` (re-armed), so usage hovering around one threshold does not make
//! the monitor clear the cache on every check.

use cachemgr_proto::TriggerState;

/// What one reading did to the trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Armed and still below `high`: nothing to do.
    Quiet,
    /// Armed and at or above `high`: act now (the trigger is now `Triggered`).
    Fire,
    /// Triggered and not yet below `low`: already acted, do nothing.
    Hold,
    /// Triggered and now below `low`: armed again.
    Rearm,
}

/// One resource's trigger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trigger {
    state: TriggerState,
}

impl Trigger {
    /// Its state, as `pressure` reports it.
    pub fn state(&self) -> TriggerState {
        self.state
    }

    /// Feeds one reading (percent used) with the thresholds in force now.
    pub fn observe(&mut self, used: f64, high: f64, low: f64) -> Step {
        match self.state {
            TriggerState::Armed if used >= high => {
                self.state = TriggerState::Triggered;
                Step::Fire
            }
            TriggerState::Armed => Step::Quiet,
            TriggerState::Triggered if used < low => {
                self.state = TriggerState::Armed;
                Step::Rearm
            }
            TriggerState::Triggered => Step::Hold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_then_holds_until_below_low() {
        let mut t = Trigger::default();
        let steps: Vec<Step> = [50.0, 84.9, 85.0, 90.0, 80.0, 75.0, 74.9, 80.0, 86.0, 86.0]
            .into_iter()
            .map(|used| t.observe(used, 85.0, 75.0))
            .collect();
        use Step::*;
        assert_eq!(steps, [Quiet, Quiet, Fire, Hold, Hold, Hold, Rearm, Quiet, Fire, Hold]);
        assert_eq!(t.state(), TriggerState::Triggered);
    }

    #[test]
    fn new_thresholds_apply_to_the_next_reading() {
        let mut t = Trigger::default();
        assert_eq!(t.observe(3.0, 2.0, 1.0), Step::Fire);
        // Raised above the usage (a reload): re-arms as soon as usage is below the new low.
        assert_eq!(t.observe(3.0, 99.0, 98.0), Step::Rearm);
        assert_eq!(t.state(), TriggerState::Armed);
        assert_eq!(t.observe(3.0, 2.0, 1.0), Step::Fire);
    }
}
