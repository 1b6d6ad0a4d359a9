//! The facade over the file and credential stores: source choice, batches, lookups, writes
//! refused where read-only. The Secret Service is tested for real in
//! `daemon/tests/app_keystore_secret_service.rs`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

const SERVICE: &str = "MyPersonalApplicationsService";

/// The compatibility vector, if the shared directory is beside the work tree.
fn vector_text() -> String {
    let path = std::env::var_os("CACHEMGR_VECTORS")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/compat/vectors"),
            std::path::PathBuf::from,
        )
        .join("keyring.json");
    fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!("{} is needed by the app key store tests: {err}", path.display())
    })
}

fn private_file(dir: &Path, content: &str) -> PathBuf {
    let path = dir.join("app-keys.json");
    fs::write(&path, content).expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, Zeroizing<String>)> {
    pairs.iter().map(|(u, v)| ((*u).to_owned(), Zeroizing::new((*v).to_owned()))).collect()
}

#[test]
fn the_credential_wins_over_the_configured_source_and_the_default_is_the_secret_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = AppKeysConfig::default();
    let store = AppKeyStore::from_config_with(&config, Some(dir.path()));
    assert_eq!(store.to_string(), "Secret Service");
    let file_config = AppKeysConfig {
        source: AppKeySourceChoice::File,
        file: Some("/k.json".into()),
        ..AppKeysConfig::default()
    };
    let store = AppKeyStore::from_config_with(&file_config, None);
    assert_eq!(store.to_string(), "app key file /k.json");
    assert!(!store.is_read_only());
    fs::write(dir.path().join(CREDENTIAL_NAME), "{}").expect("write");
    let store = AppKeyStore::from_config_with(&file_config, Some(dir.path()));
    assert!(store.is_read_only());
    assert!(store.to_string().starts_with("systemd credential "), "{store}");
}

#[tokio::test]
async fn the_vector_file_reads_back_every_entry_in_one_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = vector_text();
    let path = private_file(dir.path(), &text);
    let vector: serde_json::Value = serde_json::from_str(&text).expect("json");
    let expected = vector["entries"].as_object().expect("entries");
    let users: Vec<String> = expected.keys().cloned().collect();
    let store = AppKeyStore::file(&path, DEFAULT_TIMEOUT);
    let entries = store.read_entries(SERVICE, &users).await.expect("read");
    for (user, value) in expected {
        let got = entries.get(user).expect("fetched").expect("present");
        assert_eq!(got.as_str(), value.as_str().expect("string"), "{user}");
    }
    assert!(store.read(SERVICE, "muse__public_key__1").await.expect("read").is_none());
    let err = store.read("OtherService", "muse__salt").await.expect_err("mismatch");
    assert!(matches!(err, AppKeyStoreError::ServiceMismatch { .. }), "{err}");
}

/// How the `.enc` key parser will use a lookup: generic over any `FnMut`, learning chunk
/// names from the count entry.
fn chunk_lengths<E>(
    mut lookup: impl FnMut(&str) -> Result<EntryValue, E>,
    base: &str,
) -> Result<Vec<usize>, E> {
    let count = lookup(&format!("{base}__count"))?.map_or(0, |c| c.parse().unwrap_or(0));
    let mut lengths = Vec::new();
    for index in 0..count {
        let user = if index == 0 { base.to_owned() } else { format!("{base}__{index}") };
        lengths.push(lookup(&user)?.map_or(0, |chunk| chunk.len()));
    }
    Ok(lengths)
}

#[tokio::test]
async fn with_lookup_and_a_batch_feed_a_generic_parser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = private_file(dir.path(), &vector_text());
    let store = AppKeyStore::file(&path, DEFAULT_TIMEOUT);
    let live = store
        .with_lookup(SERVICE, |lookup| chunk_lengths(lookup, "muse__public_key"))
        .await
        .expect("ran")
        .expect("lookups");
    assert_eq!(live, [240]);
    let users = ["muse__public_key__count".to_owned(), "muse__public_key".to_owned()];
    let batch = store.read_entries(SERVICE, &users).await.expect("batch");
    assert_eq!(chunk_lengths(batch.lookup(), "muse__public_key").expect("lookups"), [240]);
}

#[tokio::test]
async fn writes_replace_and_delete_through_the_facade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.json");
    let store = AppKeyStore::file(&path, DEFAULT_TIMEOUT);
    let err = store.read(SERVICE, "muse__salt").await.expect_err("no file yet");
    assert!(matches!(err, AppKeyStoreError::FileMissing { .. }), "{err}");
    store.write_entries(SERVICE, &owned(&[("a__x", "1"), ("a__x__1", "2")])).await.expect("write");
    store.write_entries(SERVICE, &owned(&[("a__x", "3")])).await.expect("replace");
    assert_eq!(store.delete(SERVICE, "a__x__1").await.expect("delete"), 1);
    let entries =
        store.read_entries(SERVICE, &["a__x".into(), "a__x__1".into()]).await.expect("read");
    assert_eq!(entries.get("a__x").expect("fetched").as_deref().map(String::as_str), Some("3"));
    assert_eq!(entries.missing().collect::<Vec<_>>(), ["a__x__1"]);
}

#[tokio::test]
async fn a_credential_is_read_but_never_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(CREDENTIAL_NAME);
    // systemd leaves credentials readable by the service's user however it sees fit.
    fs::write(&path, vector_text()).expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).expect("chmod");
    let store = AppKeyStore::credential(&path, DEFAULT_TIMEOUT);
    let salt = store.read(SERVICE, "muse__salt").await.expect("read").expect("present");
    assert_eq!(salt.as_str(), "31a75e789ccc7e073f66a65e336421c9");
    let err = store.write_entries(SERVICE, &owned(&[("u", "v")])).await.expect_err("read-only");
    assert!(err
        .to_string()
        .starts_with("cannot write app keys: they come from the systemd credential"));
    let err = store.delete(SERVICE, "muse__salt").await.expect_err("read-only");
    assert!(matches!(err, AppKeyStoreError::ReadOnly { action: "delete", .. }), "{err}");
}
