//! The `[keys]` section: where the master key comes from.
//!
//! Separate from `config.rs` so the key module owns its settings and their validation, and the
//! top-level config only embeds them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which key source to use: `auto` tries them in order, any other value names the only one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceChoice {
    /// Credentials, then `CACHEMGR_KEY`, then the keyring, then the key file, else ephemeral.
    #[default]
    Auto,
    /// Only `$CREDENTIALS_DIRECTORY/cachemgr.key` (systemd `LoadCredential=`).
    Credentials,
    /// Only the `CACHEMGR_KEY` environment variable.
    Env,
    /// Only the OS keyring (Secret Service, then kernel keyutils).
    Keyring,
    /// Only the key file.
    File,
    /// A fresh random key each start: nothing encrypted on disk survives a restart.
    Ephemeral,
}

impl SourceChoice {
    /// The name used in the config file, for messages that quote the setting.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceChoice::Auto => "auto",
            SourceChoice::Credentials => "credentials",
            SourceChoice::Env => "env",
            SourceChoice::Keyring => "keyring",
            SourceChoice::File => "file",
            SourceChoice::Ephemeral => "ephemeral",
        }
    }
}

/// Settings of the master-key lookup (`[keys]`). They apply at start-up only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Which source(s) to try.
    pub source: SourceChoice,
    /// Key file path; absent = `<state_dir>/master.key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Keyring service name (Secret Service attribute `service`).
    pub keyring_service: String,
    /// Keyring user name (Secret Service attribute `username`).
    pub keyring_user: String,
    /// Longest wait for the keyring: a locked collection may wait for a prompt forever.
    #[serde(with = "humantime_serde")]
    pub keyring_timeout: Duration,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            source: SourceChoice::Auto,
            file: None,
            keyring_service: "cachemgr".into(),
            keyring_user: "master".into(),
            keyring_timeout: Duration::from_secs(5),
        }
    }
}

impl KeysConfig {
    /// Checks the values serde cannot: returns the offending key (under `keys.`) and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.keyring_service.trim().is_empty() {
            return Err(("keys.keyring_service", "must not be empty".into()));
        }
        if self.keyring_user.trim().is_empty() {
            return Err(("keys.keyring_user", "must not be empty".into()));
        }
        if self.keyring_timeout.is_zero() {
            return Err(("keys.keyring_timeout", "must be longer than 0s".into()));
        }
        if self.file.as_ref().is_some_and(|file| file.as_os_str().is_empty()) {
            return Err(("keys.file", "must not be empty (leave it out for the default)".into()));
        }
        Ok(())
    }

    /// The key file in use: `keys.file`, else `<state_dir>/master.key`.
    pub fn key_file(&self, state_dir: &std::path::Path) -> PathBuf {
        self.file.clone().unwrap_or_else(|| state_dir.join("master.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_snake_case_names() {
        let config: KeysConfig = toml::from_str("source = \"keyring\"").expect("parse");
        assert_eq!(config.source, SourceChoice::Keyring);
        assert_eq!(config.keyring_service, "cachemgr");
        assert_eq!(config.keyring_user, "master");
        assert_eq!(config.keyring_timeout, Duration::from_secs(5));
        let config: KeysConfig =
            toml::from_str("keyring_timeout = \"250ms\"\nfile = \"/k\"").expect("parse");
        assert_eq!(config.keyring_timeout, Duration::from_millis(250));
        assert_eq!(config.key_file(std::path::Path::new("/s")), PathBuf::from("/k"));
        assert_eq!(KeysConfig::default().key_file("/s".as_ref()), PathBuf::from("/s/master.key"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<KeysConfig>("sorce = \"env\"").is_err());
        assert!(toml::from_str::<KeysConfig>("source = \"vault\"").is_err());
        let config = KeysConfig { keyring_timeout: Duration::ZERO, ..KeysConfig::default() };
        assert_eq!(config.validate().map_err(|e| e.0), Err("keys.keyring_timeout"));
        let config = KeysConfig { keyring_service: " ".into(), ..KeysConfig::default() };
        assert_eq!(config.validate().map_err(|e| e.0), Err("keys.keyring_service"));
    }
}
