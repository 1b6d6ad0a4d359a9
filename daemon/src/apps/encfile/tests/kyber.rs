//! Pins the quantum type to round-3 Kyber768 with a known answer from the independent
//! kyber-py: a crate that computed draft-standard Kyber or ML-KEM shared secrets instead
//! (pqcrypto-kyber 0.8 does) would pass every round trip here yet fail to open the apps'
//! files, so this checks the bytes themselves, without needing Python.

use crate::apps::encfile::kyber;

const KAT: &str = include_str!("kyber768_round3_kat.json");

fn field(name: &str) -> Vec<u8> {
    let doc: serde_json::Value = serde_json::from_str(KAT).unwrap_or_else(|err| panic!("{err}"));
    let hex = doc[name].as_str().unwrap_or_else(|| panic!("no {name} in the Kyber KAT"));
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|err| panic!("{err}")))
        .collect()
}

fn decapsulate(ciphertext: &[u8]) -> Vec<u8> {
    let secret = field("secret_key");
    let secret: &[u8; kyber::SECRET_KEY_LEN] =
        secret.as_slice().try_into().unwrap_or_else(|_| panic!("KAT secret key length"));
    let ciphertext: &[u8; kyber::CIPHERTEXT_LEN] =
        ciphertext.try_into().unwrap_or_else(|_| panic!("KAT ciphertext length"));
    let shared = kyber::decapsulate(ciphertext, secret).unwrap_or_else(|err| panic!("{err}"));
    shared.to_vec()
}

#[test]
fn decapsulation_matches_kyber_py_round_3() {
    assert_eq!(decapsulate(&field("ciphertext")), field("shared_secret"));
}

#[test]
fn implicit_rejection_matches_kyber_py_round_3() {
    assert_eq!(decapsulate(&field("damaged_ciphertext")), field("rejection_secret"));
}
