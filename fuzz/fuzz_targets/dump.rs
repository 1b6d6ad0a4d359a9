//! The dump reader on arbitrary bytes, with a fixed root key.
//!
//! First byte even: the rest is read as a dump file (random bytes stop at the header, the key
//! check or a chunk's tag). First byte odd: the rest, after a byte giving the trailer's entry
//! count, is a record stream sealed into valid chunks of `(first >> 1) + 1` bytes, so the record
//! decoder runs on arbitrary bytes. Nothing may panic; a sealed stream is accepted only with
//! the entry count it holds.

#![no_main]

use cachemgrd::dump::fuzzing::{read_bytes, seal_stream};
use libfuzzer_sys::fuzz_target;

/// The root key of the published test vector (`daemon/src/dump/fixtures/v1-sample.dump`):
/// bytes 00..1f, so that seed reads to its end.
const ROOT_KEY: [u8; 32] = {
    let mut key = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = i as u8;
        i += 1;
    }
    key
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let _ = read_bytes(rest, &ROOT_KEY);
        return;
    }
    let Some((&entries, stream)) = rest.split_first() else {
        return;
    };
    let chunk = usize::from(mode >> 1) + 1;
    let dump = seal_stream(&ROOT_KEY, stream, chunk, u64::from(entries)).expect("sealable");
    if let Ok(summary) = read_bytes(&dump, &ROOT_KEY) {
        assert_eq!(summary.entries, u64::from(entries));
        assert_eq!(summary.bytes, dump.len() as u64);
    }
});
