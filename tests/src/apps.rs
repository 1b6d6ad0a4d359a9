//! A daemon set up for app-cache tests: a fake home directory holding copies of the shared
//! `.enc` vectors, the apps' keys in a private key file (the Secret Service path has tests of
//! its own), and the independent Python checker to prove what the daemon writes opens.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{python, vectors_dir, Daemon};

/// The keyring service of every vector.
pub const SERVICE: &str = "MyPersonalApplicationsService";

/// A daemon with a home directory for app files.
pub struct AppsEnv {
    /// The daemon (not started by [`AppsEnv::prepare`]).
    pub daemon: Daemon,
    /// The fake home directory registered files live in.
    pub home: PathBuf,
    /// The apps' key file (the Python keyring layout as JSON, mode 0600).
    pub keys: PathBuf,
}

impl AppsEnv {
    /// A running daemon; `extra` is appended to the `[apps]` section.
    pub fn start(extra: &str) -> AppsEnv {
        let mut env = AppsEnv::prepare(extra);
        env.daemon.spawn();
        env
    }

    /// The same, not started yet.
    pub fn prepare(extra: &str) -> AppsEnv {
        let daemon = Daemon::prepare("");
        let dir = daemon.dir.path().to_path_buf();
        let home = dir.join("home");
        fs::create_dir_all(&home).expect("home");
        let keys = dir.join("app-keys.json");
        fs::copy(vectors_dir().join("keyring.json"), &keys).expect("copy keyring.json");
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o600)).expect("chmod keys");
        let config = format!(
            "[apps]\nallowed_dirs = [{home:?}]\ndebounce = \"300ms\"\nread_pause = \"50ms\"\n\
             catch_up_spread = \"2s\"\n{extra}\n\n[app_keys]\nsource = \"file\"\nfile = {keys:?}\n",
            home = home.display().to_string(),
            keys = keys.display().to_string(),
        );
        fs::write(&daemon.config, config).expect("config");
        AppsEnv { daemon, home, keys }
    }

    /// Copies vector `name` (e.g. `sd_runner.enc`) to `home/rel`, creating directories.
    pub fn place(&self, name: &str, rel: &str) -> PathBuf {
        let target = self.home.join(rel);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::copy(vectors_dir().join(name), &target).expect("copy vector");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).expect("chmod vector");
        target
    }

    /// Registers `live` as app `name` (with `extra` options of `app add`); panics on failure.
    pub fn add_app(&self, name: &str, live: &Path, extra: &[&str]) -> String {
        let path = live.display().to_string();
        let mut args = vec!["app", "add", name, "--path", &path];
        args.extend_from_slice(extra);
        self.daemon.ctl_ok(&args)
    }

    /// The daemon's backup directory of an app (by its safe name).
    pub fn backup_dir(&self, safe: &str) -> PathBuf {
        self.daemon.state_dir().join("backups").join(safe)
    }

    /// Decrypts `file` with the independent Python checker and the key file; the plaintext
    /// or the checker's error.
    pub fn python_decrypt(&self, app_id: &str, file: &Path) -> Result<String, String> {
        python_decrypt_with(&self.keys, app_id, file)
    }
}

/// Decrypts `file` with the Python checker reading keys from `keys`.
pub fn python_decrypt_with(keys: &Path, app_id: &str, file: &Path) -> Result<String, String> {
    let out = Command::new(python())
        .arg(checker())
        .args(["decrypt", "--keys"])
        .arg(keys)
        .args(["--app", app_id])
        .arg(file)
        .env_remove("MYPERSONALAPPLICATIONSSERVICE_PASSPHRASE")
        .output()
        .expect("run enc_check.py");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs the Python checker with `args`; panics with its stderr on failure.
pub fn python_checker(args: &[&str]) -> String {
    let out = Command::new(python()).arg(checker()).args(args).output().expect("run enc_check.py");
    assert!(
        out.status.success(),
        "enc_check.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn checker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/enc_check.py")
}

/// The JSON twin of a vector, parsed.
pub fn vector_json(name: &str) -> serde_json::Value {
    let text = fs::read_to_string(vectors_dir().join(name)).expect("vector json");
    serde_json::from_str(&text).expect("vector json parses")
}

/// Rotates the keys of `app_id` the way the Python app does, from the key file `keys`: a new
/// pair sealed under the same passphrase (written with everything else of `keys` to
/// `new_keys`, mode 0600), and `live` re-encrypted for it in place. `keys` is left alone:
/// the caller decides when the daemon's key store sees the new entries.
pub fn python_rotate(keys: &Path, new_keys: &Path, app_id: &str, live: &Path) {
    let vector: serde_json::Value =
        serde_json::from_slice(&fs::read(keys).expect("keys")).expect("keys json");
    let passphrase = vector["entries"][format!("{app_id}__passphrase")]
        .as_str()
        .expect("the app's passphrase")
        .to_owned();
    let kind = vector["entries"][format!("{app_id}__encryptor_type")]
        .as_str()
        .expect("the app's type")
        .to_owned();
    fs::copy(keys, new_keys).expect("copy the keys");
    fs::set_permissions(new_keys, fs::Permissions::from_mode(0o600)).expect("chmod keys");
    let new_out = new_keys.display().to_string();
    python_checker(&[
        "keygen",
        "--type",
        &kind,
        "--app",
        app_id,
        "--out",
        &new_out,
        "--passphrase",
        &passphrase,
    ]);
    let plain = python_decrypt_with(keys, app_id, live).expect("the old keys open the live file");
    let plain_path = live.with_extension("rotating.json");
    fs::write(&plain_path, plain).expect("plaintext");
    let sealed = live.with_extension("rotating.enc");
    python_checker(&[
        "encrypt",
        "--keys",
        &new_out,
        "--app",
        app_id,
        &plain_path.display().to_string(),
        &sealed.display().to_string(),
    ]);
    fs::remove_file(&plain_path).expect("remove the plaintext");
    fs::rename(&sealed, live).expect("replace the live file");
}

/// Replaces the key file `keys` with `new_keys` by one rename (mode 0600), as a key store
/// sees a rotation: all entries change at once.
pub fn swap_key_file(new_keys: &Path, keys: &Path) {
    let staged = keys.with_extension("staged");
    fs::copy(new_keys, &staged).expect("copy the new keys");
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o600)).expect("chmod keys");
    fs::rename(&staged, keys).expect("swap the key file");
}
