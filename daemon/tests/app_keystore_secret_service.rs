//! The app key store against a real Secret Service (gnome-keyring in a private D-Bus session)
//! and the real Python `keyring` package, the one the apps use.
//!
//! Each test re-runs itself inside the environment it needs: the outer run starts
//! `dbus-run-session` with an unlocked gnome-keyring in a temp HOME and runs this binary
//! again with `--exact <test>`; the inner run (marked by an environment variable) does the
//! work. Missing tools fail the test with the package to install; nothing is skipped.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cachemgrd::apps::keystore::{
    python_label, AppKeyStore, AppKeyStoreError, PYTHON_KEYRING_APPLICATION,
};
use secret_service::blocking::SecretService;
use secret_service::EncryptionType;
use zeroize::Zeroizing;

/// Set in the inner run: which environment it was started in.
const INNER: &str = "CACHEMGR_APP_KEYSTORE_INNER";
/// Longest an inner run may take.
const SESSION_LIMIT: Duration = Duration::from_secs(180);
const TIMEOUT: Duration = Duration::from_secs(20);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python of the test venv (`scripts/test` makes it); fails, never skips, without it.
fn python() -> PathBuf {
    let path = std::env::var_os("CACHEMGR_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/test-venv/bin/python"));
    assert!(
        path.exists(),
        "{} not found: this test needs the Python test venv with the keyring package; run \
         scripts/test, which creates it, or set CACHEMGR_TEST_PYTHON",
        path.display()
    );
    path
}

/// The vectors' keyring.json: `$CACHEMGR_VECTORS`, else shared/compat/vectors beside the
/// repository (the rule of scripts/test); missing, the test fails saying where it looked.
fn vector() -> PathBuf {
    let path = std::env::var_os("CACHEMGR_VECTORS")
        .map_or_else(|| workspace().join("../shared/compat/vectors"), PathBuf::from)
        .join("keyring.json");
    assert!(
        path.is_file(),
        "{} not found: the compatibility vectors live in shared/compat/vectors beside the \
         repository, or in the folder CACHEMGR_VECTORS names",
        path.display()
    );
    path
}

fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(found, "{tool} not found: install the Debian package {package} (scripts/test does)");
}

