//! The JSON file store, for tests and headless hosts, and the read-only systemd credential
//! of the same shape: `{"service": "...", "entries": {"user": "value", ...}}` (the shape of
//! the compatibility vectors' `keyring.json`).
//!
//! The file holds keys in plain text, so a private file is trusted only when it is ours and
//! closed to group and others (the same checks as the master key file), and every write is
//! atomic and mode 0600. A credential is not checked: systemd keeps that directory private.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::entries::{EntryReader, EntryValue};
use super::error::AppKeyStoreError;
use crate::keys::{open_private, PrivateFileError};

/// The most an app key file is read: a few apps of ~10 entries of at most a few KiB.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Serialises read-modify-write cycles of this process, so two writes cannot lose one.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

/// How much a file is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// Configured by `app_keys.file`: must be ours and mode 0600 or stricter; writable.
    Private,
    /// `$CREDENTIALS_DIRECTORY/app-keys.json`: trusted as systemd placed it; read-only.
    Credential,
}

/// The parsed file: values move straight from the parser into zeroising strings.
pub(crate) struct KeyFile {
    service: String,
    entries: BTreeMap<String, Zeroizing<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIn {
    service: String,
    entries: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct WireOut<'a> {
    service: &'a str,
    entries: BTreeMap<&'a str, &'a str>,
}

/// Reads and parses the file: `Ok(None)` when there is none.
pub(crate) fn load(path: &Path, kind: FileKind) -> Result<Option<KeyFile>, AppKeyStoreError> {
    let file = match kind {
        FileKind::Private => match open_private(path) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(None),
            Err(PrivateFileError::Unsafe(problem)) => {
                return Err(AppKeyStoreError::UnsafeFile { path: path.to_path_buf(), problem })
            }
            Err(PrivateFileError::Io(_, err)) => {
                return Err(AppKeyStoreError::io("open app key file", path, err))
            }
        },
        FileKind::Credential => match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(AppKeyStoreError::io("open app key credential", path, err)),
        },
    };
    let mut content = Zeroizing::new(Vec::with_capacity(4096));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut content)
        .map_err(|err| AppKeyStoreError::io("read app key file", path, err))?;
    let invalid =
        |reason: String| AppKeyStoreError::InvalidFile { path: path.to_path_buf(), reason };
    if content.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(format!("it is larger than {MAX_FILE_BYTES} bytes")));
    }
    // serde_json's message can quote a value ("invalid type: string \"...\""): keep only the
    // kind of error and where it is.
    let wire: WireIn = serde_json::from_slice(&content).map_err(|err| {
        invalid(format!(
            "{:?} error at line {} column {}",
            err.classify(),
            err.line(),
            err.column()
        ))
    })?;
    let entries = wire.entries.into_iter().map(|(user, value)| (user, Zeroizing::new(value)));
    Ok(Some(KeyFile { service: wire.service, entries: entries.collect() }))
}

/// Loads the file for reading `service`: it must exist and hold that service.
pub(crate) fn open_reader(
    path: &Path,
    kind: FileKind,
    service: &str,
) -> Result<KeyFile, AppKeyStoreError> {
    let file = load(path, kind)?
        .ok_or_else(|| AppKeyStoreError::FileMissing { path: path.to_path_buf() })?;
    check_service(path, &file.service, service)?;
    Ok(file)
}

impl EntryReader for KeyFile {
    fn read(&mut self, user: &str) -> Result<EntryValue, AppKeyStoreError> {
        Ok(self.entries.get(user).cloned())
    }
}

fn check_service(path: &Path, found: &str, wanted: &str) -> Result<(), AppKeyStoreError> {
    if found == wanted {
        return Ok(());
    }
    Err(AppKeyStoreError::ServiceMismatch {
        path: path.to_path_buf(),
        found: found.to_owned(),
        wanted: wanted.to_owned(),
    })
}

/// Sets `entries` of `service` in the file (creating it if absent), atomically.
pub(crate) fn write_entries(
    path: &Path,
    service: &str,
    entries: &[(String, Zeroizing<String>)],
) -> Result<(), AppKeyStoreError> {
    modify(path, service, |file| {
        for (user, value) in entries {
            file.entries.insert(user.clone(), value.clone());
        }
    })
    .map(drop)
}

/// Removes `user` of `service`: how many entries went (0 or 1).
pub(crate) fn delete(path: &Path, service: &str, user: &str) -> Result<usize, AppKeyStoreError> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(mut file) = load(path, FileKind::Private)? else {
        return Ok(0);
    };
    check_service(path, &file.service, service)?;
    if file.entries.remove(user).is_none() {
        return Ok(0);
    }
    save(path, &file)?;
    Ok(1)
}

/// Loads (or starts) the file, applies `change` and writes it back under the write lock.
fn modify(
    path: &Path,
    service: &str,
    change: impl FnOnce(&mut KeyFile),
) -> Result<(), AppKeyStoreError> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut file = match load(path, FileKind::Private)? {
        Some(file) => {
            check_service(path, &file.service, service)?;
            file
        }
        None => KeyFile { service: service.to_owned(), entries: BTreeMap::new() },
    };
    change(&mut file);
    save(path, &file)
}

