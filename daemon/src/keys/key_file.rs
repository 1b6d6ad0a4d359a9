//! The key file: read only when it is safe to trust, written atomically by `key-init`.
//!
//! A key file readable by others leaks the key, and one owned or linked by someone else lets
//! them choose it, so the daemon refuses both with the command that fixes it rather than
//! quietly using (or skipping) it.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;

use super::error::{FileProblem, KeyError};
use super::master::MasterKey;

/// The most a key file is read: base64 of 32 bytes is 44 characters.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Why a private file (a key file, the app key file) could not be opened for reading.
#[derive(Debug)]
pub(crate) enum PrivateFileError {
    /// Its type, owner or mode makes it unsafe to trust.
    Unsafe(FileProblem),
    /// The OS refused: what was being done, and the error.
    Io(&'static str, io::Error),
}

/// Opens `path` for reading only if it is safe to trust: `Ok(None)` when there is no file,
/// an error when it is a symlink, not a regular file, owned by another uid than ours, or open
/// to group/others. Shared by every reader of private key material.
pub(crate) fn open_private(path: &Path) -> Result<Option<File>, PrivateFileError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(PrivateFileError::Io("read", err)),
    };
    trust_problem(&meta).map_or(Ok(()), |p| Err(PrivateFileError::Unsafe(p)))?;
    // O_NOFOLLOW and a second check on the opened file close the window between the stat
    // and the open; O_NONBLOCK keeps a FIFO swapped in from hanging the open.
    let flags = (OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32;
    let file = match OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(PrivateFileError::Unsafe(FileProblem::Symlink));
        }
        Err(err) => return Err(PrivateFileError::Io("open", err)),
    };
    let opened = file.metadata().map_err(|err| PrivateFileError::Io("stat", err))?;
    trust_problem(&opened).map_or(Ok(()), |p| Err(PrivateFileError::Unsafe(p)))?;
    Ok(Some(file))
}

/// Reads the key at `path`: `Ok(None)` when there is no file, an error when it is unsafe
/// (symlink, not regular, foreign owner, group/other bits) or holds no valid key.
pub(crate) fn read_key_file(path: &Path) -> Result<Option<MasterKey>, KeyError> {
    let file = match open_private(path) {
        Ok(Some(file)) => file,
        Ok(None) => return Ok(None),
        Err(PrivateFileError::Unsafe(problem)) => return Err(unsafe_file(path, problem)),
        Err(PrivateFileError::Io(action, err)) => {
            let action = match action {
                "read" => "read key file",
                "open" => "open key file",
                _ => "stat key file",
            };
            return Err(KeyError::io(action, path, err));
        }
    };
    let mut content = zeroize::Zeroizing::new(Vec::with_capacity(64));
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut content)
        .map_err(|err| KeyError::io("read key file", path, err))?;
    let invalid = |reason: String| KeyError::InvalidKey {
        origin: format!("key file {}", path.display()),
        reason,
        fix: format!(
            "write a new one with `cachemgrd key-init --to file --path {} --force`",
            path.display()
        ),
    };
    if content.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(invalid(format!("it is larger than {MAX_KEY_FILE_BYTES} bytes")));
    }
    MasterKey::parse(&content, true).map(Some).map_err(invalid)
}

/// What makes a file untrustworthy, if anything: not a plain file, not ours, or open to
/// others.
fn trust_problem(meta: &Metadata) -> Option<FileProblem> {
    if meta.file_type().is_symlink() {
        return Some(FileProblem::Symlink);
    }
    if !meta.is_file() {
        return Some(FileProblem::NotRegular);
    }
    let euid = rustix::process::geteuid().as_raw();
    if meta.uid() != euid {
        return Some(FileProblem::Owner { owner: meta.uid(), euid });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Some(FileProblem::Mode(mode));
    }
    None
}

fn unsafe_file(path: &Path, problem: FileProblem) -> KeyError {
    KeyError::UnsafeKeyFile { path: path.to_path_buf(), problem }
}

