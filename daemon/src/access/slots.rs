//! Connection slots: how many connections one user, and everyone who is not privileged, may
//! hold, so one uid cannot take every slot and lock everyone else (admins included) out.
//!
//! Decided at accept time from the kernel's credentials alone. The last
//! `admin_reserved_connections` of `max_connections` are kept for privileged callers (root,
//! the daemon's own user, members of `admin_group`); everyone else also holds at most
//! `max_connections_per_user` at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The limits in force (from the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLimits {
    /// Connections in all.
    pub total: usize,
    /// Of those, kept for privileged callers.
    pub reserved: usize,
    /// Per unprivileged uid.
    pub per_user: usize,
}

impl SlotLimits {
    /// The limits `config` sets with `total` slots (`max_connections` as read at start); the
    /// reserve always leaves one slot to everyone else.
    pub fn of(config: &crate::config::Config, total: usize) -> SlotLimits {
        SlotLimits {
            total,
            reserved: config.admin_reserved_connections.min(total.saturating_sub(1)),
            per_user: config.max_connections_per_user,
        }
    }
}

/// Why a connection was turned away; the message says which limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotRefusal {
    /// Every slot is taken.
    #[error("too many connections: the daemon serves at most {0} at once (max_connections)")]
    Full(usize),
    /// Only the reserved slots are left.
    #[error(
        "too many connections: the last {reserved} of {total} are kept for admins \
         (admin_reserved_connections)"
    )]
    Reserved {
        /// Reserved slots.
        reserved: usize,
        /// All slots.
        total: usize,
    },
    /// This uid holds its share.
    #[error(
        "too many connections from uid {uid}: at most {per_user} at once per user \
         (max_connections_per_user)"
    )]
    PerUser {
        /// The caller.
        uid: u32,
        /// The cap.
        per_user: usize,
    },
}

/// The slots in use, shared by the accept loop and the connections' guards.
#[derive(Debug, Default)]
pub struct Slots {
    inner: Mutex<Used>,
}

#[derive(Debug, Default)]
struct Used {
    total: usize,
    by_uid: HashMap<u32, usize>,
}

/// A slot held; given back on drop.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    uid: Option<u32>,
}

impl Slots {
    /// Takes a slot for `uid` if `limits` allow it (`privileged`: not counted per user,
    /// and may use the reserve).
    pub fn take(
        self: &Arc<Self>,
        uid: u32,
        privileged: bool,
        limits: SlotLimits,
    ) -> Result<Slot, SlotRefusal> {
        let mut used = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if used.total >= limits.total {
            return Err(SlotRefusal::Full(limits.total));
        }
        if privileged {
            used.total += 1;
            return Ok(Slot { slots: self.clone(), uid: None });
        }
        if used.total >= limits.total.saturating_sub(limits.reserved) {
            return Err(SlotRefusal::Reserved { reserved: limits.reserved, total: limits.total });
        }
        let mine = used.by_uid.entry(uid).or_default();
        if *mine >= limits.per_user {
            return Err(SlotRefusal::PerUser { uid, per_user: limits.per_user });
        }
        *mine += 1;
        used.total += 1;
        Ok(Slot { slots: self.clone(), uid: Some(uid) })
    }

    /// Connections held now.
    pub fn in_use(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = self.slots.inner.lock().unwrap_or_else(PoisonError::into_inner);
        used.total = used.total.saturating_sub(1);
        if let Some(uid) = self.uid {
            if let Some(mine) = used.by_uid.get_mut(&uid) {
                *mine -= 1;
                if *mine == 0 {
                    used.by_uid.remove(&uid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SlotLimits = SlotLimits { total: 6, reserved: 2, per_user: 3 };

    #[test]
    fn one_user_cannot_take_every_slot_and_admins_keep_their_reserve() {
        let slots = Arc::new(Slots::default());
        let mallory: Vec<Slot> = (0..3).map(|_| slots.take(1000, false, LIMITS).unwrap()).collect();
        assert_eq!(
            slots.take(1000, false, LIMITS).unwrap_err(),
            SlotRefusal::PerUser { uid: 1000, per_user: 3 }
        );
        let bob = slots.take(1001, false, LIMITS).unwrap();
        assert_eq!(
            slots.take(1002, false, LIMITS).unwrap_err(),
            SlotRefusal::Reserved { reserved: 2, total: 6 }
        );
        let admins: Vec<Slot> = (0..2).map(|_| slots.take(0, true, LIMITS).unwrap()).collect();
        assert_eq!(slots.take(0, true, LIMITS).unwrap_err(), SlotRefusal::Full(6));
        assert_eq!(slots.in_use(), 6);
        drop(mallory);
        drop(bob);
        drop(admins);
        assert_eq!(slots.in_use(), 0);
        assert!(slots.inner.lock().unwrap().by_uid.is_empty(), "no uid left behind");
        slots.take(1000, false, LIMITS).expect("slots come back");
    }
}
