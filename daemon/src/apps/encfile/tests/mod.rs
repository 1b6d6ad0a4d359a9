//! Unit tests of the `.enc` format: the Python-made vectors, round trips, torn and tampered
//! files, the keyring layout, and a property test that no input panics.
//!
//! The vectors live in the shared compat folder beside the workspace; a missing folder fails
//! the tests (it is never skipped), since they are the compatibility proof.

mod gcm;
mod kyber;
mod prop;
mod prop_parse;
mod roundtrip;
mod stored;
mod stream;
mod tamper;
mod vectors;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::{AppKeyPair, EncryptorType, StoredAppKeys};

/// Where the Python-made vectors are.
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/compat/vectors");

/// The vectors folder (`$CACHEMGR_VECTORS`, set by scripts/test, else beside the
/// workspace), or a failure saying where it was expected.
fn vectors_dir() -> PathBuf {
    let dir =
        std::env::var_os("CACHEMGR_VECTORS").map_or_else(|| PathBuf::from(VECTORS), PathBuf::from);
    assert!(
        dir.join("keyring.json").is_file(),
        "the .enc compatibility vectors are missing: expected {} (shared/compat/vectors beside \
         the workspace) with keyring.json and APP.enc/APP.json pairs",
        dir.display()
    );
    dir
}

/// `keyring.json`: `{"service": ..., "entries": {user name: value}}`.
#[derive(serde::Deserialize)]
struct KeyringFile {
    service: String,
    entries: BTreeMap<String, String>,
}

fn keyring() -> &'static KeyringFile {
    static KEYRING: OnceLock<KeyringFile> = OnceLock::new();
    KEYRING.get_or_init(|| {
        let path = vectors_dir().join("keyring.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not keyring JSON: {err}", path.display()))
    })
}

/// A lookup closure over a map of entries, as `StoredAppKeys::from_entries` takes it.
fn lookup_in(
    entries: &BTreeMap<String, String>,
) -> impl FnMut(&str) -> Result<Option<Zeroizing<String>>, std::io::Error> + '_ {
    |user| Ok(entries.get(user).map(|value| Zeroizing::new(value.clone())))
}

/// The vectors' key pair of `app`, unlocked once (PBKDF2 is slow) and shared by the tests.
fn vector_pair(app: &str) -> &'static AppKeyPair {
    static PAIRS: OnceLock<BTreeMap<String, AppKeyPair>> = OnceLock::new();
    let pairs = PAIRS.get_or_init(|| {
        let file = keyring();
        assert_eq!(file.service, super::SERVICE);
        ["sd_runner", "muse"]
            .into_iter()
            .map(|app| {
                let stored = StoredAppKeys::from_entries(app, None, lookup_in(&file.entries))
                    .unwrap_or_else(|err| panic!("reading {app}'s keyring entries: {err}"));
                let pair =
                    stored.unlock().unwrap_or_else(|err| panic!("unlocking {app}'s keys: {err}"));
                (app.to_owned(), pair)
            })
            .collect()
    });
    pairs.get(app).unwrap_or_else(|| panic!("no keys for app {app} in keyring.json"))
}

/// A generated key pair per type, made once.
fn generated_pair(kind: EncryptorType) -> &'static AppKeyPair {
    static STANDARD: OnceLock<AppKeyPair> = OnceLock::new();
    static QUANTUM: OnceLock<AppKeyPair> = OnceLock::new();
    let cell = match kind {
        EncryptorType::Standard => &STANDARD,
        EncryptorType::Quantum => &QUANTUM,
    };
    cell.get_or_init(|| {
        AppKeyPair::generate(kind).unwrap_or_else(|err| panic!("generating {kind}: {err}"))
    })
}

/// Every `.enc` vector: (file name, app id, file bytes, plaintext twin).
fn vector_files() -> Vec<(String, String, Vec<u8>, Vec<u8>)> {
    let dir = vectors_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".enc"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 5,
        "expected at least 5 .enc vectors in {}, found {names:?}",
        dir.display()
    );
    names
        .into_iter()
        .map(|name| {
            let stem = name.trim_end_matches(".enc");
            let app = stem.split('-').next().unwrap_or(stem).to_owned();
            let read = |file: &str| {
                std::fs::read(dir.join(file))
                    .unwrap_or_else(|err| panic!("cannot read vector {file}: {err}"))
            };
            let (enc, json) = (read(&name), read(&format!("{stem}.json")));
            (name, app, enc, json)
        })
        .collect()
}
