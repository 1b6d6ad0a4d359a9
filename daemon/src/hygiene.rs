//! Process-level secrets hygiene: no core dumps or same-uid ptrace of a process holding keys,
//! and key pages kept out of swap where the memlock limit allows.
//!
//! Both are best effort: a failure is logged (once, for the memory lock) and the daemon goes
//! on, since refusing to start would turn a hardening measure into an outage.

use std::sync::atomic::{AtomicBool, Ordering};

use rustix::process::DumpableBehavior;

/// Set once the first `mlock` failure has been logged, so a low `RLIMIT_MEMLOCK` gives one
/// line rather than one per derived key.
static MLOCK_FAILURE_LOGGED: AtomicBool = AtomicBool::new(false);

/// Marks the process non-dumpable (`PR_SET_DUMPABLE 0`): the kernel writes no core file for
/// it, other processes of the same uid cannot ptrace it or read `/proc/<pid>/mem`, and its
/// `/proc/<pid>` files become root-owned. Call before any key is loaded.
pub fn make_non_dumpable() -> rustix::io::Result<()> {
    rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable)
}

/// Whether the process is currently marked non-dumpable.
pub fn is_non_dumpable() -> rustix::io::Result<bool> {
    Ok(rustix::process::dumpable_behavior()? == DumpableBehavior::NotDumpable)
}

/// The umask the daemon sets for itself at start, whatever launched it: every file and
/// directory it creates is private to its user unless it widens one on purpose (the socket
/// directory for `socket_group`).
pub const UMASK: u32 = 0o077;

/// Sets [`UMASK`] and [`make_non_dumpable`] for the start of `main`: logs the outcome instead
/// of returning it.
pub fn harden_process() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(UMASK));
    match make_non_dumpable() {
        Ok(()) => tracing::debug!("process marked non-dumpable: no core files, no same-uid ptrace"),
        Err(err) => tracing::warn!("cannot mark the process non-dumpable: {err}"),
    }
}

/// Locks the pages holding `bytes` in RAM (`mlock`) so a key is never written to swap. The
/// pages stay locked until exit: locks do not nest, so unlocking one key's page on drop could
/// unlock a neighbour's key sharing it. Failure is logged once (at info) and is not fatal.
pub fn lock_in_memory(bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    // SAFETY: the range is a live, exclusively borrowed buffer; mlock only changes the
    // residency of the pages that contain it and never reads or writes through the pointer.
    let locked = unsafe { rustix::mm::mlock(bytes.as_mut_ptr().cast(), bytes.len()) };
    if let Err(err) = locked {
        if !MLOCK_FAILURE_LOGGED.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "cannot lock key pages in memory ({err}): keys may be swapped out; raise \
                 RLIMIT_MEMLOCK (LimitMEMLOCK= under systemd) to lock them"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_becomes_non_dumpable() {
        // The test harness process itself: once set, it stays so, which is harmless here.
        make_non_dumpable().expect("prctl(PR_SET_DUMPABLE, 0)");
        assert!(is_non_dumpable().expect("prctl(PR_GET_DUMPABLE)"));
    }

    #[test]
    fn locking_a_buffer_never_fails_loudly() {
        let mut key = Box::new([0x5au8; 32]);
        lock_in_memory(key.as_mut_slice());
        lock_in_memory(&mut []);
        assert_eq!(key[0], 0x5a, "locking leaves the bytes alone");
    }
}
