//! Cross-checks the `.enc` module against an independent implementation: the Python checker
//! `tests/python/enc_check.py` (written from the format spec on `cryptography` and the
//! pure-Python round-3 Kyber of `kyber-py`). Keys made on either side, files written on
//! either side, both key types: each must open on the other side. For the quantum type this
//! is the check that the Rust Kyber768 (PQClean via `pqcrypto-kyber`) agrees with another
//! implementation on key, ciphertext and shared-secret bytes.
//!
//! Python is found through `CACHEMGR_TEST_PYTHON` (set by `scripts/test`), else
//! `<workspace>/target/test-venv/bin/python`. Without it these tests fail; they never skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cachemgrd::apps::encfile::{
    decrypt, encrypt, generate_passphrase, parse, passphrase_env_var, AppKeyPair, Compression,
    EncryptorType, StoredAppKeys, SERVICE,
};
use zeroize::Zeroizing;

const TYPES: [EncryptorType; 2] = [EncryptorType::Standard, EncryptorType::Quantum];
const APP: &str = "cross_app";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's Python, checked to have the packages the checker needs.
fn python() -> PathBuf {
    let python = std::env::var_os("CACHEMGR_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/test-venv/bin/python"));
    let probe = Command::new(&python).args(["-c", "import cryptography, kyber_py"]).output();
    match probe {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{} lacks cryptography or kyber-py ({}); run scripts/test, which builds the test \
             venv and sets CACHEMGR_TEST_PYTHON",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) => panic!(
            "no Python for the .enc cross-checks at {} ({err}); run scripts/test, which builds \
             the test venv and sets CACHEMGR_TEST_PYTHON",
            python.display()
        ),
    }
}

/// Runs the checker; panics with its stderr when it fails.
fn checker(args: &[&str], env: &[(String, String)]) -> Vec<u8> {
    let out = checker_output(args, env);
    assert!(
        out.status.success(),
        "enc_check.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out.stdout
}

fn checker_output(args: &[&str], env: &[(String, String)]) -> Output {
    let script = workspace().join("tests/python/enc_check.py");
    Command::new(python())
        .arg(&script)
        .args(args)
        .env_remove(passphrase_env_var(SERVICE))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()))
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_else(|| panic!("non-UTF-8 temp path {}", path.display()))
}

/// Writes Rust-made keys as a keyring JSON file; returns the passphrase.
fn write_rust_keys(pair: &AppKeyPair, path: &Path) -> Zeroizing<String> {
    let passphrase = generate_passphrase().unwrap_or_else(|err| panic!("{err}"));
    let stored = StoredAppKeys::seal(pair, &passphrase).unwrap_or_else(|err| panic!("{err}"));
    let entries: BTreeMap<String, String> =
        stored.to_entries(APP).into_iter().map(|(user, value)| (user, value.to_string())).collect();
    let json = serde_json::json!({ "service": SERVICE, "entries": entries });
    std::fs::write(path, json.to_string()).unwrap_or_else(|err| panic!("{err}"));
    passphrase
}

/// Reads a keyring JSON file's entries.
fn read_entries(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{err}"));
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}"));
    serde_json::from_value(value["entries"].clone()).unwrap_or_else(|err| panic!("{err}"))
}

/// Unlocks keys from a keyring JSON file in Rust.
fn unlock_in_rust(path: &Path, passphrase_override: Option<Zeroizing<String>>) -> AppKeyPair {
    let entries = read_entries(path);
    let lookup = |user: &str| -> Result<Option<Zeroizing<String>>, std::io::Error> {
        Ok(entries.get(user).map(|value| Zeroizing::new(value.clone())))
    };
    StoredAppKeys::from_entries(APP, passphrase_override, lookup)
        .and_then(|stored| stored.unlock())
        .unwrap_or_else(|err| panic!("unlocking {} in Rust: {err}", path.display()))
}

fn json_plaintext() -> Vec<u8> {
    let items: Vec<String> = (0..300).map(|i| format!("\"k{i}\": \"v{i} \\u2713\"")).collect();
    format!("{{{}}}", items.join(", ")).into_bytes()
}

