//! Key patterns: Redis-style globs (via `globset`) and regular expressions (via `regex`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use cachemgr_proto::{KeyPattern, PatternSyntax};
use globset::{GlobBuilder, GlobMatcher};
use regex::bytes::{Regex, RegexBuilder};

/// Upper bound on a compiled regex, so a hostile pattern cannot eat the daemon's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a pattern was refused.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// Not a valid glob.
    #[error("invalid glob {pattern:?}: {reason}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// What globset said.
        reason: String,
    },
    /// Not a valid (or too large) regex.
    #[error("invalid regex {pattern:?}: {reason}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// What regex said.
        reason: String,
    },
}

/// A compiled key pattern.
#[derive(Debug, Clone)]
pub enum KeyMatcher {
    /// Every key.
    All,
    /// A glob where `*` also crosses `/` and `:`.
    Glob(GlobMatcher),
    /// An unanchored regex over the key bytes.
    Regex(Regex),
}

impl KeyMatcher {
    /// Compiles a wire pattern; `None` matches everything.
    pub fn compile(pattern: Option<&KeyPattern>) -> Result<Self, PatternError> {
        let Some(pattern) = pattern else {
            return Ok(KeyMatcher::All);
        };
        match pattern.syntax {
            PatternSyntax::Glob if pattern.pattern == "*" => Ok(KeyMatcher::All),
            PatternSyntax::Glob => GlobBuilder::new(&pattern.pattern)
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .map(|glob| KeyMatcher::Glob(glob.compile_matcher()))
                .map_err(|err| PatternError::Glob {
                    pattern: pattern.pattern.clone(),
                    reason: err.kind().to_string(),
                }),
            PatternSyntax::Regex => RegexBuilder::new(&pattern.pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(KeyMatcher::Regex)
                .map_err(|err| PatternError::Regex {
                    pattern: pattern.pattern.clone(),
                    reason: err.to_string(),
                }),
        }
    }

    /// Whether `key` matches.
    pub fn is_match(&self, key: &[u8]) -> bool {
        match self {
            KeyMatcher::All => true,
            KeyMatcher::Glob(glob) => glob.is_match(Path::new(OsStr::from_bytes(key))),
            KeyMatcher::Regex(regex) => regex.is_match(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> KeyMatcher {
        KeyMatcher::compile(Some(&KeyPattern::glob(p))).expect("valid glob")
    }

    #[test]
    fn glob_star_crosses_separators() {
        assert!(glob("user:*").is_match(b"user:42:profile"));
        assert!(glob("a*z").is_match(b"a/b/z"));
        assert!(!glob("user:*").is_match(b"session:1"));
    }

    #[test]
    fn glob_classes_and_escapes() {
        assert!(glob("k[0-9]").is_match(b"k7"));
        assert!(!glob("k[!0-9]").is_match(b"k7"));
        assert!(glob("k[!0-9]").is_match(b"kx"));
        assert!(glob("k?").is_match(b"k1"));
        assert!(!glob("k?").is_match(b"k12"));
        assert!(glob(r"a\*").is_match(b"a*"));
        assert!(!glob(r"a\*").is_match(b"ab"));
    }

    #[test]
    fn regex_is_unanchored_and_errors_name_the_pattern() {
        let re = KeyMatcher::compile(Some(&KeyPattern::regex("^k[0-9]+$"))).expect("valid");
        assert!(re.is_match(b"k123"));
        assert!(!re.is_match(b"xk1"));
        let err = KeyMatcher::compile(Some(&KeyPattern::regex("("))).expect_err("invalid");
        assert!(err.to_string().contains("\"(\""), "{err}");
    }
}
