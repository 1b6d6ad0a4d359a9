//! The `[app_keys]` section: where the Python apps' keyring entries are read and written.
//!
//! Separate from the master-key settings (`[keys]`): the apps' entries belong to the apps,
//! live under their own keyring service, and may sit in another store than the daemon's key.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which store holds the apps' entries. A systemd credential `app-keys.json` overrides both
/// (read-only), since whoever wrote the unit chose it explicitly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppKeySourceChoice {
    /// The D-Bus Secret Service of the desktop session, where Python `keyring` keeps them.
    #[default]
    SecretService,
    /// A private JSON file (`app_keys.file`), for tests and headless hosts.
    File,
}

impl AppKeySourceChoice {
    /// The name used in the config file, for messages that quote the setting.
    pub fn as_str(self) -> &'static str {
        match self {
            AppKeySourceChoice::SecretService => "secret-service",
            AppKeySourceChoice::File => "file",
        }
    }
}

/// Settings of the app key store (`[app_keys]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppKeysConfig {
    /// Which store to use.
    pub source: AppKeySourceChoice,
    /// The JSON file of `source = "file"` (`{"service": ..., "entries": {user: value}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Longest wait for one batch of keyring calls, so a store waiting for an unlock prompt
    /// never hangs the daemon.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for AppKeysConfig {
    fn default() -> Self {
        Self { source: AppKeySourceChoice::SecretService, file: None, timeout: DEFAULT_TIMEOUT }
    }
}

/// Default of `app_keys.timeout`: a batch is about ten entries, each a D-Bus round trip.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl AppKeysConfig {
    /// Checks what serde cannot: returns the offending key (under `app_keys.`) and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.timeout.is_zero() {
            return Err(("app_keys.timeout", "must be longer than 0s".into()));
        }
        match &self.file {
            Some(file) if file.as_os_str().is_empty() => {
                Err(("app_keys.file", "must not be empty".into()))
            }
            None if self.source == AppKeySourceChoice::File => Err((
                "app_keys.file",
                "must be set when app_keys.source = \"file\" (the JSON file holding the entries)"
                    .into(),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_secret_service_and_file_needs_a_path() {
        let config: AppKeysConfig = toml::from_str("").expect("parse");
        assert_eq!(config, AppKeysConfig::default());
        assert_eq!(config.source, AppKeySourceChoice::SecretService);
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
        assert!(config.validate().is_ok());
        let config: AppKeysConfig =
            toml::from_str("source = \"file\"\nfile = \"/k.json\"\ntimeout = \"2s\"").expect("ok");
        assert_eq!(config.source, AppKeySourceChoice::File);
        assert_eq!(config.file, Some(PathBuf::from("/k.json")));
        assert_eq!(config.timeout, Duration::from_secs(2));
        let config: AppKeysConfig = toml::from_str("source = \"file\"").expect("parse");
        assert_eq!(config.validate().map_err(|e| e.0), Err("app_keys.file"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<AppKeysConfig>("sorce = \"file\"").is_err());
        assert!(toml::from_str::<AppKeysConfig>("source = \"secret_service\"").is_err());
        assert!(toml::from_str::<AppKeysConfig>("source = \"secret-service\"").is_ok());
        let config = AppKeysConfig { timeout: Duration::ZERO, ..AppKeysConfig::default() };
        assert_eq!(config.validate().map_err(|e| e.0), Err("app_keys.timeout"));
    }
}
