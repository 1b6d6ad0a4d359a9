//! Shell integration: `cachectl completions SHELL` loaded into a real bash (and completing),
//! the other shells' scripts naming the subcommands, and `cachectl man --dir` writing pages
//! that `man` renders.

use std::path::Path;
use std::process::{Command, Output};

use cachemgr_e2e::binary;

fn cachectl(args: &[&str]) -> Output {
    Command::new(binary("cachectl")).args(args).output().expect("run cachectl")
}

fn stdout_of(args: &[&str]) -> String {
    let out = cachectl(args);
    assert!(out.status.success(), "cachectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs `script` in a real, non-interactive bash with `$CACHECTL` set.
fn bash(script: &str) -> String {
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .env("CACHECTL", binary("cachectl"))
        .output()
        .expect("bash is needed for the completion test (it is on every Debian system)");
    assert!(out.status.success(), "bash failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn shell_completions_load_in_bash_and_complete() {
    let registered = bash(r#"source <("$CACHECTL" completions bash) && complete -p cachectl"#);
    assert!(
        registered.starts_with("complete ") && registered.trim_end().ends_with(" cachectl"),
        "{registered}"
    );

    // What bash would offer after `cachectl st<TAB>` and `cachectl backup <TAB>`.
    let offer = |line: &str| {
        let script = format!(
            r#"source <("$CACHECTL" completions bash)
            COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}
            read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
            func=$(complete -p cachectl | sed -E 's/.*-F ([^ ]+).*/\1/')
            "$func" cachectl "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
            printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        let mut words: Vec<String> = bash(&script).lines().map(str::to_owned).collect();
        words.sort();
        words
    };
    let st = offer("cachectl st");
    assert!(st.contains(&"stats".to_owned()) && st.contains(&"status".to_owned()), "{st:?}");
    assert!(!st.contains(&"get".to_owned()), "{st:?}");
    let backup = offer("cachectl backup ");
    for sub in ["create", "list", "prune", "verify", "restore"] {
        assert!(backup.contains(&sub.to_owned()), "{sub} missing from {backup:?}");
    }
    let formats = offer("cachectl stats --format ");
    assert_eq!(formats, ["json", "prometheus", "table"]);
}

#[test]
fn shell_completions_for_the_other_shells_name_the_subcommands() {
    for (shell, marker) in [
        ("zsh", "#compdef cachectl"),
        ("fish", "complete -c cachectl"),
        ("elvish", "cachectl"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for sub in ["set", "del-pattern", "backup", "completions", "man"] {
            assert!(script.contains(sub), "{shell}: {sub} missing");
        }
        // zsh and fish also complete option values.
        if shell == "zsh" || shell == "fish" {
            assert!(script.contains("prometheus"), "{shell}: --format values missing");
        }
    }
    let out = cachectl(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn shell_man_pages_are_written_and_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("share/man/man1");
    let listed = stdout_of(&["man", "--dir", &target.display().to_string()]);
    for page in [
        "cachectl.1",
        "cachectl-set.1",
        "cachectl-stats.1",
        "cachectl-app-add.1",
        "cachectl-backup-restore.1",
    ] {
        let path = target.join(page);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{page}: {e}"));
        // `.TH` first, after at most the two lines defining the apostrophe string (`Aq`).
        let first = text.lines().find(|l| !l.starts_with(".ie \\n(.g") && !l.starts_with(".el "));
        let title = format!(".TH {} 1 ", page.trim_end_matches(".1"));
        assert!(first.is_some_and(|l| l.starts_with(&title)), "{page}: {first:?}");
        assert!(text.contains(concat!("\"cachectl ", env!("CARGO_PKG_VERSION"), "\"")), "{page}");
        assert!(listed.lines().any(|l| Path::new(l) == path), "{page} not listed in {listed}");
    }
    let pages = std::fs::read_dir(&target).expect("man dir").count();
    assert_eq!(pages, listed.lines().count(), "{listed}");
    assert!(pages > 40, "one page per subcommand: {pages}");
    let set = std::fs::read_to_string(target.join("cachectl-set.1")).expect("set page");
    assert!(set.contains("Store a value") && set.contains("\\-\\-ttl"), "{set}");

    // Rendered by the real man (man-db; scripts/test installs it).
    let rendered = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(target.join("cachectl-set.1"))
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("`man` is needed to render the pages: install man-db (scripts/test does)");
    assert!(rendered.status.success(), "man -l: {}", String::from_utf8_lossy(&rendered.stderr));
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(text.contains("cachectl-set") && text.contains("Store a value"), "{text}");
    assert!(text.contains("--ttl"), "{text}");
}
