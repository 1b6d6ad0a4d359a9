//! From an app key to a file's AES-256 key: the sender side (a fresh encapsulated key and
//! the AES key it carries) and the recipient side (the AES key from the file's encapsulated
//! key). Standard: ephemeral P-384 ECDH, then HKDF-SHA256 with no salt and the info string
//! `PersonalStandardEncryptor`. Quantum: the Kyber768 shared secret used directly.

use hkdf::Hkdf;
use p384::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::EncError;
use super::keys::{random_p384, AppPrivateKey, AppPublicKey, PrivateInner, PublicInner};
use super::{kyber, EncryptorType};

/// A file's AES-256 key, wiped on drop.
pub(super) type AesKey = Zeroizing<[u8; 32]>;

/// The HKDF info string of the standard type (the Python class name).
const HKDF_INFO: &[u8] = b"PersonalStandardEncryptor";

/// A fresh encapsulated key for `public` and the AES key it carries.
pub(super) fn encapsulate(public: &AppPublicKey) -> Result<(Vec<u8>, AesKey), EncError> {
    match &public.0 {
        PublicInner::Standard(recipient) => {
            let ephemeral = random_p384()?;
            let shared =
                p384::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), recipient.as_affine());
            let der =
                ephemeral.public_key().to_public_key_der().map_err(|err| EncError::InvalidKey {
                    kind: EncryptorType::Standard,
                    what: "public key",
                    reason: format!("cannot encode the ephemeral key as DER: {err}"),
                })?;
            Ok((der.into_vec(), hkdf_key(shared.raw_secret_bytes())?))
        }
        PublicInner::Quantum(recipient) => {
            let (ciphertext, shared) = kyber::encapsulate(recipient)?;
            Ok((ciphertext.to_vec(), shared))
        }
    }
}

/// The AES key a file's encapsulated key carries for `private`. A key of the wrong type or
/// shape is [`EncError::EncapsulatedKey`]; a wrong key of the right type yields a wrong AES
/// key, caught by the GCM tag.
pub(super) fn decapsulate(
    private: &AppPrivateKey,
    encapsulated: &[u8],
) -> Result<AesKey, EncError> {
    match &private.0 {
        PrivateInner::Standard(secret) => {
            let ephemeral = p384::PublicKey::from_public_key_der(encapsulated).map_err(|err| {
                EncError::EncapsulatedKey {
                    kind: EncryptorType::Standard,
                    reason: format!(
                        "{} bytes that are not a P-384 DER SubjectPublicKeyInfo ({err}){}",
                        encapsulated.len(),
                        quantum_hint(encapsulated.len())
                    ),
                }
            })?;
            let shared =
                p384::ecdh::diffie_hellman(secret.to_nonzero_scalar(), ephemeral.as_affine());
            hkdf_key(shared.raw_secret_bytes())
        }
        PrivateInner::Quantum(secret) => {
            let ciphertext =
                <&[u8; kyber::CIPHERTEXT_LEN]>::try_from(encapsulated).map_err(|_| {
                    EncError::EncapsulatedKey {
                        kind: EncryptorType::Quantum,
                        reason: format!(
                            "{} bytes, a Kyber768 ciphertext has {}{}",
                            encapsulated.len(),
                            kyber::CIPHERTEXT_LEN,
                            if encapsulated.len() == super::format::STANDARD_KEY_LEN {
                                " (120 bytes is a standard file's P-384 key)"
                            } else {
                                ""
                            }
                        ),
                    }
                })?;
            let secret =
                <&[u8; kyber::SECRET_KEY_LEN]>::try_from(secret.as_slice()).map_err(|_| {
                    EncError::InvalidKey {
                        kind: EncryptorType::Quantum,
                        what: "private key",
                        reason: "wrong length".into(),
                    }
                })?;
            kyber::decapsulate(ciphertext, secret)
        }
    }
}

fn quantum_hint(len: usize) -> &'static str {
    if len == super::format::QUANTUM_KEY_LEN {
        "; 1088 bytes is a quantum file's Kyber768 ciphertext"
    } else {
        ""
    }
}

/// HKDF-SHA256(ikm = shared secret, no salt, info = `PersonalStandardEncryptor`, 32 bytes).
fn hkdf_key(shared: &[u8]) -> Result<AesKey, EncError> {
    let mut key: AesKey = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, shared).expand(HKDF_INFO, key.as_mut_slice()).map_err(|_| {
        EncError::InvalidKey {
            kind: EncryptorType::Standard,
            what: "key operation",
            reason: "HKDF refused a 32-byte output".into(),
        }
    })?;
    Ok(key)
}
