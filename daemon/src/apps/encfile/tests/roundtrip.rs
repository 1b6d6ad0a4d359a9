//! Files this module writes: both key types round trip, the flag follows the Python rule,
//! wrong keys and wrong key types are told apart, and inflating is bounded.

use super::generated_pair;
use crate::apps::encfile::{
    decrypt, decrypt_with_limit, encrypt, parse, verify, AppKeyPair, AppPrivateKey, AppPublicKey,
    Compression, EncError, EncryptorType, QUANTUM_KEY_LEN, STANDARD_KEY_LEN,
};

const TYPES: [EncryptorType; 2] = [EncryptorType::Standard, EncryptorType::Quantum];

/// JSON like an app cache: compresses well.
fn json_plaintext() -> Vec<u8> {
    let entries: Vec<String> =
        (0..400).map(|i| format!("\"key_{i}\": \"value {i} \\u00e9\"")).collect();
    format!("{{{}}}", entries.join(", ")).into_bytes()
}

/// Bytes that do not compress (a simple xorshift stream).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn ok<T>(result: Result<T, EncError>, what: &str) -> T {
    result.unwrap_or_else(|err| panic!("{what}: {err}"))
}

#[test]
fn compressible_plaintext_round_trips_with_flag_1_for_both_types() {
    let plain = json_plaintext();
    for kind in TYPES {
        let pair = generated_pair(kind);
        let file = ok(encrypt(&plain, pair.public()), "encrypt");
        let parsed = ok(parse(&file), "parse");
        assert_eq!(parsed.compression, Compression::Zlib);
        assert_eq!(parsed.likely_type(), Some(kind));
        let expected_len =
            if kind == EncryptorType::Standard { STANDARD_KEY_LEN } else { QUANTUM_KEY_LEN };
        assert_eq!(parsed.encapsulated_key.len(), expected_len);
        assert_eq!(&file[..4], &(expected_len as u32).to_be_bytes());
        assert!(file.len() < plain.len());
        assert!(ok(decrypt(&file, pair.private()), "decrypt").as_slice() == plain.as_slice());
        let verified = ok(verify(&file, pair.private()), "verify");
        assert_eq!((verified.plaintext_len, verified.compressed), (plain.len() as u64, true));
    }
}

#[test]
fn incompressible_plaintext_is_stored_with_flag_0() {
    let plain = noise(10_000);
    for kind in TYPES {
        let pair = generated_pair(kind);
        let file = ok(encrypt(&plain, pair.public()), "encrypt");
        let parsed = ok(parse(&file), "parse");
        assert_eq!(parsed.compression, Compression::None);
        assert_eq!(parsed.ciphertext.len(), plain.len());
        assert_eq!(file.len(), parsed.header_len() + plain.len());
        assert!(ok(decrypt(&file, pair.private()), "decrypt").as_slice() == plain.as_slice());
        let verified = ok(verify(&file, pair.private()), "verify");
        assert_eq!((verified.plaintext_len, verified.compressed), (plain.len() as u64, false));
    }
}

#[test]
fn empty_and_tiny_plaintexts_round_trip_with_flag_0() {
    let pair = generated_pair(EncryptorType::Standard);
    for plain in [&b""[..], b"{}", b"x"] {
        let file = ok(encrypt(plain, pair.public()), "encrypt");
        assert_eq!(ok(parse(&file), "parse").compression, Compression::None);
        assert!(ok(decrypt(&file, pair.private()), "decrypt").as_slice() == plain);
    }
}

#[test]
fn a_plaintext_that_is_itself_a_zlib_stream_is_written_with_flag_1() {
    // Stored with flag 0 it would look like a damaged flag; flag 1 keeps it readable.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &noise(4096)).unwrap_or_else(|e| panic!("{e}"));
    let inner = z.finish().unwrap_or_else(|e| panic!("{e}"));
    let pair = generated_pair(EncryptorType::Standard);
    let file = ok(encrypt(&inner, pair.public()), "encrypt");
    assert_eq!(ok(parse(&file), "parse").compression, Compression::Zlib);
    assert!(ok(decrypt(&file, pair.private()), "decrypt").as_slice() == inner.as_slice());
}

#[test]
fn each_encryption_is_fresh() {
    for kind in TYPES {
        let pair = generated_pair(kind);
        let one = ok(encrypt(b"same", pair.public()), "encrypt");
        let two = ok(encrypt(b"same", pair.public()), "encrypt");
        let (a, b) = (ok(parse(&one), "parse"), ok(parse(&two), "parse"));
        assert_ne!(a.encapsulated_key, b.encapsulated_key);
        assert_ne!(a.nonce, b.nonce);
    }
}

#[test]
fn a_wrong_key_of_the_right_type_fails_the_tag_check() {
    for kind in TYPES {
        let file = ok(encrypt(&json_plaintext(), generated_pair(kind).public()), "encrypt");
        let stranger = ok(AppKeyPair::generate(kind), "generate");
        let err = decrypt(&file, stranger.private()).err();
        assert!(matches!(err, Some(EncError::TagMismatch)), "{kind}: {err:?}");
        assert!(matches!(verify(&file, stranger.private()), Err(EncError::TagMismatch)));
        let message = err.map(|err| err.to_string()).unwrap_or_default();
        assert_eq!(message, "the GCM tag did not verify: wrong key or damaged file");
    }
}

