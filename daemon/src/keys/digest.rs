//! The keyed hash the daemon names things by where a name must not be stored in the clear
//! (Redis keys, the disk layer's tables and entries), and the hex form hashes are written in.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 under `key` over `parts`, each prefixed by its length so that no two lists of
/// parts hash alike.
pub fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for part in parts {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_length_prefixed_and_hex_is_lowercase() {
        assert_ne!(keyed_hash(b"k", &[b"ab", b"c"]), keyed_hash(b"k", &[b"a", b"bc"]));
        assert_ne!(keyed_hash(b"k", &[b"a"]), keyed_hash(b"j", &[b"a"]));
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
    }
}