/// Writes `key` (base64 text) to `path` atomically: a 0600 temp file in the same directory,
/// fsync, then rename (with `force`) or hard-link (without: fails if `path` exists, with no
/// window where another writer could be overwritten), then fsync the directory.
pub(crate) fn write_key_file(path: &Path, key: &MasterKey, force: bool) -> Result<(), KeyError> {
    let name = path.file_name().ok_or_else(|| {
        KeyError::io("write key file", path, io::Error::other("the path names no file"))
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let exists = || KeyError::AlreadyExists { location: format!("key file {}", path.display()) };
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce).map_err(|err| KeyError::Random { reason: err.to_string() })?;
    let temp = TempFile(dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        u64::from_le_bytes(nonce)
    )));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(OFlags::NOFOLLOW.bits() as i32)
        .open(&temp.0)
        .map_err(|err| KeyError::io("create temporary key file", &temp.0, err))?;
    let mut text = key.to_base64();
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| KeyError::io("write temporary key file", &temp.0, err))?;
    drop(file);
    if force {
        fs::rename(&temp.0, path).map_err(|err| KeyError::io("replace key file", path, err))?;
    } else {
        match fs::hard_link(&temp.0, path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Err(exists()),
            Err(err) => return Err(KeyError::io("create key file", path, err)),
        }
    }
    drop(temp);
    File::open(&dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|err| KeyError::io("sync directory", &dir, err))
}

/// Removes the temporary file when dropped (after a rename this finds nothing to remove).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn write_mode(path: &Path, content: &[u8], mode: u32) {
        fs::write(path, content).expect("write");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn absent_file_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read_key_file(&dir.path().join("master.key")).expect("ok").is_none());
    }

    #[test]
    fn mode_0600_base64_and_raw_are_accepted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let key = MasterKey::from_bytes([7; 32]);
        write_mode(&path, format!("{}\n", key.to_base64().as_str()).as_bytes(), 0o600);
        let read = read_key_file(&path).expect("ok").expect("some");
        assert_eq!(read.fingerprint(), key.fingerprint());
        write_mode(&path, &[7; 32], 0o400);
        assert_eq!(
            read_key_file(&path).expect("ok").expect("some").fingerprint(),
            key.fingerprint()
        );
    }

    #[test]
    fn group_readable_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        write_mode(&path, MasterKey::generate().to_base64().as_bytes(), 0o644);
        let err = read_key_file(&path).expect_err("refused").to_string();
        let p = path.display();
        assert_eq!(
            err,
            format!(
                "key file {p} has mode 0644; it must not be readable by group or others (chmod 600 {p})"
            )
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o620)).expect("chmod");
        let err = read_key_file(&path).expect_err("refused").to_string();
        assert!(err.contains("mode 0620; it must not be writable or executable"), "{err}");
    }

    #[test]
    fn symlink_and_directory_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.key");
        write_mode(&real, MasterKey::generate().to_base64().as_bytes(), 0o600);
        let link = dir.path().join("master.key");
        symlink(&real, &link).expect("symlink");
        let err = read_key_file(&link).expect_err("refused");
        assert!(
            matches!(&err, KeyError::UnsafeKeyFile { problem: FileProblem::Symlink, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        let err = read_key_file(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("is not a regular file"), "{err}");
    }

    #[test]
    fn invalid_content_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        write_mode(&path, b"c2hvcnQ=\n", 0o600);
        let err = read_key_file(&path).expect_err("invalid").to_string();
        assert!(err.starts_with(&format!("key file {} does not hold", path.display())), "{err}");
        assert!(err.contains("decodes to 5 bytes, not 32"), "{err}");
    }

    #[test]
    fn write_is_0600_refuses_overwrite_and_replaces_with_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let first = MasterKey::generate();
        write_key_file(&path, &first, false).expect("write");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            read_key_file(&path).expect("ok").expect("some").fingerprint(),
            first.fingerprint()
        );
        let second = MasterKey::generate();
        let err = write_key_file(&path, &second, false).expect_err("exists");
        assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err}");
        assert!(err.to_string().contains("pass --force"), "{err}");
        write_key_file(&path, &second, true).expect("forced");
        assert_eq!(
            read_key_file(&path).expect("ok").expect("some").fingerprint(),
            second.fingerprint()
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "temp files left behind: {leftovers:?}");
    }
}
