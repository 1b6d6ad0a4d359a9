//! A batch of entries read in one go, handed to the code that parses them.
//!
//! Values are only moved around here, never interpreted; they are zeroised on drop and left
//! out of `Debug`.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use super::error::AppKeyStoreError;

/// One entry's value as the stores hand it out: `None` when the entry does not exist.
pub type EntryValue = Option<Zeroizing<String>>;

/// Reads entries of one service from an open store (one D-Bus connection, or one parsed
/// file), so a batch pays the connection once.
pub(crate) trait EntryReader {
    /// The value of `user`, `Ok(None)` when there is no such entry.
    fn read(&mut self, user: &str) -> Result<EntryValue, AppKeyStoreError>;
}

/// The entries of one keyring service read in one batch by
/// [`AppKeyStore::read_entries`](super::AppKeyStore::read_entries): absent entries are
/// remembered as absent, and entries outside the batch are an error rather than a silent
/// `None`.
pub struct AppKeyEntries {
    service: String,
    values: BTreeMap<String, EntryValue>,
}

impl AppKeyEntries {
    /// Reads `users` of `service` from `reader`.
    pub(crate) fn read_all(
        service: &str,
        users: &[String],
        reader: &mut dyn EntryReader,
    ) -> Result<AppKeyEntries, AppKeyStoreError> {
        let mut values = BTreeMap::new();
        for user in users {
            if !values.contains_key(user) {
                values.insert(user.clone(), reader.read(user)?);
            }
        }
        Ok(AppKeyEntries { service: service.to_owned(), values })
    }

    /// The keyring service these entries belong to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The value of `user` (a copy, zeroised on drop): `Ok(None)` when the store has no such
    /// entry, an error when `user` was not part of the batch.
    pub fn get(&self, user: &str) -> Result<EntryValue, AppKeyStoreError> {
        match self.values.get(user) {
            Some(value) => Ok(value.clone()),
            None => Err(AppKeyStoreError::NotFetched {
                service: self.service.clone(),
                user: user.to_owned(),
            }),
        }
    }

    /// [`AppKeyEntries::get`] as the lookup closure the `.enc` key parser takes.
    pub fn lookup(&self) -> impl FnMut(&str) -> Result<EntryValue, AppKeyStoreError> + '_ {
        move |user| self.get(user)
    }

    /// The users of the batch that exist in the store.
    pub fn present(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter(|(_, value)| value.is_some()).map(|(user, _)| user.as_str())
    }

    /// The users of the batch that the store does not have.
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter(|(_, value)| value.is_none()).map(|(user, _)| user.as_str())
    }
}

impl fmt::Debug for AppKeyEntries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppKeyEntries")
            .field("service", &self.service)
            .field("present", &self.present().collect::<Vec<_>>())
            .field("missing", &self.missing().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl EntryReader for Fixed {
        fn read(&mut self, user: &str) -> Result<EntryValue, AppKeyStoreError> {
            Ok((user == "app__salt").then(|| Zeroizing::new("00ff".to_owned())))
        }
    }

    #[test]
    fn batch_answers_present_absent_and_refuses_unfetched_names() {
        let users = ["app__salt".to_owned(), "app__tag".to_owned()];
        let entries = AppKeyEntries::read_all("svc", &users, &mut Fixed).expect("read");
        let mut lookup = entries.lookup();
        assert_eq!(lookup("app__salt").expect("ok").as_deref().map(String::as_str), Some("00ff"));
        assert!(lookup("app__tag").expect("ok").is_none());
        let err = lookup("app__nonce").expect_err("not fetched");
        assert!(matches!(err, AppKeyStoreError::NotFetched { .. }), "{err}");
        let debug = format!("{entries:?}");
        assert!(debug.contains("app__salt") && !debug.contains("00ff"), "{debug}");
    }
}
