//! The Python keyring layout: sealing and unlocking, chunking, the passphrase override, and
//! errors that name the exact keyring entry at fault.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::{generated_pair, lookup_in};
use crate::apps::encfile::{
    entry_name, generate_passphrase, passphrase_env_var, EncError, EncryptorType, StoredAppKeys,
    CHUNK_HEX_CHARS,
};

const APP: &str = "test_app";

/// The generated pair of `kind`, sealed once (PBKDF2 is slow) under a fresh passphrase, as
/// keyring entries.
fn sealed_entries(kind: EncryptorType) -> &'static BTreeMap<String, String> {
    static STANDARD: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    static QUANTUM: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    let cell = if kind == EncryptorType::Standard { &STANDARD } else { &QUANTUM };
    cell.get_or_init(|| {
        let passphrase = generate_passphrase().unwrap_or_else(|err| panic!("{err}"));
        let stored = StoredAppKeys::seal(generated_pair(kind), &passphrase)
            .unwrap_or_else(|err| panic!("sealing {kind}: {err}"));
        stored.to_entries(APP).into_iter().map(|(user, value)| (user, value.to_string())).collect()
    })
}

fn read(entries: &BTreeMap<String, String>) -> Result<StoredAppKeys, EncError> {
    StoredAppKeys::from_entries(APP, None, lookup_in(entries))
}

#[test]
fn sealed_keys_unlock_from_their_entries_for_both_types() {
    for kind in [EncryptorType::Standard, EncryptorType::Quantum] {
        let stored = read(sealed_entries(kind)).unwrap_or_else(|err| panic!("{kind}: {err}"));
        assert_eq!(stored.encryptor_type, kind);
        let pair = stored.unlock().unwrap_or_else(|err| panic!("{kind}: {err}"));
        assert_eq!(pair.public(), generated_pair(kind).public());
    }
}

#[test]
fn long_values_are_chunked_like_the_python_module() {
    // Quantum: the sealed 2400-byte secret is 4800 hex characters (10 chunks), the 1184-byte
    // public key 2368 (5 chunks, the last 368 long).
    let entries = sealed_entries(EncryptorType::Quantum);
    for (field, count, last_len) in [("encrypted_priv", 10, 300), ("public_key", 5, 368)] {
        let count_user = format!("{APP}__{field}__count");
        assert_eq!(entries.get(&count_user).map(String::as_str), Some(count.to_string().as_str()));
        assert!(entries.contains_key(&format!("{APP}__{field}")), "chunk 0 has no suffix");
        assert!(!entries.contains_key(&format!("{APP}__{field}__0")));
        for index in 1..count {
            let chunk = entries.get(&format!("{APP}__{field}__{index}")).map(String::len);
            let expected = if index == count - 1 { last_len } else { CHUNK_HEX_CHARS };
            assert_eq!(chunk, Some(expected), "{field} chunk {index}");
        }
        assert!(!entries.contains_key(&format!("{APP}__{field}__{count}")));
    }
    // Standard: everything fits one chunk.
    let entries = sealed_entries(EncryptorType::Standard);
    assert_eq!(entries.get(&format!("{APP}__public_key__count")).map(String::as_str), Some("1"));
    assert_eq!(entries.len(), 5 + 2 + 2);
    assert_eq!(
        entries.get(&format!("{APP}__encryptor_type")).map(String::as_str),
        Some("standard")
    );
    let passphrase = entries.get(&format!("{APP}__passphrase")).map(String::len);
    assert_eq!(passphrase, Some(64));
}

#[test]
fn entries_round_trip_through_from_entries_and_to_entries() {
    for kind in [EncryptorType::Standard, EncryptorType::Quantum] {
        let entries = sealed_entries(kind);
        let stored = read(entries).unwrap_or_else(|err| panic!("{err}"));
        let again: BTreeMap<String, String> = stored
            .to_entries(APP)
            .into_iter()
            .map(|(user, value)| (user, value.to_string()))
            .collect();
        assert_eq!(&again, entries);
    }
}

#[test]
fn every_missing_entry_is_named_exactly() {
    for kind in [EncryptorType::Standard, EncryptorType::Quantum] {
        let entries = sealed_entries(kind);
        for user in entries.keys() {
            let mut fewer = entries.clone();
            fewer.remove(user);
            match read(&fewer) {
                Err(EncError::MissingEntry { user: named }) => assert_eq!(&named, user),
                other => panic!("without {user}: {other:?}"),
            }
        }
    }
    let err = read(&BTreeMap::new()).err().map(|err| err.to_string()).unwrap_or_default();
    assert_eq!(err, "keyring entry \"test_app__encryptor_type\" is missing");
}

