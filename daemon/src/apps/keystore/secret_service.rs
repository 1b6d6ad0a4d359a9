//! The D-Bus Secret Service, spoken in the Python `keyring` layout.
//!
//! Python `keyring` (25.x, `backends/SecretService.py`) stores an entry in the `default`
//! collection with the attributes `application` = "Python keyring library", `service` and
//! `username`, the label `Password for '{username}' on '{service}'`, content type
//! `text/plain` and `replace=True`; it reads the first item of the default collection that
//! matches `service` and `username`. This module reads the same way (falling back to the other
//! collections when the default has no match), writes the same items, and after a write
//! removes every other item matching the pair so the apps see the new value.
//!
//! Blocking: runs on the worker thread ([`super::worker`]), one connection per batch. It
//! never unlocks anything (that would raise a prompt on the desktop, or hang headless): a
//! locked collection is reported with the command that unlocks it.

use std::collections::HashMap;

use secret_service::blocking::{Item, SecretService};
use secret_service::{EncryptionType, Error as SsError};
use zeroize::{Zeroize, Zeroizing};

use super::entries::{EntryReader, EntryValue};
use super::error::AppKeyStoreError;

/// The `application` attribute Python `keyring` puts on every item it writes.
pub const PYTHON_KEYRING_APPLICATION: &str = "Python keyring library";

/// D-Bus error name the Secret Service spec gives to using a locked object.
const IS_LOCKED: &str = "org.freedesktop.Secret.Error.IsLocked";
/// D-Bus errors saying nobody owns (or can be started for) `org.freedesktop.secrets`.
const NO_PROVIDER: [&str; 2] =
    ["org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"];

/// The item label Python `keyring` writes.
pub fn python_label(service: &str, user: &str) -> String {
    format!("Password for '{user}' on '{service}'")
}

/// An open connection to the Secret Service for the entries of one keyring service.
pub(crate) struct SsSession {
    ss: SecretService<'static>,
    /// Object path of the `default` collection, if there is one.
    default: Option<String>,
    /// Whether that collection was locked at connect time: some stores hide the items of a
    /// locked collection, so "no match" there means "cannot tell", not "absent".
    default_locked: bool,
    service: String,
}

impl SsSession {
    /// Connects (one D-Bus connection and one encrypted session for the whole batch).
    pub(crate) fn connect(service: &str) -> Result<SsSession, AppKeyStoreError> {
        let ss = SecretService::connect(EncryptionType::Dh).map_err(connect_error)?;
        let opening = |err| classify(err, "open the default collection for", service, "*");
        let (default, default_locked) = match ss.get_default_collection() {
            Ok(collection) => (
                Some(collection.collection_path.as_str().to_owned()),
                collection.is_locked().map_err(opening)?,
            ),
            Err(SsError::NoResult) => (None, false),
            Err(err) => return Err(opening(err)),
        };
        Ok(SsSession { ss, default, default_locked, service: service.to_owned() })
    }

