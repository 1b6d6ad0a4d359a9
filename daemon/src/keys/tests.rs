//! The lookup order and the per-source rules, against a fake keyring and a made-up
//! environment (the process environment and the real keyring are never touched).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::init::store_new_key;
use super::sources::{KeyEnv, Lookup};
use super::*;

/// A keyring that holds one key, nothing, or an error, and counts how often it was asked.
#[derive(Default)]
struct FakeKeyring {
    key: Option<[u8; KEY_LEN]>,
    asked: Mutex<u32>,
}

impl KeyringReader for FakeKeyring {
    fn read(
        &self,
        service: &str,
        _user: &str,
        _timeout: Duration,
    ) -> impl Future<Output = Result<Lookup, KeyError>> + Send {
        *self.asked.lock().expect("lock") += 1;
        let lookup = match self.key {
            Some(bytes) => Lookup::Found(LoadedKey {
                key: MasterKey::from_bytes(bytes),
                source: KeySource::Keyring { backend: SECRET_SERVICE, service: service.into() },
            }),
            None => Lookup::Absent("fake keyring is empty".into()),
        };
        std::future::ready(Ok(lookup))
    }
}

fn b64(bytes: [u8; KEY_LEN]) -> String {
    STANDARD.encode(bytes)
}

fn fp(bytes: [u8; KEY_LEN]) -> String {
    MasterKey::from_bytes(bytes).fingerprint()
}

fn write_key_file(dir: &Path, bytes: [u8; KEY_LEN], mode: u32) {
    let path = dir.join("master.key");
    fs::write(&path, b64(bytes)).expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn credentials(dir: &Path, bytes: [u8; KEY_LEN]) -> Option<std::path::PathBuf> {
    let creds = dir.join("creds");
    fs::create_dir_all(&creds).expect("mkdir");
    fs::write(creds.join(CREDENTIAL_NAME), bytes).expect("write raw credential");
    Some(creds)
}

async fn load(
    config: &KeysConfig,
    dir: &Path,
    env: &KeyEnv,
    keyring: &FakeKeyring,
) -> Result<LoadedKey, KeyError> {
    load_with(config, dir, env, keyring).await
}

#[tokio::test]
async fn credentials_beat_env_beat_keyring_beat_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let auto = KeysConfig::default();
    write_key_file(dir.path(), [4; KEY_LEN], 0o600);
    let keyring = FakeKeyring { key: Some([3; KEY_LEN]), ..FakeKeyring::default() };
    let mut env = KeyEnv {
        credentials_dir: credentials(dir.path(), [1; KEY_LEN]),
        key_var: Some(b64([2; KEY_LEN]).into()),
    };

    let loaded = load(&auto, dir.path(), &env, &keyring).await.expect("credentials");
    let cred_path = dir.path().join("creds").join(CREDENTIAL_NAME);
    assert_eq!(loaded.source, KeySource::Credentials(cred_path.clone()));
    assert_eq!(loaded.key.fingerprint(), fp([1; KEY_LEN]));
    assert_eq!(loaded.source.to_string(), format!("systemd credentials ({})", cred_path.display()));
    assert_eq!(*keyring.asked.lock().expect("lock"), 0, "keyring not asked once a key is found");

    env.credentials_dir = None;
    let loaded = load(&auto, dir.path(), &env, &keyring).await.expect("env");
    assert_eq!(loaded.source, KeySource::Env);
    assert_eq!(loaded.key.fingerprint(), fp([2; KEY_LEN]));
    assert_eq!(loaded.source.to_string(), "environment (CACHEMGR_KEY)");

    env.key_var = None;
    let loaded = load(&auto, dir.path(), &env, &keyring).await.expect("keyring");
    assert_eq!(loaded.key.fingerprint(), fp([3; KEY_LEN]));
    assert_eq!(loaded.source.to_string(), "keyring (secret-service, service cachemgr)");

    let empty = FakeKeyring::default();
    let loaded = load(&auto, dir.path(), &env, &empty).await.expect("file");
    assert_eq!(loaded.source, KeySource::File(dir.path().join("master.key")));
    assert_eq!(loaded.key.fingerprint(), fp([4; KEY_LEN]));
    assert!(loaded.source.is_persistent());

    fs::remove_file(dir.path().join("master.key")).expect("rm");
    let loaded = load(&auto, dir.path(), &env, &empty).await.expect("ephemeral");
    assert_eq!(loaded.source, KeySource::Ephemeral);
    assert_eq!(loaded.source.to_string(), "ephemeral");
    assert!(!loaded.source.is_persistent());
}

#[tokio::test]
async fn credentials_dir_without_the_file_moves_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = KeyEnv {
        credentials_dir: Some(dir.path().join("empty-creds")),
        key_var: Some(b64([2; KEY_LEN]).into()),
    };
    let loaded =
        load(&KeysConfig::default(), dir.path(), &env, &FakeKeyring::default()).await.expect("env");
    assert_eq!(loaded.source, KeySource::Env);
}

