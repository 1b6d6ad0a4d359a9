//! The `.enc` parser and the checks after the key step, on arbitrary bytes.
//!
//! First byte even: the rest is a file; `parse` and, with a fixed AES key, `verify_tag`,
//! `verify` and `decrypt` run on it (a random file never passes the tag). First byte odd:
//! the rest is a payload sealed under that key with the flag from bit 1, so the zlib and
//! damaged-flag checks behind the tag run on arbitrary payloads. Nothing may panic, and the
//! three checks must agree.

#![no_main]

use cachemgrd::apps::encfile::fuzzing::{check_with_aes_key, seal_with_aes_key};
use cachemgrd::apps::encfile::{parse, Compression, EncError};
use libfuzzer_sys::fuzz_target;

const AES_KEY: [u8; 32] = [0x42; 32];
const NONCE: [u8; 12] = [0x24; 12];
/// Bound on inflated plaintexts here (the daemon's is 1 GiB).
const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(file) = parse(rest) {
            assert_eq!(file.header_len() + file.ciphertext.len(), rest.len());
            let _ = file.likely_type();
        }
        let _ = check_with_aes_key(rest, &AES_KEY, LIMIT);
        return;
    }
    let compression = if mode & 2 == 0 { Compression::None } else { Compression::Zlib };
    let file = seal_with_aes_key(rest, compression, &AES_KEY, &NONCE).expect("small payload");
    let checked = check_with_aes_key(&file, &AES_KEY, LIMIT).expect("a sealed file parses");
    match &checked.decrypt {
        Ok(plain) => {
            if compression == Compression::None {
                assert_eq!(plain.as_slice(), rest, "flag 0 must give the payload back");
            }
            assert!(checked.tag.is_ok(), "decrypt accepted what verify_tag refused");
            assert_eq!(checked.verify.as_ref().ok(), Some(&(plain.len() as u64)));
        }
        Err(EncError::InflatedTooLarge { .. }) => {}
        Err(_) => assert!(checked.verify.is_err(), "verify accepted what decrypt refused"),
    }
});
