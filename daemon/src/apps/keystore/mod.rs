//! Where the Python apps keep their keys: the OS keyring in the Python `keyring` layout.
