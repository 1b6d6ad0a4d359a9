//! The two sources handed to the daemon by whoever starts it: systemd credentials and the
//! `CACHEMGR_KEY` environment variable. The process environment is read once into
//! [`KeyEnv`], so the lookup order can be tested without touching the real environment.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use super::error::KeyError;
use super::master::MasterKey;
use super::{KeySource, LoadedKey};

/// File name of the credential inside `$CREDENTIALS_DIRECTORY` (`LoadCredential=cachemgr.key:...`).
pub const CREDENTIAL_NAME: &str = "cachemgr.key";
/// The environment variable holding a base64 key.
pub const ENV_VAR: &str = "CACHEMGR_KEY";

/// The most a credential file is read (base64 of 32 bytes is 44 characters).
const MAX_CREDENTIAL_BYTES: u64 = 4096;

/// Outcome of asking one source: a key, or why there was none (for the debug log and for
/// the error when that source was the only one allowed).
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The source held a valid key.
    Found(LoadedKey),
    /// Nothing there: where it looked.
    Absent(String),
}

/// The parts of the process environment the key sources read.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyEnv {
    /// `$CREDENTIALS_DIRECTORY`, if set and not empty.
    pub credentials_dir: Option<PathBuf>,
    /// `$CACHEMGR_KEY`, if set (even empty: a set-but-empty key is an error).
    pub key_var: Option<OsString>,
}

impl KeyEnv {
    /// Snapshot of this process's environment.
    pub fn from_process() -> KeyEnv {
        KeyEnv {
            credentials_dir: std::env::var_os("CREDENTIALS_DIRECTORY")
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
            key_var: std::env::var_os(ENV_VAR),
        }
    }
}

/// `$CREDENTIALS_DIRECTORY/cachemgr.key`: raw 32 bytes or base64. No mode checks: systemd
/// keeps that directory private to the service.
pub(crate) fn from_credentials(env: &KeyEnv) -> Result<Lookup, KeyError> {
    let Some(dir) = &env.credentials_dir else {
        return Ok(Lookup::Absent("$CREDENTIALS_DIRECTORY is not set".into()));
    };
    let path = dir.join(CREDENTIAL_NAME);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(Lookup::Absent(format!("there is no {}", path.display())));
        }
        Err(err) => return Err(KeyError::io("read credential", &path, err)),
    };
    let mut content = zeroize::Zeroizing::new(Vec::with_capacity(64));
    file.take(MAX_CREDENTIAL_BYTES + 1)
        .read_to_end(&mut content)
        .map_err(|err| KeyError::io("read credential", &path, err))?;
    let invalid = |reason: String| KeyError::InvalidKey {
        origin: format!("systemd credential {}", path.display()),
        reason,
        fix: "point the unit's LoadCredential=cachemgr.key:FILE at a file holding the base64 \
              of 32 random bytes (or the 32 bytes themselves)"
            .into(),
    };
    if content.len() as u64 > MAX_CREDENTIAL_BYTES {
        return Err(invalid(format!("it is larger than {MAX_CREDENTIAL_BYTES} bytes")));
    }
    let key = MasterKey::parse(&content, true).map_err(invalid)?;
    Ok(Lookup::Found(LoadedKey { key, source: KeySource::Credentials(path) }))
}

/// `CACHEMGR_KEY`: base64 of 32 bytes. Set but invalid (or empty) is an error that says what
/// is wrong and never echoes the value.
pub(crate) fn from_env(env: &KeyEnv) -> Result<Lookup, KeyError> {
    let Some(value) = &env.key_var else {
        return Ok(Lookup::Absent(format!("{ENV_VAR} is not set")));
    };
    let Some(text) = value.to_str() else {
        return Err(KeyError::InvalidEnv { var: ENV_VAR, reason: "it is not valid UTF-8".into() });
    };
    let key = MasterKey::parse(text.as_bytes(), false)
        .map_err(|reason| KeyError::InvalidEnv { var: ENV_VAR, reason })?;
    Ok(Lookup::Found(LoadedKey { key, source: KeySource::Env }))
}
