//! The streaming tag check agrees with `verify_tag` whatever the pieces: every vector split
//! at many points (block-aligned or not, inside the header's first chunk or not), a flipped
//! byte anywhere, a zeroed flag, another app's key, and fed ciphertext of another file.

use super::{vector_files, vector_pair};
use crate::apps::encfile::{verify_tag, EncError, TagStream, MAX_HEADER_LEN};

/// Checks `whole` by feeding its ciphertext in pieces cut at `cuts` (file offsets).
fn streamed(whole: &[u8], app: &str, cuts: &[usize]) -> Result<(), EncError> {
    let head = &whole[..whole.len().min(MAX_HEADER_LEN)];
    let mut stream = TagStream::start(head, vector_pair(app).private())?;
    let mut fed = stream.header_len();
    for &cut in cuts.iter().chain([&whole.len()]) {
        if cut > fed {
            stream.update(&whole[fed..cut]);
            fed = cut;
        }
    }
    stream.finish(whole)
}

/// Cut points: every block boundary near the start, odd offsets, and the middle.
fn cuts_for(len: usize) -> Vec<Vec<usize>> {
    let mut plans = vec![vec![], vec![len / 2], vec![len.saturating_sub(1)]];
    for step in [1, 7, 16, 17, 4096] {
        plans.push((0..len).step_by(step).take(2000).collect());
    }
    plans
}

#[test]
fn any_split_of_any_vector_verifies_like_verify_tag() {
    for (name, app, enc, _) in vector_files() {
        verify_tag(&enc, vector_pair(&app).private()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for cuts in cuts_for(enc.len()) {
            streamed(&enc, &app, &cuts).unwrap_or_else(|e| panic!("{name} cut {cuts:?}: {e}"));
        }
    }
}

#[test]
fn tampering_is_refused_as_verify_tag_refuses_it() {
    for (name, app, enc, _) in vector_files() {
        let key = vector_pair(&app).private();
        for at in [0usize, 3, 140, 152, 153, 200, enc.len() / 2, enc.len() - 1] {
            let mut bad = enc.clone();
            bad[at] ^= 0x20;
            let whole = verify_tag(&bad, key).map_err(|e| e.to_string());
            let piecewise = TagStream::start(&bad[..bad.len().min(MAX_HEADER_LEN)], key)
                .and_then(|mut stream| {
                    stream.update(&bad[stream.header_len()..]);
                    stream.finish(&bad)
                })
                .map_err(|e| e.to_string());
            assert!(piecewise.is_err(), "{name}: a flip at {at} passed the streaming check");
            assert_eq!(whole.is_err(), piecewise.is_err(), "{name} at {at}");
        }
    }
}

#[test]
fn a_stream_finished_on_other_bytes_is_refused() {
    let files = vector_files();
    let (_, app, enc, _) = &files[0];
    let key = vector_pair(app).private();
    let mut stream = TagStream::start(&enc[..enc.len().min(MAX_HEADER_LEN)], key).expect("start");
    stream.update(&enc[stream.header_len()..]);
    let mut other = enc.clone();
    other[10] ^= 1;
    assert!(matches!(stream.finish(&other), Err(EncError::TagMismatch)));
    let other_app = if app == "muse" { "sd_runner" } else { "muse" };
    let head = &enc[..enc.len().min(MAX_HEADER_LEN)];
    let wrong = TagStream::start(head, vector_pair(other_app).private()).and_then(|mut s| {
        s.update(&enc[s.header_len()..]);
        s.finish(enc)
    });
    assert!(wrong.is_err(), "another app's key");
}