/// Runs test `name` of this binary again with `INNER=mode`, inside a D-Bus session with an
/// unlocked gnome-keyring when `session`, and asserts it ran and passed.
fn rerun(name: &str, mode: &str, session: bool, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = dir.path().join("xdg-runtime");
    fs::DirBuilder::new().mode(0o700).create(&runtime).expect("runtime dir");
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = if session {
        // Checked here, in the outer run, so a missing venv reads as such.
        let python = python();
        require("dbus-run-session", "dbus-daemon");
        require("gnome-keyring-daemon", "gnome-keyring");
        let mut cmd = Command::new("dbus-run-session");
        cmd.args([
            "--",
            "sh",
            "-c",
            "set -e\necho -n test | gnome-keyring-daemon --unlock --components=secrets \
             >/dev/null\nexec \"$TEST_EXE\" --exact \"$TEST_NAME\" --nocapture --test-threads 1",
        ]);
        cmd.env("CACHEMGR_TEST_PYTHON", python);
        cmd
    } else {
        let mut cmd = Command::new(&exe);
        cmd.args(["--exact", name, "--nocapture", "--test-threads", "1"]);
        cmd
    };
    cmd.env(INNER, mode)
        .env("TEST_EXE", &exe)
        .env("TEST_NAME", name)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("PYTHON_KEYRING_BACKEND")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let log = dir.path().join("inner.log");
    let out = fs::File::create(&log).expect("log");
    cmd.stdout(out.try_clone().expect("clone")).stderr(out);
    let mut child = cmd.spawn().expect("spawn the inner test run");
    let deadline = Instant::now() + SESSION_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("inner run did not end in {SESSION_LIMIT:?}:\n{}", read(&log));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = read(&log);
    assert!(status.success(), "inner run failed ({status}):\n{text}");
    assert!(text.contains("1 passed"), "the inner run ran no test:\n{text}");
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs a Python helper from `tests/python`, returning its stdout; fails with its stderr.
fn python_script(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(workspace().join("tests/python").join(script))
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// What Python `keyring.get_password` returns for each user.
fn python_reads(service: &str, users: &[&str]) -> BTreeMap<String, Option<String>> {
    let mut args = vec!["--json", service];
    args.extend_from_slice(users);
    serde_json::from_str(&python_script("get_password.py", &args)).expect("json")
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, Zeroizing<String>)> {
    pairs.iter().map(|(u, v)| ((*u).to_owned(), Zeroizing::new((*v).to_owned()))).collect()
}

/// Runs blocking Secret Service calls of the test on a plain thread: zbus's blocking API
/// must not run on the runtime's threads.
fn blocking<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(job).join().expect("blocking helper panicked")
}

/// Every item matching (service, user) in any collection: (path, label, attributes).
/// gnome-keyring's own `xdg:schema` attribute is left out: it adds it to some items on its
/// own, Python's included (seen at random on items only Python had written), and searches by
/// (service, username) match either way.
fn items(service: &str, user: &str) -> Vec<(String, String, HashMap<String, String>)> {
    let (service, user) = (service.to_owned(), user.to_owned());
    blocking(move || items_now(&service, &user))
}

fn items_now(service: &str, user: &str) -> Vec<(String, String, HashMap<String, String>)> {
    let ss = SecretService::connect(EncryptionType::Dh).expect("connect");
    let found =
        ss.search_items(HashMap::from([("service", service), ("username", user)])).expect("search");
    assert!(found.locked.is_empty(), "locked matches");
    found
        .unlocked
        .iter()
        .map(|item| {
            let mut attrs = item.get_attributes().expect("attributes");
            attrs.remove("xdg:schema");
            (item.item_path.to_string(), item.get_label().expect("label"), attrs)
        })
        .collect()
}

/// Stores an item directly, bypassing both Python and the store under test.
fn put_item(alias: &str, attributes: &[(&str, &str)], value: &str) {
    let alias = alias.to_owned();
    let attributes: Vec<(String, String)> =
        attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let value = value.to_owned();
    blocking(move || {
        let attributes = attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        put_item_now(&alias, attributes, &value)
    });
}

fn put_item_now(alias: &str, attributes: HashMap<&str, &str>, value: &str) {
    let ss = SecretService::connect(EncryptionType::Dh).expect("connect");
    let collection = ss.get_collection_by_alias(alias).expect("collection");
    collection
        .create_item("planted", attributes, value.as_bytes(), false, "text/plain")
        .expect("create item");
}

#[test]
fn python_keyring_and_the_app_key_store_share_entries_in_a_real_secret_service() {
    const NAME: &str =
        "python_keyring_and_the_app_key_store_share_entries_in_a_real_secret_service";
    match std::env::var(INNER).as_deref() {
        Ok("session") => runtime().block_on(shares_entries_with_python()),
        _ => rerun(NAME, "session", true, &[]),
    }
}

async fn shares_entries_with_python() {
    let vector_path = vector();
    let vector: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&vector_path).expect("vector")).expect("json");
    let service = vector["service"].as_str().expect("service");
    let expected: BTreeMap<String, String> =
        serde_json::from_value(vector["entries"].clone()).expect("entries");
    let loaded = python_script("load_keyring.py", &[vector_path.to_str().expect("utf-8 path")]);
    assert!(loaded.starts_with(&format!("loaded {} entries", expected.len())), "{loaded}");
    let store = AppKeyStore::secret_service(TIMEOUT);

    // Every entry Python wrote reads back, in one batch.
    let users: Vec<String> = expected.keys().cloned().collect();
    let entries = store.read_entries(service, &users).await.expect("read the vector");
    for (user, value) in &expected {
        let got = entries.get(user).expect("fetched").unwrap_or_else(|| panic!("{user} missing"));
        assert_eq!(got.as_str(), value, "{user}");
    }
    // A missing entry is Ok(None); so it is in a batch.
    assert!(store.read(service, "muse__public_key__1").await.expect("read").is_none());
    let batch = store
        .read_entries(service, &["muse__salt".into(), "nosuchapp__salt".into()])
        .await
        .expect("batch");
    assert_eq!(batch.missing().collect::<Vec<_>>(), ["nosuchapp__salt"]);

    // The live lookup walks chunk counts over one connection.
    let (count, chunk) = store
        .with_lookup(service, |lookup| -> Result<_, AppKeyStoreError> {
            Ok((lookup("sd_runner__public_key__count")?, lookup("sd_runner__public_key")?))
        })
        .await
        .expect("ran")
        .expect("lookups");
    assert_eq!(count.as_deref().map(String::as_str), Some("1"));
    assert_eq!(
        chunk.as_deref().map(String::as_str),
        Some(expected["sd_runner__public_key"].as_str())
    );

    // Duplicates the migration must clear: an item in the rust-keyring layout in the default
    // collection, and a Python-layout item in the session collection.
    put_item(
        "default",
        &[
            ("service", service),
            ("username", "muse__nonce"),
            ("target", "default"),
            ("application", "rust-keyring"),
        ],
        "stale-rust",
    );
    put_item(
        "session",
        &[
            ("service", service),
            ("username", "muse__nonce"),
            ("application", PYTHON_KEYRING_APPLICATION),
        ],
        "stale-session",
    );
    assert_eq!(items(service, "muse__nonce").len(), 3);

    // Writes through Rust, replacing entries and adding new ones.
    let new = [
        ("muse__salt", "00112233445566778899aabbccddeeff"),
        ("muse__nonce", "0123456789abcdef01234567"),
        ("muse__public_key__1", "beef"),
        (
            "cache_manager__passphrase",
            "ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01",
        ),
    ];
    store.write_entries(service, &owned(&new)).await.expect("write");
    let users: Vec<&str> = new.iter().map(|(u, _)| *u).collect();
    let python = python_reads(service, &users);
    for (user, value) in new {
        assert_eq!(python[user].as_deref(), Some(value), "Python reads the new {user}");
        let found = items(service, user);
        assert_eq!(found.len(), 1, "exactly one item for {user}: {found:?}");
        let (_, label, attributes) = &found[0];
        assert_eq!(label, &python_label(service, user));
        let layout = HashMap::from([
            ("application".to_owned(), PYTHON_KEYRING_APPLICATION.to_owned()),
            ("service".to_owned(), service.to_owned()),
            ("username".to_owned(), user.to_owned()),
        ]);
        assert_eq!(attributes, &layout, "attributes of {user}");
    }
    // The item Python itself wrote has exactly the same layout.
    let (_, label, attributes) = items(service, "muse__tag").remove(0);
    assert_eq!(label, python_label(service, "muse__tag"));
    let layout = HashMap::from([
        ("application".to_owned(), PYTHON_KEYRING_APPLICATION.to_owned()),
        ("service".to_owned(), service.to_owned()),
        ("username".to_owned(), "muse__tag".to_owned()),
    ]);
    assert_eq!(attributes, layout);
    // Untouched entries stay as Python wrote them.
    let tag = store.read(service, "muse__tag").await.expect("read").expect("present");
    assert_eq!(tag.as_str(), expected["muse__tag"]);

    // Deleting a stale chunk: Python sees it gone; deleting again finds nothing.
    assert_eq!(store.delete(service, "muse__public_key__1").await.expect("delete"), 1);
    assert_eq!(python_reads(service, &["muse__public_key__1"])["muse__public_key__1"], None);
    assert_eq!(store.delete(service, "muse__public_key__1").await.expect("delete"), 0);

    // An entry only in another (unlocked) collection is still found.
    put_item(
        "session",
        &[
            ("service", service),
            ("username", "elsewhere__salt"),
            ("application", PYTHON_KEYRING_APPLICATION),
        ],
        "from-the-session-collection",
    );
    let elsewhere = store.read(service, "elsewhere__salt").await.expect("read");
    assert_eq!(elsewhere.as_deref().map(String::as_str), Some("from-the-session-collection"));

    // A batch that outlives app_keys.timeout names the batch and the way out.
    let hurried = AppKeyStore::secret_service(Duration::from_nanos(1));
    let err = hurried.read(service, "muse__salt").await.expect_err("timed out");
    assert!(
        err.to_string().starts_with(&format!(
            "the app key store did not answer within 1ns while reading service {service}, user \
             muse__salt (a locked collection may be waiting for an unlock prompt: run \
             `secret-tool lookup service {service} username muse__salt`"
        )),
        "{err}"
    );

    // A locked default collection: reads and writes say which entry and how to unlock.
    blocking(|| {
        let ss = SecretService::connect(EncryptionType::Dh).expect("connect");
        ss.get_default_collection().expect("default").lock().expect("lock");
    });
    let err = store.read(service, "muse__salt").await.expect_err("locked");
    assert!(matches!(err, AppKeyStoreError::Locked { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "keyring entry service {service}, user muse__salt is in a locked collection; unlock \
             it (log in to the desktop, or run `secret-tool lookup service {service} username \
             muse__salt` in your session, which asks for the keyring password) and try again"
        )
    );
    let err =
        store.write_entries(service, &owned(&[("muse__tag", "ff")])).await.expect_err("locked");
    assert!(
        matches!(err, AppKeyStoreError::Locked { ref user, .. } if user == "muse__tag"),
        "{err}"
    );
    let err = store.delete(service, "muse__tag").await.expect_err("locked");
    assert!(matches!(err, AppKeyStoreError::Locked { .. }), "{err}");
    // Behind a locked default collection "no such entry" cannot be told apart from "hidden".
    let err = store.read(service, "nosuchapp__salt").await.expect_err("locked");
    assert!(matches!(err, AppKeyStoreError::Locked { .. }), "{err}");
    let err = store.delete(service, "nosuchapp__salt").await.expect_err("locked");
    assert!(matches!(err, AppKeyStoreError::Locked { .. }), "{err}");
}

