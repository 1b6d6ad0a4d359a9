//! The command line's own checks: clap's consistency rules, usage errors exit 2, and every
//! documented form parses.

use super::*;
use clap::CommandFactory;

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &["cachectl", "expire", "ns", "k", "soon"][..],
        &["cachectl", "mset", "ns", "novalue"],
        &["cachectl", "set", "ns", "k", "v", "--nx", "--xx"],
        &["cachectl", "clear"],
        &["cachectl", "bench", "-t", "set,flush"],
        &["cachectl", "restore", "f", "--replace", "--merge"],
        &["cachectl", "dump", "f", "--pattern", "a*", "--regex", "^a"],
        &["cachectl", "autodump", "change"],
        &["cachectl", "autodump", "start", "--to", "f"],
        &["cachectl", "autodump", "start", "--to", "f", "--every", "0s"],
        &["cachectl", "key", "rotate", "a", "b"],
        &["cachectl", "clear", "--all", "--dir", "/x"],
        &["cachectl", "clear", "ns", "--dir", "/x"],
        &["cachectl", "clear", "--pattern", "a*"],
        &["cachectl", "clear", "ns", "--dry-run"],
        &["cachectl", "dir", "add", "/x", "--max-size", "2X"],
        &["cachectl", "dir", "add", "/x", "--max-age", "soon"],
        &["cachectl", "stats", "--format", "xml"],
        &["cachectl", "completions", "tcsh"],
        &["cachectl", "completions"],
        &["cachectl", "man"],
    ] {
        let err = Cli::try_parse_from(args).err();
        assert_eq!(err.map(|e| e.exit_code()), Some(2), "{args:?}");
    }
}

#[test]
fn contract_forms_parse() {
    for args in [
        &["cachectl", "--socket", "/x", "--json", "ping"][..],
        &["cachectl", "--socket", "", "ping"],
        &["cachectl", "stats", "ns"],
        &["cachectl", "stats", "--format", "prometheus"],
        &["cachectl", "stats", "web", "--format", "table"],
        &["cachectl", "--json", "stats", "--format", "json"],
        &["cachectl", "completions", "bash"],
        &["cachectl", "completions", "powershell"],
        &["cachectl", "man", "--dir", "/tmp/m"],
        &["cachectl", "ns", "list"],
        &["cachectl", "set", "ns", "k", "--ttl", "30s", "--nx"],
        &["cachectl", "set", "ns", "k", "--file", "f", "--xx"],
        &["cachectl", "get", "ns", "k", "--out", "f"],
        &["cachectl", "del", "ns", "a", "b"],
        &["cachectl", "expire", "ns", "k", "10m"],
        &["cachectl", "expire", "ns", "k", "--persist"],
        &["cachectl", "mset", "ns", "a=1", "b=2"],
        &["cachectl", "keys", "ns", "user:*", "--limit", "5"],
        &["cachectl", "keys", "ns", "--regex", "^u"],
        &["cachectl", "count", "ns", "--regex", "^u"],
        &["cachectl", "del-pattern", "ns", "^u", "--regex"],
        &["cachectl", "expire-pattern", "ns", "u*", "10m"],
        &["cachectl", "clear", "--all"],
        &["cachectl", "clear", "ns", "--pattern", "user:*"],
        &["cachectl", "clear", "ns", "--pattern", "^u", "--regex"],
        &["cachectl", "clear", "--dir", "/x", "--dry-run"],
        &["cachectl", "dir", "add", "/x", "--max-size", "2G", "--max-age", "30d"],
        &["cachectl", "dir", "add", "/x", "--clear-on-pressure", "--priority", "-3"],
        &["cachectl", "dir", "list"],
        &["cachectl", "dir", "remove", "/x"],
        &["cachectl", "dir", "clear", "/x", "--dry-run"],
        &["cachectl", "dir", "trim"],
        &["cachectl", "dir", "trim", "/x", "--dry-run"],
        &["cachectl", "bench", "-c", "4", "-n", "10", "-P", "16", "-d", "8", "-t", "set,get"],
        &["cachectl", "key", "status"],
        &["cachectl", "key", "rotate"],
        &["cachectl", "key", "rotate", "sessions", "--clear"],
        &["cachectl", "dump", "out.cmdump", "--ns", "web", "--pattern", "user:*"],
        &["cachectl", "dump", "/abs/out.cmdump", "--regex", "^u"],
        &["cachectl", "restore", "out.cmdump", "--ns", "web", "--replace"],
        &["cachectl", "restore", "out.cmdump", "--merge"],
        &["cachectl", "autodump", "start", "--every", "10m", "--to", "d", "--ns", "web"],
        &["cachectl", "autodump", "start", "--every", "1h", "--to", "d", "--pattern", "u*"],
        &["cachectl", "autodump", "change", "--every", "5m"],
        &["cachectl", "autodump", "change", "--to", "d2"],
        &["cachectl", "autodump", "change", "--every", "5m", "--to", "d2"],
        &["cachectl", "autodump", "stop"],
        &["cachectl", "autodump", "status"],
        &["cachectl", "pressure"],
        &["cachectl", "--json", "pressure", "check"],
        &["cachectl", "schedule", "list"],
    ] {
        if let Err(err) = Cli::try_parse_from(args) {
            panic!("{args:?}: {err}");
        }
    }
}
