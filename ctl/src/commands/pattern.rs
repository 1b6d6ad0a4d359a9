//! Pattern commands: keys (streamed page by page), count, del-pattern, expire-pattern.

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Result;
use cachectl::{KeyPattern, KEYS_PAGE};
use serde_json::json;

use super::{Ctx, Outcome};
use crate::output::{print_json, print_text};

/// The pattern of `keys`/`count`: the glob, or the `--regex`, or none (all keys).
pub fn select(glob: Option<String>, regex: Option<String>) -> Option<KeyPattern> {
    match (glob, regex) {
        (_, Some(regex)) => Some(KeyPattern::regex(regex)),
        (Some(glob), None) => Some(KeyPattern::glob(glob)),
        (None, None) => None,
    }
}

/// The pattern of `del-pattern`/`expire-pattern`: a glob unless `--regex` was given.
pub fn make(pattern: String, regex: bool) -> KeyPattern {
    if regex {
        KeyPattern::regex(pattern)
    } else {
        KeyPattern::glob(pattern)
    }
}

/// `keys`: prints each page as it arrives so huge namespaces start printing at once and use
/// little memory; `--json` streams one JSON array the same way.
pub async fn keys(
    ctx: &Ctx,
    ns: &str,
    pattern: Option<KeyPattern>,
    limit: Option<u64>,
) -> Result<Outcome> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut remaining = limit.unwrap_or(u64::MAX);
    let mut cursor = 0;
    let mut first = true;
    if ctx.json {
        out.write_all(b"[")?;
    }
    while remaining > 0 {
        let count = u32::try_from(remaining).unwrap_or(KEYS_PAGE).min(KEYS_PAGE);
        let (keys, next) = ctx.client.keys_page(ns, pattern.clone(), cursor, count).await?;
        for key in keys.iter().take(usize::try_from(remaining).unwrap_or(usize::MAX)) {
            if ctx.json {
                if !first {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut out, key)?;
            } else {
                out.write_all(key.as_bytes())?;
                out.write_all(b"\n")?;
            }
            first = false;
            remaining -= 1;
        }
        out.flush()?;
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    if ctx.json {
        out.write_all(b"]\n")?;
    }
    out.flush()?;
    Ok(Outcome::Success)
}

/// `count`: how many keys match (JSON adds their bytes and how many have a TTL).
pub async fn count(ctx: &Ctx, ns: &str, pattern: Option<KeyPattern>) -> Result<Outcome> {
    let stats = ctx.client.pattern_stats(ns, pattern).await?;
    if ctx.json {
        print_json(&stats)?;
    } else {
        print_text(&format!("{}\n", stats.keys))?;
    }
    Ok(Outcome::Success)
}

/// `del-pattern`: prints how many keys were deleted.
pub async fn delete(ctx: &Ctx, ns: &str, pattern: KeyPattern) -> Result<Outcome> {
    let deleted = ctx.client.delete_pattern(ns, pattern).await?;
    if ctx.json {
        print_json(&json!({ "deleted": deleted }))?;
    } else {
        print_text(&format!("{deleted}\n"))?;
    }
    Ok(Outcome::Success)
}

/// `expire-pattern`: prints how many keys got the new TTL (`None`: expiry removed).
pub async fn expire(
    ctx: &Ctx,
    ns: &str,
    pattern: KeyPattern,
    ttl: Option<Duration>,
) -> Result<Outcome> {
    let changed = ctx.client.expire_pattern(ns, pattern, ttl).await?;
    if ctx.json {
        print_json(&json!({ "changed": changed }))?;
    } else {
        print_text(&format!("{changed}\n"))?;
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachectl::PatternSyntax;

    #[test]
    fn regex_wins_and_absent_means_all() {
        assert_eq!(select(None, None), None);
        assert_eq!(select(Some("a*".into()), None), Some(KeyPattern::glob("a*")));
        let regex = select(None, Some("^a".into())).map(|p| p.syntax);
        assert_eq!(regex, Some(PatternSyntax::Regex));
        assert_eq!(make("x".into(), true).syntax, PatternSyntax::Regex);
    }
}
