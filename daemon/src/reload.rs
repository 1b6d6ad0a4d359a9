//! Reload: re-reads the config file and puts it in force for the whole daemon (the store's
//! live cell, which every component reads), then wakes the jobs whose timers depend on it.
//!
//! Clear on change: a namespace whose settings change incompatibly (its tier or its eviction
//! policy; namespace keys are derived from the master key, not configured per namespace) is
//! cleared in every layer, on reload and, for changes made while the daemon was down, at
//! start-up. Values kept under other settings would otherwise linger: a disk tier switched to
//! memory would leave sealed values on disk that come back when the tier is switched back.
//!
//! The settings each namespace had are persisted atomically in
//! `<state_dir>/namespace_settings.json` (`{"version": 1, "namespaces": {"<ns>": {"tier":
//! "disk", "eviction": "lru"}}}`). At start-up, disk data of a namespace whose tier has no
//! disk layer (an orphan, even without a record) is cleared too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomic;
use crate::config::{Config, ConfigError};
use crate::config_diff::describe_changes;
use crate::context::DaemonContext;
use crate::store::Store;

/// Name of the record inside the state directory.
pub const STATE_FILE: &str = "namespace_settings.json";
const STATE_VERSION: u32 = 1;

/// The settings whose change clears a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `memory`, `disk`, `memory+disk`, ...
    pub tier: String,
    /// `lru`, `lfu`, `fifo`.
    pub eviction: String,
}

impl Settings {
    /// The settings `config` gives `ns`.
    pub fn of(config: &Config, ns: &str) -> Settings {
        Settings {
            tier: config.tier_for(ns).0.as_str().to_owned(),
            eviction: config.limits_for(ns).eviction.as_str().to_owned(),
        }
    }

    /// What changed incompatibly from `self` to `new`, one phrase each (empty: nothing).
    pub fn incompatible(&self, new: &Settings) -> Vec<String> {
        let mut changed = Vec::new();
        if self.tier != new.tier {
            changed.push(format!("tier {} -> {}", self.tier, new.tier));
        }
        if self.eviction != new.eviction {
            changed.push(format!("eviction {} -> {}", self.eviction, new.eviction));
        }
        changed
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    version: u32,
    #[serde(default)]
    namespaces: BTreeMap<String, Settings>,
}

/// Re-reads the config (as `reload` and SIGHUP do), clears the namespaces whose settings
/// changed incompatibly and says so in the returned change list.
///
/// systemd hears `RELOADING=1` before and `READY=1` after, whatever the outcome (a refused
/// config leaves the old one serving).
pub async fn reload(app: &DaemonContext) -> Result<Vec<String>, ConfigError> {
    crate::notify::reloading();
    let outcome = apply_reload(app).await;
    crate::notify::ready(&crate::watchdog::status_line(app));
    outcome
}

async fn apply_reload(app: &DaemonContext) -> Result<Vec<String>, ConfigError> {
    // One reload at a time, from the list of namespaces to its record: a second reload sees
    // what the first created.
    let _one_at_a_time = app.reload_lock.lock().await;
    // Namespaces that exist before the reload: one the new config only creates has nothing
    // to clear.
    let existing = names(&app.store, &app.config());
    let (old, new, mut changes) = {
        // With no file at start, look again: the operator may have created one since.
        let path = app.config_path.clone().or_else(|| crate::paths::config_path(None));
        // Reading the file and resolving readers/writers through NSS block: off the runtime.
        let loaded = tokio::task::spawn_blocking(move || Config::load(path.as_deref())).await;
        let new = Arc::new(loaded.map_err(|err| ConfigError::Task(err.to_string()))??);
        let old = app.config();
        let changes = describe_changes(&old, &new);
        app.store.apply_config(new.clone());
        (old, new, changes)
    };
    for ns in &existing {
        let changed = Settings::of(&old, ns).incompatible(&Settings::of(&new, ns));
        if changed.is_empty() {
            continue;
        }
        let what = changed.join(", ");
        match app.store.purge(ns).await {
            Ok((entries, bytes)) => {
                tracing::warn!(namespace = %ns, changed = %what, entries, bytes, "settings changed incompatibly: namespace cleared");
                changes.push(format!(
                    "namespace {ns} cleared ({what}): {entries} entries, {bytes} bytes freed"
                ));
            }
            Err(err) => {
                tracing::error!(namespace = %ns, changed = %what, "could not clear the namespace after its settings changed: {err}");
                changes.push(format!("namespace {ns} could not be cleared ({what}): {err}"));
            }
        }
    }
    save(&file(&app.state_dir), &app.store, &new);
    if let Some(schedule) = &app.clear_schedule {
        schedule.wake();
    }
    app.pressure.config_changed();
    Ok(changes)
}

/// At start-up, before serving: clears the stored data of namespaces whose settings changed
/// since the record was written, and orphaned disk data; returns one notice per clear.
pub async fn at_start(store: &Store, config: &Config, state_dir: &Path) -> Vec<String> {
    let path = file(state_dir);
    let record = match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<Record>(&bytes) {
            Ok(record) if record.version == STATE_VERSION => record,
            Ok(record) => {
                tracing::warn!(file = %path.display(), version = record.version, "unknown version of the namespace settings record; starting a new one");
                Record::default()
            }
            Err(err) => {
                tracing::warn!(file = %path.display(), "the namespace settings record is unreadable ({err}); starting a new one");
                Record::default()
            }
        },
        Err(_) => Record::default(),
    };
    let mut notices = Vec::new();
    let mut all = names(store, config);
    all.extend(record.namespaces.keys().cloned());
    for ns in &all {
        let now = Settings::of(config, ns);
        let why = match record.namespaces.get(ns) {
            Some(before) => before.incompatible(&now).join(", "),
            None => String::new(),
        };
        // Its key salts stay after a clear, so "has disk state" is not enough: only values
        // left behind make an orphan (else every start would clear it again).
        let orphan = !config.tier_for(ns).0.has_disk()
            && store
                .disk()
                .is_some_and(|disk| disk.lookup(ns).is_some() && disk.stats(ns).entries > 0);
        let why = match (why.is_empty(), orphan) {
            (false, _) => format!("settings changed while the daemon was down ({why})"),
            (true, true) => format!("disk data left by an earlier tier (tier is {} now)", now.tier),
            (true, false) => continue,
        };
        match store.purge(ns).await {
            Ok((0, 0)) => {
                tracing::info!(namespace = %ns, "{why}: nothing was stored, nothing to clear");
            }
            Ok((entries, bytes)) => {
                tracing::warn!(namespace = %ns, "{why}: stored data cleared at start ({entries} entries, {bytes} bytes)");
                notices.push(format!("namespace {ns}: {why}; its stored data was cleared at start ({entries} entries, {bytes} bytes)"));
            }
            Err(err) => {
                tracing::error!(namespace = %ns, "{why}, but clearing it failed: {err}");
            }
        }
    }
    save(&path, store, config);
    notices
}

