//! Unit tests of the .enc format.
