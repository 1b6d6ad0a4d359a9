//! No input makes `parse`, `decrypt` or `verify` panic: arbitrary bytes, bytes behind a
//! plausible header, and vectors with random bytes spliced in.

use proptest::prelude::*;

use super::{generated_pair, vector_files, vector_pair};
use crate::apps::encfile::{decrypt, parse, verify, EncryptorType, QUANTUM_KEY_LEN};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse(&bytes);
    }
}

proptest! {
    // Each case does a key agreement per key type; fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn decrypt_and_verify_never_panic_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        for kind in [EncryptorType::Standard, EncryptorType::Quantum] {
            let key = generated_pair(kind).private();
            prop_assert!(decrypt(&bytes, key).is_err());
            prop_assert!(verify(&bytes, key).is_err());
        }
    }

    #[test]
    fn decrypt_never_panics_behind_a_plausible_header(
        quantum in any::<bool>(),
        flag in 0u8..3,
        body in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let (kind, key_len) = if quantum {
            (EncryptorType::Quantum, QUANTUM_KEY_LEN)
        } else {
            (EncryptorType::Standard, 120)
        };
        let mut file = (key_len as u32).to_be_bytes().to_vec();
        file.extend(body.iter().cycle().take(key_len + 28));
        file.push(flag);
        file.extend_from_slice(&body);
        let _ = parse(&file);
        prop_assert!(decrypt(&file, generated_pair(kind).private()).is_err());
    }

    #[test]
    fn decrypt_never_panics_on_damaged_vectors(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        splice in proptest::collection::vec(any::<u8>(), 1..64),
        cut in any::<bool>(),
    ) {
        let vectors = vector_files();
        let (_, app, enc, _) = &vectors[pick.index(vectors.len())];
        let start = at.index(enc.len());
        let mut damaged = enc[..start].to_vec();
        damaged.extend_from_slice(&splice);
        if !cut {
            damaged.extend_from_slice(enc.get(start + splice.len()..).unwrap_or_default());
        }
        let _ = decrypt(&damaged, vector_pair(app).private());
        let _ = verify(&damaged, vector_pair(app).private());
    }
}
