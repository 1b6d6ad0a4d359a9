//! The `.enc` application cache format (see ENCRYPTED_CACHE_FORMAT.md).
