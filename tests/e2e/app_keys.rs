//! Where app keys come from, through the daemon: the `<SERVICE>_PASSPHRASE` override, a
//! missing entry (named, with the app shown as `key_missing` and `status` failing), and a
//! systemd credential that takes precedence over the configured store and is read-only.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use cachemgr_e2e::apps::AppsEnv;
use serde_json::Value;

/// The service's passphrase override variable, as the Python apps name it.
const PASSPHRASE_ENV: &str = "MYPERSONALAPPLICATIONSSERVICE_PASSPHRASE";

/// Rewrites the key file with `edit` applied to its entries.
fn edit_entries(path: &std::path::Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let mut keys: Value = serde_json::from_slice(&fs::read(path).expect("keys")).expect("json");
    edit(keys["entries"].as_object_mut().expect("entries"));
    fs::write(path, serde_json::to_vec_pretty(&keys).expect("json")).expect("write keys");
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_passphrase_override_unlocks_and_a_missing_entry_is_named() {
    let mut env = AppsEnv::prepare("");
    let mut passphrase = String::new();
    edit_entries(&env.keys, |entries| {
        let value = entries.remove("muse__passphrase").expect("the vector has a passphrase");
        passphrase = value.as_str().expect("text").to_owned();
    });
    env.daemon.env.push((PASSPHRASE_ENV.to_owned(), passphrase));
    env.daemon.spawn();
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &[]);
    env.daemon.ctl_ok(&["backup", "create", "muse"]);
    assert_eq!(env.daemon.ctl(&["status"]).status.code(), Some(0));

    // Without the override the keyring lacks the passphrase: named, and shown.
    env.daemon.signal(rustix::process::Signal::TERM);
    env.daemon.wait_exit(Duration::from_secs(10));
    env.daemon.env.clear();
    env.daemon.spawn();
    let out = env.daemon.ctl(&["backup", "create", "muse"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error (unavailable): "), "{}", stderr(&out));
    assert!(stderr(&out).contains("muse__passphrase"), "names the entry: {}", stderr(&out));
    assert!(stderr(&out).contains(PASSPHRASE_ENV), "says how to supply it: {}", stderr(&out));
    let show = env.daemon.ctl_json(&["app", "show", "muse"]);
    assert_eq!(show["health"], "key_missing", "{show}");
    assert_eq!(env.daemon.ctl(&["status"]).status.code(), Some(1));
    let list = env.daemon.ctl_json(&["backup", "list", "muse"]);
    assert_eq!(list["backups"].as_array().map(Vec::len), Some(1), "nothing lost: {list}");
}

#[test]
fn a_systemd_credential_is_used_first_and_never_written() {
    let mut env = AppsEnv::prepare("");
    let credentials = env.daemon.dir.path().join("credentials");
    fs::create_dir_all(&credentials).expect("credentials dir");
    let credential = credentials.join("app-keys.json");
    fs::copy(&env.keys, &credential).expect("credential");
    fs::set_permissions(&credential, fs::Permissions::from_mode(0o400)).expect("chmod");
    // The configured key file no longer holds muse: only the credential can open it.
    edit_entries(&env.keys, |entries| entries.retain(|user, _| !user.starts_with("muse__")));
    env.daemon.env.push(("CREDENTIALS_DIRECTORY".to_owned(), credentials.display().to_string()));
    env.daemon.spawn();
    let live = env.place("muse.enc", "muse/app_info_cache.enc");
    env.add_app("muse", &live, &[]);
    env.daemon.ctl_ok(&["backup", "create", "muse"]);
    let before = fs::read(&credential).expect("credential");
    let out = env.daemon.ctl(&["app", "migrate", "muse", "--new-keys"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error (unavailable): "), "{}", stderr(&out));
    // Kept on wording: `unavailable` also means a missing entry; that the store cannot be
    // written is what this refusal adds.
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(fs::read(&credential).expect("credential"), before, "never written");
    cachemgr_e2e::apps::python_decrypt_with(&credential, "muse", &live)
        .expect("the live file is untouched");
}
