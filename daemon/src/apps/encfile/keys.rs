//! The app key types: which algorithm an app uses, and its public and private keys in the
//! byte formats the Python module stores (standard: DER SPKI / DER PKCS#8 for P-384;
//! quantum: raw liboqs Kyber768 bytes).

use std::fmt;
use std::str::FromStr;

use p384::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::{fill_random, EncError};
use super::kyber;

/// The key-agreement algorithm of an app, as stored in `{app}__encryptor_type`: it decides
/// how the encapsulated key of every file of that app is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncryptorType {
    /// P-384 ECDH + HKDF-SHA256 (`PersonalStandardEncryptor`).
    Standard,
    /// Round-3 Kyber768 (liboqs `Kyber768`, not ML-KEM).
    Quantum,
}

impl EncryptorType {
    /// The keyring spelling: `standard` or `quantum`.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptorType::Standard => "standard",
            EncryptorType::Quantum => "quantum",
        }
    }
}

impl fmt::Display for EncryptorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EncryptorType {
    type Err = EncError;

    /// Parses the keyring value exactly (`standard` / `quantum`).
    fn from_str(s: &str) -> Result<Self, EncError> {
        match s {
            "standard" => Ok(EncryptorType::Standard),
            "quantum" => Ok(EncryptorType::Quantum),
            other => {
                Err(EncError::UnknownEncryptorType { found: other.chars().take(32).collect() })
            }
        }
    }
}

/// An app's public key: what encrypting a file needs, and what `{app}__public_key` holds.
#[derive(Clone, PartialEq, Eq)]
pub struct AppPublicKey(pub(super) PublicInner);

#[derive(Clone, PartialEq, Eq)]
pub(super) enum PublicInner {
    Standard(p384::PublicKey),
    Quantum(Box<[u8; kyber::PUBLIC_KEY_LEN]>),
}

impl AppPublicKey {
    /// Reads a stored public key: DER SubjectPublicKeyInfo (standard) or the 1184 raw bytes
    /// of a Kyber768 public key (quantum).
    pub fn from_bytes(kind: EncryptorType, bytes: &[u8]) -> Result<Self, EncError> {
        let invalid = |reason: String| EncError::InvalidKey { kind, what: "public key", reason };
        match kind {
            EncryptorType::Standard => p384::PublicKey::from_public_key_der(bytes)
                .map(|key| AppPublicKey(PublicInner::Standard(key)))
                .map_err(|err| invalid(format!("not a P-384 DER SubjectPublicKeyInfo ({err})"))),
            EncryptorType::Quantum => <[u8; kyber::PUBLIC_KEY_LEN]>::try_from(bytes)
                .map(|raw| AppPublicKey(PublicInner::Quantum(Box::new(raw))))
                .map_err(|_| {
                    invalid(format!(
                        "{} bytes, a Kyber768 public key has {}",
                        bytes.len(),
                        kyber::PUBLIC_KEY_LEN
                    ))
                }),
        }
    }

    /// The stored form (DER SPKI or raw Kyber768 bytes), as `from_bytes` reads it.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncError> {
        match &self.0 {
            PublicInner::Standard(key) => key
                .to_public_key_der()
                .map(|der| der.into_vec())
                .map_err(|err| EncError::InvalidKey {
                    kind: EncryptorType::Standard,
                    what: "public key",
                    reason: format!("cannot encode as DER: {err}"),
                }),
            PublicInner::Quantum(raw) => Ok(raw.to_vec()),
        }
    }

    /// Which algorithm the key is for.
    pub fn encryptor_type(&self) -> EncryptorType {
        match self.0 {
            PublicInner::Standard(_) => EncryptorType::Standard,
            PublicInner::Quantum(_) => EncryptorType::Quantum,
        }
    }
}

impl fmt::Debug for AppPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppPublicKey").field("type", &self.encryptor_type()).finish_non_exhaustive()
    }
}

/// An app's private key: what decrypting its files needs. The key material is wiped when the
/// value is dropped, and `Debug` shows only the type.
pub struct AppPrivateKey(pub(super) PrivateInner);

pub(super) enum PrivateInner {
    /// `p384::SecretKey` zeroises itself on drop.
    Standard(p384::SecretKey),
    /// Always [`kyber::SECRET_KEY_LEN`] bytes.
    Quantum(kyber::SecretBytes),
}

impl AppPrivateKey {
    /// Reads a stored private key: unencrypted DER PKCS#8 (standard) or the 2400 raw bytes of
    /// a liboqs Kyber768 secret key (quantum).
    pub fn from_bytes(kind: EncryptorType, bytes: &[u8]) -> Result<Self, EncError> {
        let invalid = |reason: String| EncError::InvalidKey { kind, what: "private key", reason };
        match kind {
            EncryptorType::Standard => p384::SecretKey::from_pkcs8_der(bytes)
                .map(|key| AppPrivateKey(PrivateInner::Standard(key)))
                .map_err(|err| invalid(format!("not a P-384 DER PKCS#8 private key ({err})"))),
            EncryptorType::Quantum if bytes.len() == kyber::SECRET_KEY_LEN => {
                Ok(AppPrivateKey::quantum(Zeroizing::new(bytes.to_vec())))
            }
            EncryptorType::Quantum => Err(invalid(format!(
                "{} bytes, a Kyber768 secret key has {}",
                bytes.len(),
                kyber::SECRET_KEY_LEN
            ))),
        }
    }