/// Incompressible bytes, so the writer picks flag 0.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// Rust writes (flag 1 and flag 0), Python reads; Python writes (compressed and not), Rust
/// reads: all with the keys in `keys`, whose pair Rust holds as `pair`.
fn files_cross_both_ways(dir: &Path, keys: &Path, pair: &AppKeyPair, kind: EncryptorType) {
    for (label, plain) in [("json", json_plaintext()), ("noise", noise(5000))] {
        let file = encrypt(&plain, pair.public()).unwrap_or_else(|err| panic!("{err}"));
        let expected = if label == "json" { Compression::Zlib } else { Compression::None };
        assert_eq!(parse(&file).map(|f| f.compression).ok(), Some(expected));
        let path = dir.join(format!("rust-{kind}-{label}.enc"));
        std::fs::write(&path, &file).unwrap_or_else(|err| panic!("{err}"));
        let opened = checker(&["decrypt", "--keys", s(keys), "--app", APP, s(&path)], &[]);
        assert!(opened == plain, "{kind} {label}: Python read other bytes than Rust wrote");

        let input = dir.join(format!("plain-{label}"));
        std::fs::write(&input, &plain).unwrap_or_else(|err| panic!("{err}"));
        for compress in [true, false] {
            let out = dir.join(format!("py-{kind}-{label}-{compress}.enc"));
            let mut args = vec!["encrypt", "--keys", s(keys), "--app", APP];
            if !compress {
                args.push("--no-compress");
            }
            args.extend([s(&input), s(&out)]);
            checker(&args, &[]);
            let bytes = std::fs::read(&out).unwrap_or_else(|err| panic!("{err}"));
            let opened = decrypt(&bytes, pair.private()).unwrap_or_else(|err| {
                panic!("{kind} {label}: Rust cannot open Python's file: {err}")
            });
            assert!(opened.as_slice() == plain.as_slice(), "{kind} {label} compress={compress}");
        }
    }
}

#[test]
fn rust_keys_and_files_work_in_python_and_back() {
    for kind in TYPES {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let keys = dir.path().join("keys.json");
        let pair = AppKeyPair::generate(kind).unwrap_or_else(|err| panic!("{err}"));
        write_rust_keys(&pair, &keys);
        let shown = checker(&["unlock", "--keys", s(&keys), "--app", APP], &[]);
        let shown: serde_json::Value =
            serde_json::from_slice(&shown).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(shown["encryptor_type"], kind.as_str());
        let public = pair.public().to_bytes().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(shown["public_key_sha256"], sha256_hex(&public));
        files_cross_both_ways(dir.path(), &keys, &pair, kind);
    }
}

#[test]
fn python_keys_and_files_work_in_rust_and_back() {
    for kind in TYPES {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let keys = dir.path().join("keys.json");
        checker(&["keygen", "--type", kind.as_str(), "--app", APP, "--out", s(&keys)], &[]);
        let pair = unlock_in_rust(&keys, None);
        assert_eq!(pair.encryptor_type(), kind);
        // Sealed again by Rust, the Python-made keys still unlock in Python.
        let resealed = dir.path().join("resealed.json");
        write_rust_keys(&pair, &resealed);
        checker(&["unlock", "--keys", s(&resealed), "--app", APP], &[]);
        files_cross_both_ways(dir.path(), &keys, &pair, kind);
    }
}

#[test]
fn the_passphrase_override_works_on_both_sides() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let keys = dir.path().join("keys.json");
    let pair = AppKeyPair::generate(EncryptorType::Standard).unwrap_or_else(|err| panic!("{err}"));
    let passphrase = write_rust_keys(&pair, &keys);
    // Drop the stored passphrase: only the environment override can unlock now.
    let mut entries = read_entries(&keys);
    entries.remove(&format!("{APP}__passphrase"));
    let json = serde_json::json!({ "service": SERVICE, "entries": entries });
    std::fs::write(&keys, json.to_string()).unwrap_or_else(|err| panic!("{err}"));
    let env = [(passphrase_env_var(SERVICE), passphrase.to_string())];
    assert!(!checker_output(&["unlock", "--keys", s(&keys), "--app", APP], &[]).status.success());
    checker(&["unlock", "--keys", s(&keys), "--app", APP], &env);
    let unlocked = unlock_in_rust(&keys, Some(passphrase));
    assert_eq!(unlocked.public(), pair.public());
}

#[test]
fn the_python_checker_refuses_a_damaged_rust_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let keys = dir.path().join("keys.json");
    let pair = AppKeyPair::generate(EncryptorType::Quantum).unwrap_or_else(|err| panic!("{err}"));
    write_rust_keys(&pair, &keys);
    let mut file = encrypt(&json_plaintext(), pair.public()).unwrap_or_else(|err| panic!("{err}"));
    let last = file.len() - 1;
    file[last] ^= 0x01;
    let path = dir.path().join("damaged.enc");
    std::fs::write(&path, &file).unwrap_or_else(|err| panic!("{err}"));
    let out = checker_output(&["decrypt", "--keys", s(&keys), "--app", APP, s(&path)], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GCM tag did not verify"));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