fn file(state_dir: &Path) -> PathBuf {
    state_dir.join(STATE_FILE)
}

/// Every namespace worth comparing: configured, existing, or holding disk data.
fn names(store: &Store, config: &Config) -> BTreeSet<String> {
    let mut all: BTreeSet<String> = config.namespaces.keys().cloned().collect();
    all.extend(store.all().iter().map(|ns| ns.name().to_owned()));
    if let Some(disk) = store.disk() {
        all.extend(disk.all().iter().map(|ns| ns.name().to_owned()));
    }
    all
}

/// Records the settings `config` gives every namespace, atomically.
fn save(path: &Path, store: &Store, config: &Config) {
    let record = Record {
        version: STATE_VERSION,
        namespaces: names(store, config)
            .into_iter()
            .map(|ns| {
                let settings = Settings::of(config, &ns);
                (ns, settings)
            })
            .collect(),
    };
    let written =
        serde_json::to_vec_pretty(&record).map_err(std::io::Error::from).and_then(|mut json| {
            json.push(b'\n');
            write_atomic(path, &json)
        });
    if let Err(err) = written {
        tracing::warn!(file = %path.display(), "could not save the namespace settings record: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NamespaceConfig;
    use crate::store::memory::EvictionPolicy;
    use crate::store::tier::Tier;

    #[test]
    fn tier_and_eviction_changes_are_incompatible_limits_are_not() {
        let mut old = Config::default();
        old.namespaces.insert(
            "a".into(),
            NamespaceConfig { tier: Some(Tier::Disk), ..NamespaceConfig::default() },
        );
        let mut new = old.clone();
        let a = new.namespaces.get_mut("a").unwrap();
        a.max_bytes = Some(bytesize::ByteSize::mib(1));
        assert!(Settings::of(&old, "a").incompatible(&Settings::of(&new, "a")).is_empty());
        let a = new.namespaces.get_mut("a").unwrap();
        a.tier = Some(Tier::Memory);
        a.eviction = Some(EvictionPolicy::Fifo);
        let changed = Settings::of(&old, "a").incompatible(&Settings::of(&new, "a"));
        assert_eq!(changed, ["tier disk -> memory", "eviction lru -> fifo"]);
    }
}
