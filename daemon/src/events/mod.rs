//! Change notifications: the daemon announces every change to an [`EventHub`], which hands
//! each subscriber the events it asked for and may see, through a bounded queue.

mod filter;
mod hub;

pub use filter::EventFilter;
pub use hub::{Delivery, EventHub, Published, Subscription, Visibility};