    /// The stored form (DER PKCS#8 or raw Kyber768 bytes), wiped when dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, EncError> {
        match &self.0 {
            PrivateInner::Standard(key) => key
                .to_pkcs8_der()
                .map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
                .map_err(|err| EncError::InvalidKey {
                    kind: EncryptorType::Standard,
                    what: "private key",
                    reason: format!("cannot encode as PKCS#8: {err}"),
                }),
            PrivateInner::Quantum(raw) => Ok(Zeroizing::new(raw.to_vec())),
        }
    }

    /// Which algorithm the key is for.
    pub fn encryptor_type(&self) -> EncryptorType {
        match self.0 {
            PrivateInner::Standard(_) => EncryptorType::Standard,
            PrivateInner::Quantum(_) => EncryptorType::Quantum,
        }
    }

    /// The matching public key: derived (standard) or the copy a Kyber768 secret key embeds.
    pub fn public_key(&self) -> Result<AppPublicKey, EncError> {
        match &self.0 {
            PrivateInner::Standard(key) => {
                Ok(AppPublicKey(PublicInner::Standard(key.public_key())))
            }
            PrivateInner::Quantum(raw) => {
                let start = kyber::SECRET_KEY_PUBLIC_OFFSET;
                let embedded = raw.get(start..start + kyber::PUBLIC_KEY_LEN).unwrap_or_default();
                AppPublicKey::from_bytes(EncryptorType::Quantum, embedded)
            }
        }
    }
}

impl AppPrivateKey {
    /// Wraps a Kyber secret, locking its heap pages in memory first (best effort, see
    /// [`crate::hygiene::lock_in_memory`]). A P-384 secret is a small inline value that moves,
    /// so only its zeroise-on-drop applies.
    fn quantum(mut secret: kyber::SecretBytes) -> AppPrivateKey {
        crate::hygiene::lock_in_memory(secret.as_mut_slice());
        AppPrivateKey(PrivateInner::Quantum(secret))
    }
}

impl fmt::Debug for AppPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppPrivateKey {{ type: {}, key: <redacted> }}", self.encryptor_type())
    }
}

/// A matching public and private key: what generating, sealing into the keyring and
/// unlocking from it deal in.
#[derive(Debug)]
pub struct AppKeyPair {
    public: AppPublicKey,
    private: AppPrivateKey,
}

impl AppKeyPair {
    /// A fresh key pair of the given type, from the OS random source.
    pub fn generate(kind: EncryptorType) -> Result<Self, EncError> {
        let private = match kind {
            EncryptorType::Standard => AppPrivateKey(PrivateInner::Standard(random_p384()?)),
            EncryptorType::Quantum => {
                let (_public, secret) = kyber::keypair()?;
                AppPrivateKey::quantum(secret)
            }
        };
        let public = private.public_key()?;
        Ok(AppKeyPair { public, private })
    }

    /// Pairs two keys after checking they belong together: same type, and the private key
    /// opens what is sealed to the public key. [`EncError::KeyPairMismatch`] if not.
    pub fn from_parts(public: AppPublicKey, private: AppPrivateKey) -> Result<Self, EncError> {
        let (public_type, private_type) = (public.encryptor_type(), private.encryptor_type());
        if public_type != private_type {
            return Err(EncError::KeyTypeMismatch { public: public_type, private: private_type });
        }
        if private.public_key()? != public {
            return Err(EncError::KeyPairMismatch);
        }
        if let PrivateInner::Quantum(_) = private.0 {
            // The embedded copy matched; also prove the secret half opens what is
            // encapsulated to the public key (the secret could be damaged elsewhere).
            let (encapsulated, sent) = super::kem::encapsulate(&public)?;
            let received = super::kem::decapsulate(&private, &encapsulated)?;
            let diff = sent.iter().zip(received.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff != 0 {
                return Err(EncError::KeyPairMismatch);
            }
        }
        Ok(AppKeyPair { public, private })
    }

    /// The public key (for encrypting, and for storing).
    pub fn public(&self) -> &AppPublicKey {
        &self.public
    }

    /// The private key (for decrypting and verifying).
    pub fn private(&self) -> &AppPrivateKey {
        &self.private
    }

    /// Which algorithm the pair is for.
    pub fn encryptor_type(&self) -> EncryptorType {
        self.public.encryptor_type()
    }
}

/// A uniformly random P-384 secret key: 48 random bytes, retried in the (about 2^-190 likely)
/// case they are zero or not below the group order.
pub(super) fn random_p384() -> Result<p384::SecretKey, EncError> {
    for _ in 0..64 {
        let mut bytes = Zeroizing::new(p384::FieldBytes::default());
        fill_random(bytes.as_mut_slice())?;
        if let Ok(key) = p384::SecretKey::from_bytes(&bytes) {
            return Ok(key);
        }
    }
    Err(EncError::Random { reason: "64 draws in a row were not a valid P-384 scalar".into() })
}
