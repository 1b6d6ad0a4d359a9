//! Where a command's result is cached: its key, derived from what makes two runs the same.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use sha2::{Digest, Sha256};

/// What identifies a run: the command line, and the directory and variables asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity<'a> {
    /// The command and its arguments, byte for byte.
    pub argv: &'a [OsString],
    /// The working directory, when `--cwd` asks for it.
    pub cwd: Option<&'a Path>,
    /// `--env` variables with their values (`None`: unset), in the order given.
    pub env: Vec<(String, Option<OsString>)>,
}

impl RunIdentity<'_> {
    /// `run:` and the SHA-256 of an unambiguous encoding: every field is length-prefixed,
    /// so `["a b"]` and `["a", "b"]`, or an unset and an empty variable, never collide.
    pub fn key(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(b"cachectl-run/1");
        let field = |hash: &mut Sha256, tag: u8, bytes: &[u8]| {
            hash.update([tag]);
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        for arg in self.argv {
            field(&mut hash, b'a', arg.as_bytes());
        }
        if let Some(cwd) = self.cwd {
            field(&mut hash, b'c', cwd.as_os_str().as_bytes());
        }
        for (name, value) in &self.env {
            field(&mut hash, b'n', name.as_bytes());
            match value {
                Some(value) => field(&mut hash, b'v', value.as_bytes()),
                None => hash.update([b'u']),
            }
        }
        let digest = hash.finalize();
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("run:{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn different_runs_get_different_keys() {
        let split = argv(&["echo", "a", "b"]);
        let joined = argv(&["echo", "a b"]);
        let key = |argv: &[OsString], cwd, env| RunIdentity { argv, cwd, env }.key();
        let base = key(&split, None, vec![]);
        assert!(base.starts_with("run:") && base.len() == 4 + 64);
        assert_eq!(base, key(&split, None, vec![]), "stable");
        assert_ne!(base, key(&joined, None, vec![]));
        assert_ne!(base, key(&split, Some(Path::new("/tmp")), vec![]));
        let unset = key(&split, None, vec![("LANG".into(), None)]);
        let empty = key(&split, None, vec![("LANG".into(), Some(OsString::new()))]);
        assert_ne!(unset, empty);
        assert_ne!(unset, base);
    }
}
