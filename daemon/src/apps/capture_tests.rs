//! Staging a backup from a live file: large files take the threaded path (check and hash
//! following the copy), small ones the sequential one; both keep exactly the file's bytes,
//! refuse a damaged one without leaving anything behind, and name an empty one.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::apps::encfile::{encrypt, AppKeyPair, EncryptorType};
use crate::apps::live::sha256_hex;

fn policy() -> ReadPolicy {
    ReadPolicy { attempts: 2, pause: Duration::from_millis(1), max_bytes: 1 << 30 }
}

/// Pseudo-random JSON of about `len` bytes that zlib cannot shrink much.
fn json_of(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut text = String::from("{\"blob\":\"");
    while text.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push_str(&format!("{state:016x}"));
    }
    text.push_str("\"}");
    text.into_bytes()
}

fn encrypted_codec() -> (AppCodec, Arc<AppKeyPair>) {
    let pair = Arc::new(AppKeyPair::generate(EncryptorType::Standard).expect("keys"));
    (AppCodec::Encrypted(pair.clone()), pair)
}

/// Stages `bytes` written as the live file; returns the outcome and the directory.
fn stage(bytes: &[u8], codec: &AppCodec) -> (Result<StagedCopy, CaptureError>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("live.enc");
    std::fs::write(&live, bytes).expect("live");
    let target = dir.path().join("backup.enc");
    let mut reports = Vec::new();
    let me = crate::access::paths::Principal::of_uid(rustix::process::geteuid().as_raw());
    let live = crate::access::paths::place(me, &live).expect("resolve the live file");
    let staged = stage_verified(&live, &target, codec, policy(), &mut |done, total| {
        reports.push((done, total))
    });
    if staged.is_ok() {
        assert_eq!(reports.last(), Some(&(bytes.len() as u64, bytes.len() as u64)));
    }
    (staged, dir)
}

#[test]
fn large_and_small_encrypted_files_are_kept_exactly() {
    let (codec, pair) = encrypted_codec();
    for plain_len in [3_000, 6_000_000] {
        let file = encrypt(&json_of(plain_len), pair.public()).expect("encrypt");
        let (staged, dir) = stage(&file, &codec);
        let staged = staged.unwrap_or_else(|e| panic!("{plain_len}: {e}"));
        assert_eq!(staged.size, file.len() as u64);
        assert_eq!(staged.sha256, sha256_hex(&file));
        assert_eq!(staged.bad_reads, 0);
        staged.file.commit().expect("commit");
        assert_eq!(std::fs::read(dir.path().join("backup.enc")).expect("backup"), file);
    }
}

#[test]
fn a_damaged_file_is_refused_and_leaves_no_temp_file() {
    let (codec, pair) = encrypted_codec();
    for plain_len in [3_000, 6_000_000] {
        let mut file = encrypt(&json_of(plain_len), pair.public()).expect("encrypt");
        let at = file.len() - 10;
        file[at] ^= 1;
        let (staged, dir) = stage(&file, &codec);
        match staged {
            Err(CaptureError::Live(LiveError::Unverifiable { attempts: 2, .. })) => {}
            other => panic!("{plain_len}: {other:?}"),
        }
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["live.enc"], "{plain_len}");
    }
}

#[test]
fn plain_json_is_checked_whole_and_an_empty_file_is_named() {
    let (staged, _dir) = stage(&json_of(5_000_000), &AppCodec::Plain);
    assert_eq!(staged.expect("plain json").size, json_of(5_000_000).len() as u64);
    let (staged, _dir) = stage(b"{\"not json", &AppCodec::Plain);
    assert!(matches!(staged, Err(CaptureError::Live(LiveError::Unverifiable { .. }))));
    let (staged, _dir) = stage(b"", &AppCodec::Plain);
    assert!(matches!(staged, Err(CaptureError::Live(LiveError::Empty(_)))), "{staged:?}");
}