#[test]
fn malformed_entries_are_named_without_their_values() {
    let entries = sealed_entries(EncryptorType::Standard);
    let cases = [
        ("salt", "zz".repeat(16)),
        ("salt", "00".repeat(15)),
        ("nonce", "0".repeat(23)),
        ("tag", "00".repeat(17)),
        ("encrypted_priv__count", "lots".into()),
        ("encrypted_priv__count", "0".into()),
        ("public_key", "g0".into()),
        ("encryptor_type", "oqs".into()),
    ];
    for (field, value) in cases {
        let mut bad = entries.clone();
        let user = format!("{APP}__{field}");
        bad.insert(user.clone(), value.clone());
        match read(&bad) {
            Err(err @ EncError::BadEntry { .. }) => {
                let message = err.to_string();
                assert!(message.contains(&format!("{user:?}")), "{message}");
                if value.len() > 4 {
                    assert!(!message.contains(&value), "{message} quotes the value");
                }
            }
            other => panic!("{field} = {value:?}: {other:?}"),
        }
    }
}

#[test]
fn the_passphrase_override_replaces_the_stored_one() {
    let mut entries = sealed_entries(EncryptorType::Standard).clone();
    let passphrase = entries.remove(&format!("{APP}__passphrase")).unwrap_or_default();
    // Without the entry and without an override: named as missing.
    assert!(
        matches!(read(&entries), Err(EncError::MissingEntry { user }) if user == "test_app__passphrase")
    );
    // The right passphrase through the override: unlocks.
    let right = Some(Zeroizing::new(passphrase));
    let stored = StoredAppKeys::from_entries(APP, right, lookup_in(&entries));
    let pair = stored.and_then(|stored| stored.unlock());
    assert!(pair.is_ok(), "{:?}", pair.err());
    // A wrong override wins over a right stored entry, and fails to unseal.
    let all = sealed_entries(EncryptorType::Standard);
    let wrong = Some(Zeroizing::new("0".repeat(64)));
    let stored = StoredAppKeys::from_entries(APP, wrong, lookup_in(all));
    assert!(matches!(stored.and_then(|stored| stored.unlock()), Err(EncError::WrongPassphrase)));
}

#[test]
fn a_public_key_from_another_pair_is_a_mismatch() {
    let mut entries = sealed_entries(EncryptorType::Standard).clone();
    let other = super::vector_pair("muse").public().to_bytes().unwrap_or_default();
    let hex: String = other.iter().map(|b| format!("{b:02x}")).collect();
    entries.insert(format!("{APP}__public_key"), hex);
    let result = read(&entries).and_then(|stored| stored.unlock());
    assert!(matches!(result, Err(EncError::KeyPairMismatch)), "{result:?}");
}

#[test]
fn lookup_failures_name_the_entry() {
    let failing = |user: &str| -> Result<Option<Zeroizing<String>>, std::io::Error> {
        if user.ends_with("__salt") {
            Err(std::io::Error::other("the keyring is locked"))
        } else {
            Ok(sealed_entries(EncryptorType::Standard).get(user).map(|v| Zeroizing::new(v.clone())))
        }
    };
    let err = StoredAppKeys::from_entries(APP, None, failing).err();
    let message = err.as_ref().map(|err| err.to_string()).unwrap_or_default();
    assert!(matches!(err, Some(EncError::Lookup { .. })), "{message}");
    assert_eq!(message, "cannot read keyring entry \"test_app__salt\": the keyring is locked");
}

#[test]
fn names_passphrases_and_debug_follow_the_python_module() {
    assert_eq!(
        passphrase_env_var("MyPersonalApplicationsService"),
        "MYPERSONALAPPLICATIONSSERVICE_PASSPHRASE"
    );
    assert_eq!(entry_name("muse", &["salt"]), "muse__salt");
    assert_eq!(entry_name("muse", &["public_key", ""]), "muse__public_key");
    assert_eq!(entry_name("muse", &["public_key", "3"]), "muse__public_key__3");
    assert_eq!(entry_name("", &["salt"]), "salt");
    let one = generate_passphrase().unwrap_or_default();
    let two = generate_passphrase().unwrap_or_default();
    assert_eq!(one.len(), 64);
    assert!(one.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_ne!(one, two);
    let stored =
        read(sealed_entries(EncryptorType::Standard)).unwrap_or_else(|err| panic!("{err}"));
    let shown = format!("{stored:?}");
    assert!(!shown.contains(stored.passphrase.as_str()) && shown.contains("redacted"), "{shown}");
}
