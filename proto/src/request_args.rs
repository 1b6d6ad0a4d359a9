//! Argument types several requests share: write conditions, key patterns, bulk entries.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Whether a `set` writes unconditionally or only when the key is absent/present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetCondition {
    /// Always write (the default).
    #[default]
    Always,
    /// Write only when the key does not exist (Redis `NX`).
    IfAbsent,
    /// Write only when the key exists (Redis `XX`).
    IfPresent,
}

/// The syntax of a key pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternSyntax {
    /// Redis-style glob: `*`, `?`, `[abc]`, `[!a-z]`, `\` escapes; `*` crosses `:` and `/`.
    #[default]
    Glob,
    /// A regular expression (Rust `regex` syntax), unanchored unless it uses `^`/`$`.
    Regex,
}

/// Selects keys of a namespace; an absent pattern means every key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPattern {
    /// How `pattern` is read.
    #[serde(default)]
    pub syntax: PatternSyntax,
    /// The pattern text.
    pub pattern: String,
}

impl KeyPattern {
    /// A glob pattern, the common case.
    pub fn glob(pattern: impl Into<String>) -> Self {
        Self { syntax: PatternSyntax::Glob, pattern: pattern.into() }
    }

    /// A regular-expression pattern.
    pub fn regex(pattern: impl Into<String>) -> Self {
        Self { syntax: PatternSyntax::Regex, pattern: pattern.into() }
    }
}

/// One key/value pair of a bulk write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The key (UTF-8).
    pub key: String,
    /// The value (raw bytes, MessagePack `bin`).
    pub value: ByteBuf,
    /// Time to live in milliseconds; absent = the namespace's default TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}
