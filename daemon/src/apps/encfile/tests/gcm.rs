//! The tag-only GCM check agrees with `aes-gcm` itself: every tag `aes-gcm` makes is
//! accepted, every changed byte of ciphertext or tag is refused, and the first-block
//! shortcut yields the plaintext's first bytes.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use proptest::prelude::*;

use crate::apps::encfile::gcm;

fn seal(key: &[u8; 32], nonce: &[u8; 12], plain: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let cipher = Aes256Gcm::new(key.into());
    let mut buffer = plain.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", &mut buffer)
        .unwrap_or_else(|err| panic!("{err}"));
    (buffer, tag.into())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_aes_gcm(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        plain in proptest::collection::vec(any::<u8>(), 0..300),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (ciphertext, tag) = seal(&key, &nonce, &plain);
        prop_assert!(gcm::tag_matches(&key, &nonce, &ciphertext, &tag));
        let head = gcm::first_block(&key, &nonce, &ciphertext);
        prop_assert_eq!(head.as_slice(), &plain[..plain.len().min(16)]);

        let mut bad_tag = tag;
        bad_tag[flip.index(16)] ^= 1 << bit;
        prop_assert!(!gcm::tag_matches(&key, &nonce, &ciphertext, &bad_tag));
        if !ciphertext.is_empty() {
            let mut bad = ciphertext.clone();
            let at = flip.index(bad.len());
            bad[at] ^= 1 << bit;
            prop_assert!(!gcm::tag_matches(&key, &nonce, &bad, &tag));
            prop_assert!(!gcm::tag_matches(&key, &nonce, &ciphertext[..ciphertext.len() - 1], &tag));
        }
        let mut other_nonce = nonce;
        other_nonce[flip.index(12)] ^= 1 << bit;
        prop_assert!(!gcm::tag_matches(&key, &other_nonce, &ciphertext, &tag));
    }
}

#[test]
fn agrees_with_aes_gcm_on_long_and_block_aligned_messages() {
    for len in [15, 16, 17, 4096, 100_003] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let (ciphertext, tag) = seal(&[9; 32], &[4; 12], &plain);
        assert!(gcm::tag_matches(&[9; 32], &[4; 12], &ciphertext, &tag), "{len}");
        assert!(!gcm::tag_matches(&[8; 32], &[4; 12], &ciphertext, &tag), "{len}");
    }
}