#[tokio::test]
async fn invalid_env_is_an_error_that_does_not_echo_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = STANDARD.encode([5u8; 31]);
    for (value, expect) in [
        (short.clone(), "decodes to 31 bytes, not 32"),
        ("%%%%secretish%%%%".to_owned(), "not valid base64"),
        (String::new(), "it is empty"),
    ] {
        let env = KeyEnv { credentials_dir: None, key_var: Some(value.clone().into()) };
        let err = load(&KeysConfig::default(), dir.path(), &env, &FakeKeyring::default())
            .await
            .expect_err("invalid env");
        let text = err.to_string();
        assert!(text.starts_with("CACHEMGR_KEY is set but invalid: "), "{text}");
        assert!(text.contains(expect), "{text}");
        if !value.is_empty() {
            assert!(!text.contains(&value), "echoes the value: {text}");
        }
    }
}

#[tokio::test]
async fn refused_key_file_is_an_error_in_auto_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_key_file(dir.path(), [4; KEY_LEN], 0o644);
    let err = load(&KeysConfig::default(), dir.path(), &KeyEnv::default(), &FakeKeyring::default())
        .await
        .expect_err("0644 refused, not ephemeral");
    assert!(err.to_string().contains("has mode 0644; it must not be readable by group or others"));
}

#[tokio::test]
async fn explicit_source_only_tries_that_one_and_names_where_it_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keyring = FakeKeyring { key: Some([3; KEY_LEN]), ..FakeKeyring::default() };
    let env = KeyEnv { credentials_dir: None, key_var: Some(b64([2; KEY_LEN]).into()) };

    let file = KeysConfig { source: SourceChoice::File, ..KeysConfig::default() };
    let err = load(&file, dir.path(), &env, &keyring).await.expect_err("no file");
    let text = err.to_string();
    let expected_start = format!(
        "keys.source = \"file\" but there is no key file {}",
        dir.path().join("master.key").display()
    );
    assert!(text.starts_with(&expected_start), "{text}");
    assert!(text.contains("cachemgrd key-init --to file"), "{text}");
    assert_eq!(*keyring.asked.lock().expect("lock"), 0);

    let creds = KeysConfig { source: SourceChoice::Credentials, ..KeysConfig::default() };
    let err = load(&creds, dir.path(), &env, &keyring).await.expect_err("no creds");
    assert!(err.to_string().contains("$CREDENTIALS_DIRECTORY is not set"), "{err}");
    assert!(err.to_string().contains("LoadCredential=cachemgr.key:"), "{err}");

    let from_env = KeysConfig { source: SourceChoice::Env, ..KeysConfig::default() };
    let err = load(&from_env, dir.path(), &KeyEnv::default(), &keyring).await.expect_err("unset");
    assert!(err.to_string().contains("CACHEMGR_KEY is not set"), "{err}");

    let from_keyring = KeysConfig { source: SourceChoice::Keyring, ..KeysConfig::default() };
    let err = load(&from_keyring, dir.path(), &env, &FakeKeyring::default())
        .await
        .expect_err("empty keyring");
    assert!(err.to_string().starts_with("keys.source = \"keyring\" but fake keyring is empty"));
    let loaded = load(&from_keyring, dir.path(), &env, &keyring).await.expect("keyring");
    assert_eq!(loaded.key.fingerprint(), fp([3; KEY_LEN]), "env ignored when keyring named");

    let file = KeysConfig { file: Some(dir.path().join("elsewhere.key")), ..file };
    fs::write(dir.path().join("elsewhere.key"), b64([6; KEY_LEN])).expect("write");
    fs::set_permissions(dir.path().join("elsewhere.key"), fs::Permissions::from_mode(0o600))
        .expect("chmod");
    let loaded = load(&file, dir.path(), &env, &keyring).await.expect("configured file");
    assert_eq!(
        loaded.source.to_string(),
        format!("key file ({})", dir.path().join("elsewhere.key").display())
    );

    let eph = KeysConfig { source: SourceChoice::Ephemeral, ..KeysConfig::default() };
    let loaded = load(&eph, dir.path(), &env, &keyring).await.expect("ephemeral");
    assert_eq!(loaded.source, KeySource::Ephemeral);
}

#[tokio::test]
async fn key_init_to_file_is_read_back_by_the_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = KeysConfig { source: SourceChoice::File, ..KeysConfig::default() };
    let key = MasterKey::generate();
    let source = store_new_key(&config, dir.path(), InitTarget::File, None, &key, false)
        .await
        .expect("stored");
    assert_eq!(source, KeySource::File(dir.path().join("master.key")));
    let loaded = load(&config, dir.path(), &KeyEnv::default(), &FakeKeyring::default())
        .await
        .expect("loaded");
    assert_eq!(loaded.key.fingerprint(), key.fingerprint());
}

#[test]
fn loaded_key_debug_is_redacted() {
    let loaded = LoadedKey { key: MasterKey::from_bytes([0x5a; KEY_LEN]), source: KeySource::Env };
    let shown = format!("{loaded:?}");
    assert!(shown.contains("MasterKey(<redacted>)"), "{shown}");
    assert!(!shown.contains("5a5a") && !shown.contains("90, 90"), "{shown}");
    assert!(!shown.contains(&b64([0x5a; KEY_LEN])[..8]), "{shown}");
}