#[test]
fn a_key_of_the_other_type_is_told_apart_from_a_wrong_key() {
    let standard_file = ok(encrypt(b"{}", generated_pair(EncryptorType::Standard).public()), "enc");
    let quantum_file = ok(encrypt(b"{}", generated_pair(EncryptorType::Quantum).public()), "enc");
    let err = decrypt(&standard_file, generated_pair(EncryptorType::Quantum).private()).err();
    let message = err.as_ref().map(|err| err.to_string()).unwrap_or_default();
    assert!(matches!(err, Some(EncError::EncapsulatedKey { kind: EncryptorType::Quantum, .. })));
    assert!(message.contains("1088") && message.contains("standard"), "{message}");
    let err = decrypt(&quantum_file, generated_pair(EncryptorType::Standard).private()).err();
    let message = err.as_ref().map(|err| err.to_string()).unwrap_or_default();
    assert!(matches!(err, Some(EncError::EncapsulatedKey { kind: EncryptorType::Standard, .. })));
    assert!(message.contains("quantum"), "{message}");
}

#[test]
fn inflating_is_bounded_so_a_zip_bomb_is_an_error() {
    let pair = generated_pair(EncryptorType::Standard);
    let bomb = vec![0u8; 8 << 20];
    let file = ok(encrypt(&bomb, pair.public()), "encrypt");
    assert!(file.len() < 64 * 1024, "8 MiB of zeros should compress to a few KiB");
    let err = decrypt_with_limit(&file, pair.private(), 1 << 20).err();
    assert!(
        matches!(err, Some(EncError::InflatedTooLarge { limit }) if limit == 1 << 20),
        "{err:?}"
    );
    let exact = ok(decrypt_with_limit(&file, pair.private(), bomb.len()), "exact limit");
    assert_eq!(exact.len(), bomb.len());
    assert!(decrypt_with_limit(&file, pair.private(), bomb.len() - 1).is_err());
    assert!(decrypt_with_limit(&file, pair.private(), 0).is_err());
}

#[test]
fn keys_survive_their_stored_forms() {
    for kind in TYPES {
        let pair = generated_pair(kind);
        let public = ok(pair.public().to_bytes(), "public bytes");
        let private = ok(pair.private().to_bytes(), "private bytes");
        let expected =
            if kind == EncryptorType::Standard { (120, None) } else { (1184, Some(2400)) };
        assert_eq!(public.len(), expected.0);
        if let Some(len) = expected.1 {
            assert_eq!(private.len(), len);
        }
        let public = ok(AppPublicKey::from_bytes(kind, &public), "public from bytes");
        let private = ok(AppPrivateKey::from_bytes(kind, &private), "private from bytes");
        assert_eq!(&public, pair.public());
        let again = ok(AppKeyPair::from_parts(public, private), "pair");
        let file = ok(encrypt(b"{\"a\": 1}", pair.public()), "encrypt");
        assert!(ok(decrypt(&file, again.private()), "decrypt").as_slice() == b"{\"a\": 1}");
    }
}

#[test]
fn mismatched_or_malformed_keys_are_refused() {
    for kind in TYPES {
        let other = ok(AppKeyPair::generate(kind), "generate");
        let private =
            ok(AppPrivateKey::from_bytes(kind, &ok(other.private().to_bytes(), "b")), "p");
        let err = AppKeyPair::from_parts(generated_pair(kind).public().clone(), private).err();
        assert!(matches!(err, Some(EncError::KeyPairMismatch)), "{kind}: {err:?}");
        assert!(AppPublicKey::from_bytes(kind, &[0u8; 7]).is_err());
        assert!(AppPrivateKey::from_bytes(kind, &[0u8; 7]).is_err());
    }
    let standard = generated_pair(EncryptorType::Standard);
    let quantum_private = ok(generated_pair(EncryptorType::Quantum).private().to_bytes(), "b");
    let quantum_private =
        ok(AppPrivateKey::from_bytes(EncryptorType::Quantum, &quantum_private), "p");
    let err = AppKeyPair::from_parts(standard.public().clone(), quantum_private).err();
    assert!(matches!(err, Some(EncError::KeyTypeMismatch { .. })), "{err:?}");
}

#[test]
fn debug_output_never_shows_key_material() {
    for kind in TYPES {
        let pair = generated_pair(kind);
        let shown = format!("{pair:?} {:?}", pair.private());
        assert!(shown.contains("redacted"), "{shown}");
        let secret = ok(pair.private().to_bytes(), "bytes");
        let hex: String = secret[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&hex), "{shown}");
        assert!(!shown.contains(&format!("{:?}", &secret[..4])), "{shown}");
    }
}

#[test]
fn encryptor_type_parses_and_serialises_in_snake_case() {
    assert_eq!("standard".parse::<EncryptorType>().ok(), Some(EncryptorType::Standard));
    assert_eq!("quantum".parse::<EncryptorType>().ok(), Some(EncryptorType::Quantum));
    assert!("oqs".parse::<EncryptorType>().is_err());
    assert_eq!(serde_json::to_string(&EncryptorType::Quantum).ok().as_deref(), Some("\"quantum\""));
    let back: Option<EncryptorType> = serde_json::from_str("\"standard\"").ok();
    assert_eq!(back, Some(EncryptorType::Standard));
    assert_eq!(EncryptorType::Standard.to_string(), "standard");
}
