//! Torn and damaged files: every truncation is reported as one (or as a failed tag once the
//! header is whole), every damaged region is caught, and absurd length prefixes are refused
//! before anything is allocated.

use super::{vector_files, vector_pair};
use crate::apps::encfile::{decrypt, parse, verify, verify_tag, EncError, Field, MAX_KEY_LEN};

/// The vector the byte-by-byte tests use (a small compressed one).
fn small_vector() -> (String, String, Vec<u8>) {
    vector_files()
        .into_iter()
        .find(|(name, ..)| name == "muse.enc")
        .map(|(name, app, enc, _)| (name, app, enc))
        .unwrap_or_else(|| panic!("vector muse.enc is missing"))
}

/// The field a standard file (L = 120) cut to `len` bytes ends in, if it ends in the header.
fn field_at(len: usize) -> Option<Field> {
    match len {
        0..=3 => Some(Field::LengthPrefix),
        4..=123 => Some(Field::EncapsulatedKey),
        124..=135 => Some(Field::Nonce),
        136..=151 => Some(Field::Tag),
        152 => Some(Field::CompressionFlag),
        _ => None,
    }
}

#[test]
fn every_truncation_of_every_vector_is_a_truncation_or_tag_error() {
    for (name, app, enc, _) in vector_files() {
        let key = vector_pair(&app).private();
        // Every cut inside the header (no key agreement needed, so all of them), and past it
        // every cut of the small vectors, a stride of the big one.
        let stride = if enc.len() > 6000 { 97 } else { 1 };
        let cuts = (0..153).chain((153..enc.len()).step_by(stride)).chain([enc.len() - 1]);
        for len in cuts {
            let torn = &enc[..len];
            let err = decrypt(torn, key).err();
            match (field_at(len), &err) {
                (Some(field), Some(EncError::Truncated { field: found, have, total, .. })) => {
                    assert_eq!(*found, field, "{name} cut to {len}");
                    assert_eq!(*total, len, "{name} cut to {len}");
                    assert!(*have < 120, "{name} cut to {len}");
                }
                (None, Some(EncError::TagMismatch)) => {}
                _ => panic!("{name} cut to {len} bytes gave {err:?}"),
            }
            assert!(verify(torn, key).is_err(), "{name} cut to {len} verified");
        }
    }
}

#[test]
fn a_truncation_message_names_field_offset_and_sizes() {
    let (_, _, enc) = small_vector();
    let err = parse(&enc[..145]).err().map(|err| err.to_string()).unwrap_or_default();
    assert_eq!(
        err,
        "truncated in the GCM tag: need 16 bytes at offset 136, file has 9 (145 bytes in all)"
    );
    let err = parse(&[]).err().map(|err| err.to_string()).unwrap_or_default();
    assert!(err.starts_with("truncated in the length prefix: need 4 bytes at offset 0"), "{err}");
    let err = parse(&enc[..50]).err();
    assert!(matches!(&err, Some(e) if e.is_truncation()), "{err:?}");
}

#[test]
fn flipping_any_byte_of_any_region_is_detected() {
    let (name, app, enc) = small_vector();
    let key = vector_pair(&app).private();
    let regions: [(&str, std::ops::Range<usize>); 6] = [
        ("length", 0..4),
        ("key", 4..124),
        ("nonce", 124..136),
        ("tag", 136..152),
        ("flag", 152..153),
        ("ciphertext", 153..enc.len()),
    ];
    for (region, range) in regions {
        for at in range {
            for bit in [0x01u8, 0x80] {
                let mut damaged = enc.clone();
                damaged[at] ^= bit;
                let result = decrypt(&damaged, key);
                assert!(
                    result.is_err(),
                    "{name}: flipping 0x{bit:02x} at {at} ({region}) went unseen"
                );
                assert!(
                    verify_tag(&damaged, key).is_err(),
                    "{name}: verify_tag missed 0x{bit:02x} at {at} ({region})"
                );
                if matches!(region, "nonce" | "tag" | "ciphertext") {
                    let err = result.err();
                    assert!(
                        matches!(err, Some(EncError::TagMismatch)),
                        "{region} at {at}: {err:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_compressed_file_whose_flag_was_zeroed_is_caught() {
    let (_, app, mut enc) = small_vector();
    assert_eq!(enc[152], 0x01);
    enc[152] = 0x00;
    let key = vector_pair(&app).private();
    assert!(matches!(decrypt(&enc, key), Err(EncError::DamagedFlag)));
    assert!(matches!(verify(&enc, key), Err(EncError::DamagedFlag)));
    assert!(matches!(verify_tag(&enc, key), Err(EncError::DamagedFlag)));
}

#[test]
fn verify_tag_accepts_every_vector_and_refuses_a_raised_flag() {
    for (name, app, enc, _) in vector_files() {
        let key = vector_pair(&app).private();
        verify_tag(&enc, key).unwrap_or_else(|err| panic!("{name}: {err}"));
        if enc[152] == 0x00 {
            let mut raised = enc.clone();
            raised[152] = 0x01;
            assert!(matches!(verify_tag(&raised, key), Err(EncError::DamagedFlag)), "{name}");
        }
    }
}

#[test]
fn an_unknown_flag_byte_is_named() {
    let (_, _, mut enc) = small_vector();
    enc[152] = 0x02;
    let err = parse(&enc).err().map(|err| err.to_string()).unwrap_or_default();
    assert_eq!(err, "unknown compression flag 0x02 at offset 152 (expected 0x00 or 0x01)");
}

#[test]
fn an_absurd_length_prefix_is_refused_without_allocating() {
    for prefix in [0x8000_0000u32, u32::MAX, (MAX_KEY_LEN + 1) as u32, 0, 31] {
        let mut file = prefix.to_be_bytes().to_vec();
        file.extend_from_slice(&[0u8; 64]);
        let err = parse(&file).err();
        assert!(
            matches!(err, Some(EncError::ImplausibleKeyLength { len, .. }) if len == prefix),
            "prefix {prefix}: {err:?}"
        );
    }
    let err = parse(&0x8000_0000u32.to_be_bytes()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("implausible encapsulated key length 2147483648"), "{err}");
    // A plausible length longer than the file is a truncation, not an allocation.
    let mut file = (MAX_KEY_LEN as u32).to_be_bytes().to_vec();
    file.extend_from_slice(&[0u8; 10]);
    let err = parse(&file).err();
    assert!(
        matches!(err, Some(EncError::Truncated { field: Field::EncapsulatedKey, need, have: 10, .. }) if need == MAX_KEY_LEN)
    );
}
