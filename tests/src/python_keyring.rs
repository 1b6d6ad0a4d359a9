//! Python `keyring` in end-to-end tests: fill a real Secret Service the way the apps do, and
//! read it back the way they do.
//!
//! The scripts live in `tests/python` (`load_keyring.py KEYRING_JSON`, `get_password.py
//! SERVICE USER`); [`write_keyring_helpers`] puts two executable wrappers that run them with
//! the test venv's Python into a test's directory, so a shell script inside
//! `dbus-run-session` can call `"$DIR/load-keyring" keys.json` before starting the daemon.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/python` of the workspace.
pub fn python_scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The wrappers written by [`write_keyring_helpers`].
#[derive(Debug, Clone)]
pub struct KeyringHelpers {
    /// `load-keyring KEYRING_JSON`: every entry through `keyring.set_password`.
    pub load: PathBuf,
    /// `get-password SERVICE USER` (prints the value, exit 1 when absent) or
    /// `get-password --json SERVICE USER...`.
    pub get: PathBuf,
}

/// Writes `load-keyring` and `get-password` into `dir`. Fails, never skips, when the test
/// venv is missing (see [`crate::python`]).
pub fn write_keyring_helpers(dir: &Path) -> KeyringHelpers {
    let python = crate::python();
    let scripts = python_scripts_dir();
    let write = |name: &str, script: &str| {
        let path = dir.join(name);
        let body = format!(
            "#!/bin/sh\n# Runs tests/python/{script} with the test venv's Python.\nexec {} {} \"$@\"\n",
            quote(&python),
            quote(&scripts.join(script))
        );
        fs::write(&path, body).expect("write keyring helper");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod helper");
        path
    };
    KeyringHelpers {
        load: write("load-keyring", "load_keyring.py"),
        get: write("get-password", "get_password.py"),
    }
}

/// A `dbus-run-session` command running `script` (sh) after starting an unlocked
/// gnome-keyring, with HOME and the XDG dirs inside `dir` and the developer's own keys and
/// bus kept out; `$DIR` is `dir` in the script. Fails when the tools are missing.
pub fn secret_service_session(dir: &Path, script: &str) -> Command {
    for (tool, package) in
        [("dbus-run-session", "dbus-daemon"), ("gnome-keyring-daemon", "gnome-keyring")]
    {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()));
        assert!(
            found,
            "{tool} not found: install the Debian package {package} (scripts/test does)"
        );
    }
    let runtime = dir.join("xdg-runtime");
    fs::DirBuilder::new().recursive(true).mode(0o700).create(&runtime).expect("runtime dir");
    let full = format!(
        "set -e\necho -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n\
         {script}"
    );
    let mut cmd = Command::new("dbus-run-session");
    cmd.args(["--", "sh", "-c", &full])
        .env("DIR", dir)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("CACHEMGR_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("PYTHON_KEYRING_BACKEND");
    cmd
}

/// `path` single-quoted for sh.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helpers_load_a_keyring_json_and_read_it_back_through_python() {
        let dir = tempfile::tempdir().expect("tempdir");
        let helpers = write_keyring_helpers(dir.path());
        let json = crate::vectors_dir().join("keyring.json");
        let vector: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&json).expect("vector")).expect("json");
        let mut cmd = secret_service_session(
            dir.path(),
            "\"$LOAD\" \"$JSON\" >/dev/null\n\"$GET\" MyPersonalApplicationsService muse__salt\n\
             if \"$GET\" MyPersonalApplicationsService muse__nothing 2>/dev/null; then exit 9; fi",
        );
        let out = cmd
            .env("LOAD", &helpers.load)
            .env("GET", &helpers.get)
            .env("JSON", &json)
            .output()
            .expect("run the session");
        assert!(
            out.status.success(),
            "session failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let salt = vector["entries"]["muse__salt"].as_str().expect("salt");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), salt);
    }
}
