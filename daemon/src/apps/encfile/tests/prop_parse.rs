//! Property tests of the parser and the checks after the key step (the paths `fuzz/`
//! fuzzes): arbitrary bytes and sealed arbitrary payloads never panic and the three checks
//! agree; real files round-trip; a truncated or flipped file is an error in every check.

use proptest::prelude::*;

use super::generated_pair;
use crate::apps::encfile::fuzzing::{check_with_aes_key, seal_with_aes_key};
use crate::apps::encfile::{decrypt, encrypt, verify, verify_tag, Compression, EncError};
use crate::apps::encfile::{EncryptorType, STANDARD_KEY_LEN};

const AES_KEY: [u8; 32] = [0x42; 32];
const NONCE: [u8; 12] = [0x24; 12];

/// JSON-like plaintexts, as the apps write: a `{` first, so never a zlib header by chance.
fn plaintext() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        "[a-z\":, ]{0,600}".prop_map(String::into_bytes),
    ]
    .prop_map(|body| [b"{".as_slice(), &body, b"}"].concat())
}

fn kind() -> impl Strategy<Value = EncryptorType> {
    prop_oneof![Just(EncryptorType::Standard), Just(EncryptorType::Quantum)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn checks_after_the_key_step_never_panic(
        key_len in prop_oneof![Just(STANDARD_KEY_LEN as u32), any::<u32>()],
        flag in 0u8..3,
        body in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut file = key_len.to_be_bytes().to_vec();
        file.extend(body.iter().cycle().take(STANDARD_KEY_LEN + 28));
        file.push(flag);
        file.extend_from_slice(&body);
        for bytes in [&file[..], &body[..]] {
            if let Ok(checked) = check_with_aes_key(bytes, &AES_KEY, 1 << 20) {
                prop_assert!(checked.tag.is_err() && checked.verify.is_err());
                prop_assert!(checked.decrypt.is_err());
            }
        }
    }

    #[test]
    fn sealed_arbitrary_payloads_never_panic_and_the_checks_agree(
        payload in proptest::collection::vec(any::<u8>(), 0..1024),
        zlib in any::<bool>(),
    ) {
        let compression = if zlib { Compression::Zlib } else { Compression::None };
        let file = seal_with_aes_key(&payload, compression, &AES_KEY, &NONCE).unwrap();
        let checked = check_with_aes_key(&file, &AES_KEY, 1 << 20).unwrap();
        match &checked.decrypt {
            Ok(plain) => {
                prop_assert!(checked.tag.is_ok());
                prop_assert_eq!(checked.verify.as_ref().ok(), Some(&(plain.len() as u64)));
                if !zlib {
                    prop_assert_eq!(plain, &payload);
                }
            }
            // verify's bound is 1 GiB, decrypt's here 1 MiB.
            Err(EncError::InflatedTooLarge { .. }) => {}
            Err(_) => prop_assert!(checked.verify.is_err()),
        }
    }
}

proptest! {
    // A key agreement or decapsulation per check: few cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn files_round_trip(kind in kind(), plain in plaintext()) {
        let pair = generated_pair(kind);
        let file = encrypt(&plain, pair.public()).unwrap();
        let back = decrypt(&file, pair.private()).unwrap();
        prop_assert_eq!(back.as_slice(), plain.as_slice());
        prop_assert_eq!(verify(&file, pair.private()).unwrap().plaintext_len, plain.len() as u64);
        prop_assert!(verify_tag(&file, pair.private()).is_ok());
    }

    #[test]
    fn a_truncated_file_is_an_error(
        kind in kind(),
        plain in plaintext(),
        cut in any::<prop::sample::Index>(),
    ) {
        let pair = generated_pair(kind);
        let file = encrypt(&plain, pair.public()).unwrap();
        let short = &file[..cut.index(file.len())];
        let err = decrypt(short, pair.private()).err();
        prop_assert!(
            matches!(err, Some(ref e) if e.is_truncation() || matches!(e, EncError::TagMismatch)),
            "{:?}", err
        );
        prop_assert!(verify(short, pair.private()).is_err());
        prop_assert!(verify_tag(short, pair.private()).is_err());
    }

    #[test]
    fn a_flipped_byte_is_an_error(
        kind in kind(),
        plain in plaintext(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let pair = generated_pair(kind);
        let mut file = encrypt(&plain, pair.public()).unwrap();
        let at = at.index(file.len());
        file[at] ^= flip;
        prop_assert!(decrypt(&file, pair.private()).is_err());
        prop_assert!(verify(&file, pair.private()).is_err());
        prop_assert!(verify_tag(&file, pair.private()).is_err());
    }
}
