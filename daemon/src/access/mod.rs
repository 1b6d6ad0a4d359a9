//! Access control: the caller's identity and role from the kernel, per-namespace and per-app
//! rights, read-only mode, and trimming answers to what the caller may see.

pub mod caller;
pub mod filter;
pub use crate::nss as names;
pub mod paths;
pub mod policy;
#[cfg(test)]
mod policy_model_tests;
pub mod slots;
pub mod visibility;

pub use caller::Caller;
pub use policy::{check, may_use, Refusal};
pub use slots::{Slot, SlotLimits, SlotRefusal, Slots};
