//! Process limits a server needs: enough file descriptors for `max_connections` clients.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Raises the soft open-files limit to the hard one (many systems start services at 1024,
/// fewer than `max_connections` plus the daemon's own files). Returns the limit now in force.
pub fn raise_open_files() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    let wanted = Rlimit { current: limit.maximum, maximum: limit.maximum };
    if limit.current != limit.maximum {
        if let Err(err) = setrlimit(Resource::Nofile, wanted) {
            tracing::debug!("cannot raise the open-files limit: {err}");
            return limit.current;
        }
    }
    limit.maximum
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let now = super::raise_open_files();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
        assert_eq!(now, limit.maximum);
    }
}
