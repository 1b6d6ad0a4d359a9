//! `cachemgrd key-init`: make a master key and put it where the daemon will find it.
//!
//! It prints where the key went and its fingerprint, never the key, so the output is safe to
//! paste into a ticket.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::config::{KeysConfig, SourceChoice};
use super::error::KeyError;
use super::master::MasterKey;
use super::{key_file, keyring_store, KeySource, KEYUTILS};
use crate::config::Config;
use crate::paths;

/// Where `key-init --to` stores the new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitTarget {
    /// The OS keyring (Secret Service, else kernel keyutils).
    Keyring,
    /// A key file (`--path`, else `keys.file`, else `<state_dir>/master.key`).
    File,
}

/// What `key-init` was asked to do (from the command line).
#[derive(Debug, Clone)]
pub struct KeyInit {
    /// `--config`, if given.
    pub config: Option<PathBuf>,
    /// `--state-dir`, if given.
    pub state_dir: Option<PathBuf>,
    /// Where to store the key.
    pub to: InitTarget,
    /// The key file to write (with `--to file`).
    pub path: Option<PathBuf>,
    /// Replace an existing key.
    pub force: bool,
}

/// Runs `key-init` with the daemon's config: returns the lines to print.
pub async fn run_key_init(init: &KeyInit) -> anyhow::Result<String> {
    if init.to == InitTarget::Keyring && init.path.is_some() {
        bail!("--path only applies to --to file (the keyring entry is named by keys.keyring_service and keys.keyring_user)");
    }
    let config_path = paths::config_path(init.config.clone());
    let config = Config::load(config_path.as_deref()).with_context(|| match &config_path {
        Some(path) => format!("cannot load config {}", path.display()),
        None => "cannot load config from the environment".to_owned(),
    })?;
    let state_dir = paths::state_dir(init.state_dir.clone(), &config)?;
    if init.to == InitTarget::File && init.path.is_none() && config.keys.file.is_none() {
        // The default key file lives in the state directory, which is ours to create.
        paths::prepare_dir(&state_dir, false)?;
    }
    let key = MasterKey::try_generate()?;
    let source =
        store_new_key(&config.keys, &state_dir, init.to, init.path.as_deref(), &key, init.force)
            .await?;
    let mut out = format!("stored a new master key in {source}; fingerprint {}", key.fingerprint());
    if matches!(source, KeySource::Keyring { backend: KEYUTILS, .. }) {
        out.push_str(
            "\nnote: no Secret Service was reachable, so it went to the kernel keyutils store, \
             which forgets it at reboot and is only seen from this login session",
        );
    }
    let used = matches!(
        (config.keys.source, init.to),
        (SourceChoice::Auto, _)
            | (SourceChoice::Keyring, InitTarget::Keyring)
            | (SourceChoice::File, InitTarget::File)
    );
    if !used {
        out.push_str(&format!(
            "\nnote: keys.source = \"{}\", so cachemgrd will not read this key",
            config.keys.source.as_str()
        ));
    } else if let (InitTarget::File, Some(path)) = (init.to, &init.path) {
        if config.keys.key_file(&state_dir) != *path {
            out.push_str(&format!(
                "\nnote: cachemgrd reads {}; set keys.file = \"{}\" to use this one",
                config.keys.key_file(&state_dir).display(),
                path.display()
            ));
        }
    }
    Ok(out)
}

/// Stores `key` in the keyring, or in the key file (`path`, else the configured one) written
/// atomically with mode 0600. Refuses to replace an existing key unless `force`.
pub(crate) async fn store_new_key(
    config: &KeysConfig,
    state_dir: &Path,
    to: InitTarget,
    path: Option<&Path>,
    key: &MasterKey,
    force: bool,
) -> Result<KeySource, KeyError> {
    match to {
        InitTarget::Keyring => {
            keyring_store::store(
                &config.keyring_service,
                &config.keyring_user,
                key,
                force,
                config.keyring_timeout,
            )
            .await
        }
        InitTarget::File => {
            let path = path.map_or_else(|| config.key_file(state_dir), Path::to_path_buf);
            key_file::write_key_file(&path, key, force)?;
            Ok(KeySource::File(path))
        }
    }
}
