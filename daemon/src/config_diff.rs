//! Human-readable differences between two configs, for the reload log line and `reload`.

use std::collections::BTreeMap;

use crate::config::Config;

/// Keys whose new value only takes effect after a restart.
const RESTART_KEYS: &[&str] =
    &["socket", "socket_group", "state_dir", "max_connections", "metrics_listen"];

/// Sections read at start-up only: any key under them takes effect after a restart.
const RESTART_SECTIONS: &[&str] = &["keys.", "apps.", "app_keys.", "redis.", "disk."];

fn needs_restart(key: &str) -> bool {
    RESTART_KEYS.contains(&key) || RESTART_SECTIONS.iter().any(|section| key.starts_with(section))
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, inner, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

fn flat(config: &Config) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(value) = toml::Value::try_from(config) {
        flatten("", &value, &mut out);
    }
    // A Redis URL may carry a password: the log and `reload` show it without.
    if let Some(url) = out.get_mut("redis.url") {
        *url = format!("{:?}", config.redis.display_url());
    }
    out
}

/// One line per changed key: `key: old -> new`, noting keys that need a restart.
pub fn describe_changes(old: &Config, new: &Config) -> Vec<String> {
    let (old, new) = (flat(old), flat(new));
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|key| old.get(*key) != new.get(*key))
        .map(|key| {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(unset)".into());
            let mut line = format!("{key}: {} -> {}", show(old.get(key)), show(new.get(key)));
            if needs_restart(key) {
                line.push_str(" (takes effect after a restart)");
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_changed_keys_only() {
        let old = Config::default();
        let mut new = Config { max_connections: 7, ..Config::default() };
        new.defaults.eviction = crate::store::memory::EvictionPolicy::Lfu;
        let changes = describe_changes(&old, &new);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes.iter().any(|c| c.starts_with("defaults.eviction: \"lru\" -> \"lfu\"")));
        assert!(changes.iter().any(|c| c.contains("max_connections") && c.contains("restart")));
        assert!(describe_changes(&old, &old).is_empty());
    }

    #[test]
    fn the_metrics_address_needs_a_restart() {
        let old = Config::default();
        let addr = "127.0.0.1:9187".parse().expect("an address");
        let new = Config { metrics_listen: Some(addr), ..Config::default() };
        let changes = describe_changes(&old, &new);
        assert_eq!(
            changes,
            ["metrics_listen: (unset) -> \"127.0.0.1:9187\" (takes effect after a restart)"]
        );
    }

    #[test]
    fn a_redis_password_is_never_shown_and_redis_needs_a_restart() {
        let old = Config::default();
        let mut new = Config::default();
        new.redis.url = Some("redis://app:hunter2@10.0.0.9:6379/0".into());
        let changes = describe_changes(&old, &new);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(!changes[0].contains("hunter2"), "{changes:?}");
        assert!(changes[0].contains("10.0.0.9") && changes[0].contains("restart"), "{changes:?}");
    }

    #[test]
    fn the_disk_layer_and_the_socket_group_need_a_restart() {
        let old = Config::default();
        let mut new = Config::default();
        new.disk.batch_window = std::time::Duration::from_millis(7);
        new.socket_group = Some("cache".into());
        let changes = describe_changes(&old, &new);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            changes.iter().all(|c| c.ends_with("(takes effect after a restart)")),
            "{changes:?}"
        );
    }
}