#[test]
fn without_a_session_bus_the_error_says_so() {
    const NAME: &str = "without_a_session_bus_the_error_says_so";
    match std::env::var(INNER).as_deref() {
        Ok("no-bus") => runtime().block_on(no_bus()),
        _ => rerun(NAME, "no-bus", false, &[]),
    }
}

async fn no_bus() {
    let store = AppKeyStore::secret_service(TIMEOUT);
    let err = store.read("Svc", "app__salt").await.expect_err("no bus");
    assert_eq!(
        err.to_string(),
        "no Secret Service reachable: DBUS_SESSION_BUS_ADDRESS is not set; run the daemon in \
         your desktop session (the user unit) or configure [app_keys] source = \"file\""
    );
    let err = store.write_entries("Svc", &owned(&[("u", "v")])).await.expect_err("no bus");
    assert!(matches!(err, AppKeyStoreError::NoSessionBus), "{err}");
}

#[test]
fn a_bus_address_where_nothing_listens_is_named() {
    const NAME: &str = "a_bus_address_where_nothing_listens_is_named";
    match std::env::var(INNER).as_deref() {
        Ok("dead-bus") => runtime().block_on(dead_bus()),
        _ => rerun(
            NAME,
            "dead-bus",
            false,
            &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
        ),
    }
}

async fn dead_bus() {
    let store = AppKeyStore::secret_service(TIMEOUT);
    let err = store.read("Svc", "app__salt").await.expect_err("dead bus");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "no Secret Service reachable at DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus ("
        ),
        "{text}"
    );
    assert!(err.is_unreachable());
}
