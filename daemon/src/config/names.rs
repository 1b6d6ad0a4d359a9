//! Namespace name rules, shared by the config loader and the request handlers.

/// Longest namespace name accepted.
pub const MAX_NAMESPACE_LEN: usize = 128;

/// Checks a namespace name: 1–128 characters of `[A-Za-z0-9_.:-]`.
pub fn validate_namespace(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("namespace name is empty");
    }
    if name.len() > MAX_NAMESPACE_LEN {
        return Err("namespace name is longer than 128 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')) {
        return Err("namespace name may only contain letters, digits, '_', '.', ':' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_refuses_odd_ones() {
        assert!(validate_namespace("user:alice").is_ok());
        assert!(validate_namespace("web-1.sessions").is_ok());
        assert!(validate_namespace("").is_err());
        assert!(validate_namespace("a b").is_err());
        assert!(validate_namespace("../etc").is_err());
        assert!(validate_namespace(&"x".repeat(129)).is_err());
    }
}