    fn attributes<'a>(&'a self, user: &'a str) -> HashMap<&'a str, &'a str> {
        HashMap::from([("service", self.service.as_str()), ("username", user)])
    }

    fn error(&self, err: SsError, action: &'static str, user: &str) -> AppKeyStoreError {
        classify(err, action, &self.service, user)
    }

    fn in_default(&self, item: &Item<'_>) -> bool {
        self.default.as_deref().is_some_and(|default| {
            item.item_path.as_str().strip_prefix(default).is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// The item Python would read: first unlocked match of the default collection; then any
    /// unlocked match elsewhere. A locked match that would have been chosen is an error, and
    /// so is no match while the default collection is locked.
    fn read_value(&self, user: &str) -> Result<EntryValue, AppKeyStoreError> {
        let found = self
            .ss
            .search_items(self.attributes(user))
            .map_err(|e| self.error(e, "search", user))?;
        let locked =
            || AppKeyStoreError::Locked { service: self.service.clone(), user: user.to_owned() };
        let chosen = if let Some(item) = found.unlocked.iter().find(|i| self.in_default(i)) {
            item
        } else if found.locked.iter().any(|i| self.in_default(i)) {
            return Err(locked());
        } else if let Some(item) = found.unlocked.first() {
            item
        } else if !found.locked.is_empty() || self.default_locked {
            return Err(locked());
        } else {
            return Ok(None);
        };
        let secret = Zeroizing::new(chosen.get_secret().map_err(|e| self.error(e, "read", user))?);
        text(secret).map(Some).ok_or_else(|| AppKeyStoreError::NotText {
            service: self.service.clone(),
            user: user.to_owned(),
        })
    }

    /// Writes every entry as Python would, removes the other items matching each pair, then
    /// reads each back the way Python does to prove the apps will see it.
    pub(crate) fn write(
        &self,
        entries: &[(String, Zeroizing<String>)],
    ) -> Result<(), AppKeyStoreError> {
        let Some((first, _)) = entries.first() else {
            return Ok(());
        };
        let collection = self.ss.get_default_collection().map_err(|err| match err {
            SsError::NoResult => {
                AppKeyStoreError::NoDefaultCollection { service: self.service.clone() }
            }
            err => self.error(err, "open the default collection for", first),
        })?;
        if collection.is_locked().map_err(|e| self.error(e, "open", first))? {
            return Err(AppKeyStoreError::Locked {
                service: self.service.clone(),
                user: first.clone(),
            });
        }
        for (user, value) in entries {
            let mut attributes = self.attributes(user);
            attributes.insert("application", PYTHON_KEYRING_APPLICATION);
            let label = python_label(&self.service, user);
            let item = collection
                .create_item(&label, attributes, value.as_bytes(), true, "text/plain")
                .map_err(|e| self.error(e, "write", user))?;
            self.remove_others(user, item.item_path.as_str())?;
        }
        for (user, value) in entries {
            match self.read_value(user)? {
                Some(back) if back.as_str() == value.as_str() => {}
                back => {
                    return Err(AppKeyStoreError::WriteNotVisible {
                        service: self.service.clone(),
                        user: user.clone(),
                        found: if back.is_some() { "another value" } else { "nothing" },
                    })
                }
            }
        }
        Ok(())
    }

    /// Deletes every unlocked item matching (service, `user`) but `keep`. Matches in other,
    /// locked collections cannot be deleted without a prompt; Python never reads them (it
    /// reads the default collection only), so they are left with a warning.
    fn remove_others(&self, user: &str, keep: &str) -> Result<(), AppKeyStoreError> {
        let found = self
            .ss
            .search_items(self.attributes(user))
            .map_err(|e| self.error(e, "search", user))?;
        for item in found.unlocked.iter().filter(|item| item.item_path.as_str() != keep) {
            item.delete().map_err(|e| self.error(e, "delete a duplicate of", user))?;
        }
        let stuck = found.locked.iter().filter(|item| item.item_path.as_str() != keep).count();
        if stuck > 0 {
            tracing::warn!(
                service = %self.service,
                user,
                count = stuck,
                "other keyring items for this entry sit in locked collections and were left; \
                 the Python apps read only the default collection"
            );
        }
        Ok(())
    }

    /// Deletes every item matching (service, `user`): how many went. Matches in a locked
    /// collection are an error (after the unlocked ones are gone), and so is no match while
    /// the default collection is locked (it may hide them).
    pub(crate) fn delete(&self, user: &str) -> Result<usize, AppKeyStoreError> {
        let found = self
            .ss
            .search_items(self.attributes(user))
            .map_err(|e| self.error(e, "search", user))?;
        for item in &found.unlocked {
            item.delete().map_err(|e| self.error(e, "delete", user))?;
        }
        if !found.locked.is_empty() || (found.unlocked.is_empty() && self.default_locked) {
            return Err(AppKeyStoreError::Locked {
                service: self.service.clone(),
                user: user.to_owned(),
            });
        }
        Ok(found.unlocked.len())
    }
}

impl EntryReader for SsSession {
    fn read(&mut self, user: &str) -> Result<EntryValue, AppKeyStoreError> {
        self.read_value(user)
    }
}

/// The secret as text, or `None` (having wiped the bytes) when it is not UTF-8.
fn text(mut secret: Zeroizing<Vec<u8>>) -> Option<Zeroizing<String>> {
    match String::from_utf8(std::mem::take(&mut *secret)) {
        Ok(text) => Some(Zeroizing::new(text)),
        Err(err) => {
            err.into_bytes().zeroize();
            None
        }
    }
}

/// Sorts a failure to connect: no bus at all, a bus nobody answers on, or no Secret Service
/// on a working bus.
fn connect_error(err: SsError) -> AppKeyStoreError {
    let text = err.to_string();
    if NO_PROVIDER.iter().any(|name| text.contains(name)) {
        return AppKeyStoreError::NoSecretService { reason: text };
    }
    bus_unreachable(std::env::var("DBUS_SESSION_BUS_ADDRESS").ok(), text)
}

/// The "no bus" error for the given `DBUS_SESSION_BUS_ADDRESS` (a seam for tests).
fn bus_unreachable(address: Option<String>, reason: String) -> AppKeyStoreError {
    match address.filter(|address| !address.is_empty()) {
        None => AppKeyStoreError::NoSessionBus,
        Some(address) => AppKeyStoreError::BusUnreachable { address, reason },
    }
}

/// Sorts a failed call on an open connection.
fn classify(err: SsError, action: &'static str, service: &str, user: &str) -> AppKeyStoreError {
    let locked = || AppKeyStoreError::Locked { service: service.to_owned(), user: user.to_owned() };
    match err {
        // A dismissed prompt means the collection stays locked.
        SsError::Locked | SsError::Prompt => locked(),
        SsError::Unavailable => connect_error(err),
        other => {
            // The remaining variants carry D-Bus names and messages, never secret bytes.
            let text = other.to_string();
            if text.contains(IS_LOCKED) {
                locked()
            } else if NO_PROVIDER.iter().any(|name| text.contains(name)) {
                AppKeyStoreError::NoSecretService { reason: text }
            } else {
                AppKeyStoreError::SecretService {
                    action,
                    service: service.to_owned(),
                    user: user.to_owned(),
                    reason: text,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_documented() {
        let err = bus_unreachable(None, "ignored".into());
        assert_eq!(
            err.to_string(),
            "no Secret Service reachable: DBUS_SESSION_BUS_ADDRESS is not set; run the daemon \
             in your desktop session (the user unit) or configure [app_keys] source = \"file\""
        );
        assert!(err.is_unreachable());
        let err = bus_unreachable(Some("unix:path=/x".into()), "no such file".into());
        assert!(
            err.to_string().starts_with(
                "no Secret Service reachable at DBUS_SESSION_BUS_ADDRESS=unix:path=/x (no such file)"
            ),
            "{err}"
        );
        let err = classify(SsError::Locked, "read", "Svc", "app__salt");
        assert_eq!(
            err.to_string(),
            "keyring entry service Svc, user app__salt is in a locked collection; unlock it (log \
             in to the desktop, or run `secret-tool lookup service Svc username app__salt` in \
             your session, which asks for the keyring password) and try again"
        );
        let err = classify(SsError::Crypto("bad padding"), "read", "Svc", "u");
        assert_eq!(
            err.to_string(),
            "the Secret Service could not read service Svc, user u: Crypto error: bad padding"
        );
    }

    #[test]
    fn non_utf8_secrets_are_refused_and_labels_match_python() {
        assert!(text(Zeroizing::new(vec![0xff, 0xfe])).is_none());
        assert_eq!(
            text(Zeroizing::new(b"abc".to_vec())).as_deref().map(String::as_str),
            Some("abc")
        );
        assert_eq!(python_label("S", "u"), "Password for 'u' on 'S'");
    }
}