/// Writes the whole file through the project's atomic write (temp, fsync, rename, dir fsync;
/// mode 0600).
fn save(path: &Path, file: &KeyFile) -> Result<(), AppKeyStoreError> {
    let wire = WireOut {
        service: &file.service,
        entries: file.entries.iter().map(|(user, value)| (user.as_str(), value.as_str())).collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&wire).map_err(|err| AppKeyStoreError::Io {
        action: "encode app key file",
        path: path.to_path_buf(),
        source: io::Error::other(err.to_string()),
    })?;
    bytes.push(b'\n');
    let written = crate::atomic_file::write_atomic(path, &bytes);
    bytes.zeroize();
    written.map_err(|err| AppKeyStoreError::io("write app key file", path, err))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const VECTOR: &str =
        r#"{"service": "Svc", "entries": {"app__salt": "00ff", "app__tag": "aa"}}"#;

    fn write_mode(path: &Path, content: &str, mode: u32) {
        fs::write(path, content).expect("write");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn value(file: &mut KeyFile, user: &str) -> Option<String> {
        file.read(user).expect("read").map(|v| v.as_str().to_owned())
    }

    #[test]
    fn reads_the_vector_shape_and_answers_absent_entries_with_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        write_mode(&path, VECTOR, 0o600);
        let mut file = open_reader(&path, FileKind::Private, "Svc").expect("open");
        assert_eq!(value(&mut file, "app__salt").as_deref(), Some("00ff"));
        assert_eq!(value(&mut file, "app__nonce"), None);
    }

    #[test]
    fn group_or_other_readable_and_foreign_files_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        write_mode(&path, VECTOR, 0o640);
        let err = open_reader(&path, FileKind::Private, "Svc").err().expect("refused");
        let p = path.display();
        assert_eq!(
            err.to_string(),
            format!(
                "app key file {p} has mode 0640; it must not be readable by group or others \
                 (chmod 600 {p})"
            )
        );
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        let err = open_reader(&link, FileKind::Private, "Svc").err().expect("refused");
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        // A credential is trusted as systemd placed it.
        assert!(open_reader(&path, FileKind::Credential, "Svc").is_ok());
        // Only root can hand a file to another user; as anyone else there is nothing to try.
        if rustix::process::geteuid().is_root() {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
            std::os::unix::fs::chown(&path, Some(65534), None).expect("chown");
            let err = open_reader(&path, FileKind::Private, "Svc").err().expect("refused");
            assert!(err.to_string().contains("is owned by uid 65534"), "{err}");
        }
    }

    #[test]
    fn missing_file_wrong_service_and_bad_json_are_errors_that_quote_no_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        let err = open_reader(&path, FileKind::Private, "Svc").err().expect("missing");
        assert!(matches!(err, AppKeyStoreError::FileMissing { .. }), "{err}");
        write_mode(&path, VECTOR, 0o600);
        let err = open_reader(&path, FileKind::Private, "Other").err().expect("mismatch");
        assert!(
            err.to_string().ends_with(
                r#"holds entries of service "Svc", not "Other"; one file holds one service"#
            ),
            "{err}"
        );
        write_mode(&path, r#"{"service": "Svc", "entries": {"u": ["s3cret"]}}"#, 0o600);
        let err = open_reader(&path, FileKind::Private, "Svc").err().expect("invalid");
        let text = err.to_string();
        assert!(text.contains("is not a valid app key file (Data error at line 1"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        write_mode(&path, r#"{"service": "Svc", "entries": {}, "extra": 1}"#, 0o600);
        assert!(open_reader(&path, FileKind::Private, "Svc").is_err());
    }

    #[test]
    fn writes_create_update_and_delete_atomically_with_mode_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        let entries = vec![
            ("app__salt".to_owned(), Zeroizing::new("01".to_owned())),
            ("app__tag".to_owned(), Zeroizing::new("02".to_owned())),
        ];
        write_entries(&path, "Svc", &entries).expect("create");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write_entries(&path, "Svc", &[("app__salt".into(), Zeroizing::new("03".into()))])
            .expect("replace");
        let mut file = open_reader(&path, FileKind::Private, "Svc").expect("open");
        assert_eq!(value(&mut file, "app__salt").as_deref(), Some("03"));
        assert_eq!(value(&mut file, "app__tag").as_deref(), Some("02"));
        assert_eq!(delete(&path, "Svc", "app__tag").expect("delete"), 1);
        assert_eq!(delete(&path, "Svc", "app__tag").expect("delete again"), 0);
        let mut file = open_reader(&path, FileKind::Private, "Svc").expect("open");
        assert_eq!(value(&mut file, "app__tag"), None);
        let err = write_entries(&path, "Other", &entries).expect_err("mismatch");
        assert!(matches!(err, AppKeyStoreError::ServiceMismatch { .. }), "{err}");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["keys.json"], "no temp files left");
        // The written file has the vector's shape.
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(json, serde_json::json!({"service": "Svc", "entries": {"app__salt": "03"}}));
    }

    #[test]
    fn a_write_refuses_an_unsafe_existing_file_and_leaves_it_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        write_mode(&path, VECTOR, 0o644);
        let err = write_entries(&path, "Svc", &[("u".into(), Zeroizing::new("v".into()))])
            .expect_err("refused");
        assert!(matches!(err, AppKeyStoreError::UnsafeFile { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).expect("read"), VECTOR);
    }
}
