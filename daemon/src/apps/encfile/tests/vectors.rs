//! The files the real Python module made: each decrypts to its plaintext twin, and the keys
//! read back from its keyring entries are the same bytes.

use super::{keyring, lookup_in, vector_files, vector_pair};
use crate::apps::encfile::{
    decrypt, parse, verify, Compression, EncError, EncryptorType, StoredAppKeys, STANDARD_KEY_LEN,
};

#[test]
fn every_vector_decrypts_to_its_json_twin() {
    for (name, app, enc, json) in vector_files() {
        let plain = decrypt(&enc, vector_pair(&app).private())
            .unwrap_or_else(|err| panic!("{name} does not decrypt with {app}'s key: {err}"));
        assert!(
            plain.as_slice() == json.as_slice(),
            "{name} decrypts to other bytes than its twin"
        );
    }
}

#[test]
fn every_vector_verifies_with_its_plaintext_size_and_flag() {
    for (name, app, enc, json) in vector_files() {
        let verified = verify(&enc, vector_pair(&app).private())
            .unwrap_or_else(|err| panic!("{name} does not verify: {err}"));
        assert_eq!(verified.plaintext_len, json.len() as u64, "{name}");
        assert_eq!(verified.compressed, !name.contains("flag0"), "{name}");
    }
}

#[test]
fn vectors_parse_as_standard_files_with_their_flags() {
    for (name, _, enc, _) in vector_files() {
        let file = parse(&enc).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(file.encapsulated_key.len(), STANDARD_KEY_LEN, "{name}");
        assert_eq!(file.likely_type(), Some(EncryptorType::Standard), "{name}");
        assert_eq!(file.header_len(), 4 + 120 + 12 + 16 + 1, "{name}");
        assert_eq!(file.header_len() + file.ciphertext.len(), enc.len(), "{name}");
        let expected = if name.contains("flag0") { Compression::None } else { Compression::Zlib };
        assert_eq!(file.compression, expected, "{name}");
    }
}

#[test]
fn a_vector_opened_with_another_apps_key_fails_the_tag_check() {
    for (name, app, enc, _) in vector_files() {
        let other = if app == "muse" { "sd_runner" } else { "muse" };
        let err = decrypt(&enc, vector_pair(other).private()).err();
        assert!(matches!(err, Some(EncError::TagMismatch)), "{name} with {other}'s key: {err:?}");
        let message = err.map(|err| err.to_string()).unwrap_or_default();
        assert!(message.contains("wrong key or damaged file"), "{message}");
    }
}

#[test]
fn vector_keys_read_back_to_the_same_bytes_and_entries() {
    let file = keyring();
    for app in ["sd_runner", "muse"] {
        let stored = StoredAppKeys::from_entries(app, None, lookup_in(&file.entries))
            .unwrap_or_else(|err| panic!("{app}: {err}"));
        assert_eq!(stored.encryptor_type, EncryptorType::Standard);
        let pair = vector_pair(app);
        let public = pair.public().to_bytes().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(public, stored.public_key, "{app}: our DER SPKI differs from Python's");
        // The layout written back is exactly the Python module's, entry for entry.
        let mut ours: Vec<(String, String)> = stored
            .to_entries(app)
            .into_iter()
            .map(|(user, value)| (user, value.as_str().to_owned()))
            .collect();
        ours.sort();
        let theirs: Vec<(String, String)> = file
            .entries
            .iter()
            .filter(|(user, _)| user.starts_with(&format!("{app}__")))
            .map(|(user, value)| (user.clone(), value.clone()))
            .collect();
        assert_eq!(ours, theirs, "{app}: to_entries differs from the Python layout");
    }
}

#[test]
fn reencrypting_a_vector_with_its_public_key_round_trips_compressed() {
    for (name, app, _, json) in vector_files() {
        let pair = vector_pair(&app);
        let ours = crate::apps::encfile::encrypt(&json, pair.public())
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let back = decrypt(&ours, pair.private()).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(back.as_slice() == json.as_slice(), "{name}");
        // Every twin compresses, so the writer's default (zlib when smaller) sets flag 1; the
        // flag-0 vectors were written with the Python writer's `compress=False`.
        let flag = parse(&ours).map(|file| file.compression).ok();
        assert_eq!(flag, Some(Compression::Zlib), "{name}");
    }
}
