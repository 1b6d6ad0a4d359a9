//! Single-key and bulk key/value commands: set, get, del, exists, ttl, expire, mget, mset.

use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use cachectl::{ttl_to_ms, Entry, SetCondition};
use serde_bytes::ByteBuf;
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::cli::SetArgs;
use crate::output::{format_ttl, print_json, print_text, value_json};

/// The value of `set`: the VALUE argument's bytes, the file, or all of stdin (binary-safe).
pub fn read_value(args: &SetArgs) -> Result<Vec<u8>> {
    if let Some(value) = &args.value {
        return Ok(value.as_bytes().to_vec());
    }
    if let Some(file) = &args.file {
        return fs::read(file).with_context(|| format!("cannot read {}", file.display()));
    }
    let mut value = Vec::new();
    if io::stdin().is_terminal() {
        eprintln!("reading the value from stdin; end it with Ctrl-D");
    }
    io::stdin().lock().read_to_end(&mut value).context("cannot read the value from stdin")?;
    Ok(value)
}

/// `set`: exit 1 when a --nx/--xx condition prevented the write.
pub async fn set(ctx: &Ctx, args: &SetArgs, value: Vec<u8>) -> Result<Outcome> {
    let condition = match (args.nx, args.xx) {
        (true, _) => SetCondition::IfAbsent,
        (_, true) => SetCondition::IfPresent,
        _ => SetCondition::Always,
    };
    let stored = ctx.client.set(&args.ns, &args.key, value, args.ttl, condition).await?;
    if ctx.json {
        print_json(&json!({ "stored": stored }))?;
    } else if stored {
        print_text("OK\n")?;
    } else {
        let why = if args.nx { "the key exists" } else { "the key does not exist" };
        eprintln!("not stored: {why}");
    }
    Ok(Outcome::found(stored))
}

/// `get`: raw bytes to stdout or `--out`, no newline added; exit 1 when missing.
pub async fn get(ctx: &Ctx, ns: &str, key: &str, out: Option<&Path>) -> Result<Outcome> {
    let Some(value) = ctx.client.get(ns, key).await? else {
        if ctx.json {
            print_json(&json!({ "found": false, "value": null }))?;
        } else {
            eprintln!("(nil): {key} not found in {ns}");
        }
        return Ok(Outcome::NotFound);
    };
    if let Some(path) = out {
        fs::write(path, &value).with_context(|| format!("cannot write {}", path.display()))?;
        if ctx.json {
            print_json(&json!({ "found": true, "bytes": value.len(), "out": path }))?;
        }
    } else if ctx.json {
        print_json(&json!({ "found": true, "value": value_json(&value) }))?;
    } else {
        let mut stdout = io::stdout().lock();
        stdout.write_all(&value)?;
        stdout.flush()?;
    }
    Ok(Outcome::Success)
}

/// `del`: prints how many of the keys existed.
pub async fn del(ctx: &Ctx, ns: &str, keys: &[String]) -> Result<Outcome> {
    let deleted = ctx.client.delete(ns, keys).await?;
    if ctx.json {
        print_json(&json!({ "deleted": deleted }))?;
    } else {
        print_text(&format!("{deleted}\n"))?;
    }
    Ok(Outcome::Success)
}

/// `exists`: prints yes/no; exit 1 when missing so `if cachectl exists ...` works.
pub async fn exists(ctx: &Ctx, ns: &str, key: &str) -> Result<Outcome> {
    let exists = ctx.client.exists(ns, key).await?;
    if ctx.json {
        print_json(&json!({ "exists": exists }))?;
    } else {
        print_text(if exists { "yes\n" } else { "no\n" })?;
    }
    Ok(Outcome::found(exists))
}

/// `ttl`: remaining time (`29.5s`) or `no expiry`; exit 1 when missing.
pub async fn ttl(ctx: &Ctx, ns: &str, key: &str) -> Result<Outcome> {
    let (exists, remaining) = ctx.client.ttl(ns, key).await?;
    if ctx.json {
        let ttl_ms = remaining.map(ttl_to_ms);
        print_json(&json!({ "exists": exists, "ttl_ms": ttl_ms }))?;
    } else if !exists {
        eprintln!("(nil): {key} not found in {ns}");
    } else {
        let text = remaining.map_or_else(|| "no expiry".to_owned(), format_ttl);
        print_text(&format!("{text}\n"))?;
    }
    Ok(Outcome::found(exists))
}

/// `expire`: sets (or with `None`, removes) a key's TTL; exit 1 when missing.
pub async fn expire(ctx: &Ctx, ns: &str, key: &str, ttl: Option<Duration>) -> Result<Outcome> {
    let exists = ctx.client.expire(ns, key, ttl).await?;
    if ctx.json {
        print_json(&json!({ "exists": exists }))?;
    } else if exists {
        print_text("OK\n")?;
    } else {
        eprintln!("(nil): {key} not found in {ns}");
    }
    Ok(Outcome::found(exists))
}

/// `mget`: one value per line, `(nil)` for missing ones; JSON: an array with nulls.
pub async fn mget(ctx: &Ctx, ns: &str, keys: &[String]) -> Result<Outcome> {
    let values = ctx.client.get_many(ns, keys).await?;
    if ctx.json {
        let array: Vec<Value> =
            values.iter().map(|value| value.as_deref().map_or(Value::Null, value_json)).collect();
        print_json(&array)?;
        return Ok(Outcome::Success);
    }
    let mut stdout = io::stdout().lock();
    for value in &values {
        stdout.write_all(value.as_deref().unwrap_or(b"(nil)"))?;
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(Outcome::Success)
}

/// `mset`: all pairs in one `set_many` request.
pub async fn mset(
    ctx: &Ctx,
    ns: &str,
    pairs: Vec<(String, String)>,
    ttl: Option<Duration>,
) -> Result<Outcome> {
    let entries = pairs
        .into_iter()
        .map(|(key, value)| Entry {
            key,
            value: ByteBuf::from(value.into_bytes()),
            ttl_ms: ttl.map(ttl_to_ms),
        })
        .collect();
    let stored = ctx.client.set_many(ns, entries).await?;
    if ctx.json {
        print_json(&json!({ "stored": stored }))?;
    } else {
        print_text(&format!("OK ({stored} stored)\n"))?;
    }
    Ok(Outcome::Success)
}
