//! Round-3 Kyber768, the KEM of the "quantum" type, with liboqs's `Kyber768` byte formats
//! (public key 1184 bytes, secret key 2400, ciphertext 1088, shared secret 32).
//!
//! Crate choice: `pqcrypto-kyber` 0.7.9 wraps PQClean's `clean` C implementation of round-3
//! Kyber (v3.02: the shared secret is KDF(K' ‖ H(c)), the message hashed before use), the
//! reference code liboqs's Kyber768 also comes from, and it carries the KyberSlash
//! constant-time fixes. Its 0.8 line switched to the draft-standard Kyber (shared secret = K'
//! directly, a different rejection key), which cannot open the apps' files: the cross-check
//! against the independent `kyber-py` in `tests/enc_python.rs` fails with it, and
//! the unit tests pin a kyber-py known answer (`tests/kyber.rs`). `pqc_kyber` 0.7 (pure Rust, round 3) was
//! the alternative, but it still divides by the secret-dependent coefficients that KyberSlash
//! exploits (RUSTSEC-2023-0079). The ML-KEM crates compute other shared secrets altogether.
//!
//! The crate's safe API returns keys and shared secrets as `Copy` arrays that are never
//! wiped, so this module calls its three FFI functions directly, with every secret written
//! straight into a [`Zeroizing`] buffer. Each call's buffers have exactly the sizes the C
//! functions read and write (checked by the array types and allocation lengths).

use pqcrypto_kyber::ffi;
use zeroize::Zeroizing;

use super::error::EncError;

/// Kyber768 public key size.
pub const PUBLIC_KEY_LEN: usize = ffi::PQCLEAN_KYBER768_CLEAN_CRYPTO_PUBLICKEYBYTES;
/// Kyber768 secret key size (liboqs layout: IND-CPA secret ‖ public key ‖ H(pk) ‖ z).
pub const SECRET_KEY_LEN: usize = ffi::PQCLEAN_KYBER768_CLEAN_CRYPTO_SECRETKEYBYTES;
/// Kyber768 ciphertext size: the encapsulated key of a quantum file.
pub const CIPHERTEXT_LEN: usize = ffi::PQCLEAN_KYBER768_CLEAN_CRYPTO_CIPHERTEXTBYTES;
/// Shared secret size: the AES-256 key of a quantum file.
pub const SHARED_SECRET_LEN: usize = ffi::PQCLEAN_KYBER768_CLEAN_CRYPTO_BYTES;
/// Where the public key sits inside the secret key (after the 1152-byte IND-CPA secret).
pub const SECRET_KEY_PUBLIC_OFFSET: usize = 1152;

/// A fresh key pair: (public key, secret key).
pub(super) fn keypair() -> Result<(Box<[u8; PUBLIC_KEY_LEN]>, SecretBytes), EncError> {
    let mut public = Box::new([0u8; PUBLIC_KEY_LEN]);
    let mut secret: SecretBytes = Zeroizing::new(vec![0u8; SECRET_KEY_LEN]);
    // SAFETY: the C function writes exactly PUBLIC_KEY_LEN bytes to `pk` and SECRET_KEY_LEN
    // bytes to `sk`, the lengths the two buffers were just allocated with; it keeps no pointer.
    let rc = unsafe {
        ffi::PQCLEAN_KYBER768_CLEAN_crypto_kem_keypair(public.as_mut_ptr(), secret.as_mut_ptr())
    };
    check(rc, "key generation")?;
    Ok((public, secret))
}

/// Encapsulates a fresh shared secret to `public`: (ciphertext, shared secret).
pub(super) fn encapsulate(
    public: &[u8; PUBLIC_KEY_LEN],
) -> Result<([u8; CIPHERTEXT_LEN], SharedSecret), EncError> {
    let mut ciphertext = [0u8; CIPHERTEXT_LEN];
    let mut shared: SharedSecret = Zeroizing::new([0u8; SHARED_SECRET_LEN]);
    // SAFETY: writes CIPHERTEXT_LEN bytes to `ct` and SHARED_SECRET_LEN bytes to `ss`, reads
    // PUBLIC_KEY_LEN bytes from `pk`: the sizes of the buffers passed; it keeps no pointer.
    let rc = unsafe {
        ffi::PQCLEAN_KYBER768_CLEAN_crypto_kem_enc(
            ciphertext.as_mut_ptr(),
            shared.as_mut_ptr(),
            public.as_ptr(),
        )
    };
    check(rc, "encapsulation")?;
    Ok((ciphertext, shared))
}

/// Decapsulates `ciphertext` with `secret`. Kyber never fails here: a wrong key or a damaged
/// ciphertext gives a pseudo-random secret (implicit rejection), which the GCM tag catches.
pub(super) fn decapsulate(
    ciphertext: &[u8; CIPHERTEXT_LEN],
    secret: &[u8; SECRET_KEY_LEN],
) -> Result<SharedSecret, EncError> {
    let mut shared: SharedSecret = Zeroizing::new([0u8; SHARED_SECRET_LEN]);
    // SAFETY: writes SHARED_SECRET_LEN bytes to `ss`, reads CIPHERTEXT_LEN bytes from `ct`
    // and SECRET_KEY_LEN bytes from `sk`: the sizes of the buffers passed.
    let rc = unsafe {
        ffi::PQCLEAN_KYBER768_CLEAN_crypto_kem_dec(
            shared.as_mut_ptr(),
            ciphertext.as_ptr(),
            secret.as_ptr(),
        )
    };
    check(rc, "decapsulation")?;
    Ok(shared)
}

/// A Kyber768 secret key (always [`SECRET_KEY_LEN`] bytes), wiped on drop.
pub(super) type SecretBytes = Zeroizing<Vec<u8>>;
/// A Kyber768 shared secret, wiped on drop.
pub(super) type SharedSecret = Zeroizing<[u8; SHARED_SECRET_LEN]>;

fn check(rc: std::ffi::c_int, what: &str) -> Result<(), EncError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(EncError::InvalidKey {
            kind: super::EncryptorType::Quantum,
            what: "key operation",
            reason: format!("Kyber768 {what} failed (code {rc})"),
        })
    }
}
