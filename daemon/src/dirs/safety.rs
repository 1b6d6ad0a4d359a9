//! Which directories may never be registered for trimming, and why (`dir add` refuses them
//! with the rule they break). Deleting a cache is harmless; deleting `/etc`, a home
//! directory or the daemon's own state is not, so the rules err on the side of refusing.

use std::path::{Path, PathBuf};

/// System directories: refused themselves and everything under them.
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/proc",
    "/run",
    "/sbin",
    "/snap",
    "/sys",
    "/usr",
    "/var/lib",
    "/var/log",
    "/var/spool",
];

/// Directories that hold homes or system data: refused themselves and any directory above
/// them, but their subdirectories may be caches (`/root/.cache`, `/var/cache/app`).
const CONTAINER_DIRS: &[&str] = &["/home", "/root", "/var"];

/// What the rules protect besides the fixed lists.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// Home directories (the daemon's, the caller's) and the configuration directory, each
    /// with a description ("the home directory of ..."): refused themselves and their parents.
    pub homes: Vec<(PathBuf, String)>,
    /// The daemon's own directories (state, backups, socket): refused themselves, anything
    /// inside them, and anything above them.
    pub daemon_dirs: Vec<(PathBuf, String)>,
}

/// Why `dir` (absolute, every symlink resolved) may not be registered, if so.
pub fn refusal(dir: &Path, protected: &Protected) -> Option<String> {
    if dir.parent().is_none() {
        return Some("it is the root directory".to_owned());
    }
    if let Some(top) = top_level(dir).filter(|top| top.starts_with("lib")) {
        return Some(format!("it is under the system directory /{top}"));
    }
    if let Some(system) = SYSTEM_DIRS.iter().find(|d| dir.starts_with(d)) {
        return Some(format!("it is under the system directory {system}"));
    }
    if let Some(container) = CONTAINER_DIRS.iter().find(|d| Path::new(d).starts_with(dir)) {
        return Some(if Path::new(container) == dir {
            format!("{container} itself may not be trimmed (a directory below it may)")
        } else {
            format!("it contains {container}")
        });
    }
    if dir.parent() == Some(Path::new("/home")) {
        return Some("it is a home directory".to_owned());
    }
    for (home, what) in &protected.homes {
        if home == dir {
            return Some(format!("it is {what}"));
        }
        if home.starts_with(dir) {
            return Some(format!("it contains {what} ({})", home.display()));
        }
    }
    for (own, what) in &protected.daemon_dirs {
        if own == dir {
            return Some(format!("it is the daemon's {what}"));
        }
        if dir.starts_with(own) {
            return Some(format!("it is inside the daemon's {what} {}", own.display()));
        }
        if own.starts_with(dir) {
            return Some(format!("it contains the daemon's {what} {}", own.display()));
        }
    }
    None
}

fn top_level(dir: &Path) -> Option<String> {
    dir.components().nth(1).map(|c| c.as_os_str().to_string_lossy().into_owned())
}

/// The home directory of `uid` from `/etc/passwd` (users known only to NSS services are not
/// found; the daemon's own `$HOME` and the `/home/<name>` rule still cover the usual cases).
pub fn home_of(uid: u32) -> Option<PathBuf> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    home_in_passwd(&passwd, uid)
}

fn home_in_passwd(passwd: &str, uid: u32) -> Option<PathBuf> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let matches = fields.get(2).and_then(|u| u.parse::<u32>().ok()) == Some(uid);
        matches.then(|| fields.get(5).map(PathBuf::from)).flatten()
    })
}

/// A path with its symlinks resolved when it exists (so a protected directory reached
/// through a symlink is still recognised), else as given.
pub fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protected() -> Protected {
        Protected {
            homes: vec![(
                PathBuf::from("/srv/users/alice"),
                "the home directory of the daemon's user".into(),
            )],
            daemon_dirs: vec![(PathBuf::from("/srv/state/cachemgr"), "state directory".into())],
        }
    }

    fn refused(path: &str) -> Option<String> {
        refusal(Path::new(path), &protected())
    }

    #[test]
    fn system_root_and_homes_are_refused_with_the_rule() {
        for (path, why) in [
            ("/", "root directory"),
            ("/etc", "system directory /etc"),
            ("/etc/ssl/certs", "system directory /etc"),
            ("/usr/share", "system directory /usr"),
            ("/lib64", "system directory /lib64"),
            ("/var/lib/apt", "system directory /var/lib"),
            ("/var", "/var itself"),
            ("/root", "/root itself"),
            ("/home", "/home itself"),
            ("/home/bob", "a home directory"),
            ("/srv/users/alice", "home directory of the daemon's user"),
            ("/srv/users", "contains the home directory"),
            ("/srv/state/cachemgr", "the daemon's state directory"),
            ("/srv/state/cachemgr/backups", "inside the daemon's state directory"),
            ("/srv/state", "contains the daemon's state directory"),
            ("/srv", "contains"),
        ] {
            let reason = refused(path).unwrap_or_else(|| panic!("{path} was accepted"));
            assert!(reason.contains(why), "{path}: {reason}");
        }
    }

    #[test]
    fn caches_below_homes_are_accepted() {
        for path in [
            "/home/bob/.cache",
            "/root/.cache/pip",
            "/var/cache/app",
            "/srv/users/alice/.cache",
            "/tmp/x",
        ] {
            assert_eq!(refused(path), None, "{path}");
        }
    }

    #[test]
    fn passwd_lookup_finds_the_home_of_a_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:,,,:/home/alice:/bin/sh\n";
        assert_eq!(home_in_passwd(passwd, 1000), Some(PathBuf::from("/home/alice")));
        assert_eq!(home_in_passwd(passwd, 0), Some(PathBuf::from("/root")));
        assert_eq!(home_in_passwd(passwd, 7), None);
    }
}
