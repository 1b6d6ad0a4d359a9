//! Which events a subscriber may see: the same rules as reading (section 5.1 of the
//! protocol), applied to every event as it is published.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::caller::Caller;
use super::policy::may_use;
use crate::config::Config;
use crate::events::{Published, Visibility};
use crate::store::Store;

/// A subscriber's rights. Namespace answers are remembered per config, because the rules
/// may look up group names (NSS) and events are published on the write path; a `reload`
/// brings a new config and so a fresh answer.
pub struct CallerVisibility {
    caller: Caller,
    store: Weak<Store>,
    remembered: Mutex<Remembered>,
}

#[derive(Default)]
struct Remembered {
    config: Option<Arc<Config>>,
    namespaces: HashMap<String, bool>,
}

impl CallerVisibility {
    /// The rights of `caller`, judged against the config `store` follows. The configured
    /// namespaces (the only ones whose rules may need user and group lookups, which can be
    /// slow with a network directory) are judged here, before any event is published under
    /// the store's locks. After a `reload` they are judged again as events come.
    pub fn new(caller: Caller, store: &Arc<Store>) -> Self {
        let visibility =
            Self { caller, store: Arc::downgrade(store), remembered: Mutex::default() };
        for ns in store.current_config().namespaces.keys() {
            visibility.may_read(ns);
        }
        visibility
    }

    fn may_read(&self, ns: &str) -> bool {
        let Some(store) = self.store.upgrade() else { return false };
        let config = store.current_config();
        let mut remembered = self.remembered.lock().unwrap_or_else(PoisonError::into_inner);
        if !remembered.config.as_ref().is_some_and(|seen| Arc::ptr_eq(seen, &config)) {
            remembered.namespaces.clear();
            remembered.config = Some(config.clone());
        }
        if let Some(&answer) = remembered.namespaces.get(ns) {
            return answer;
        }
        let answer = may_use(&self.caller, ns, false, &config);
        remembered.namespaces.insert(ns.to_owned(), answer);
        answer
    }
}

impl Visibility for CallerVisibility {
    fn may_see(&self, published: &Published) -> bool {
        if self.caller.admin {
            return true;
        }
        if let Some(owner) = published.owner_uid {
            return owner == self.caller.peer.uid;
        }
        match &published.event.ns {
            Some(ns) => self.may_read(ns),
            None => true,
        }
    }
}
