//! Encryption keys as the protocol reports them: which key seals each namespace's disk and
//! Redis values, and how a rotation to a new key is going. Key material never travels.

use serde::{Deserialize, Serialize};

/// The key state of one namespace, a row of the `key_status` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceKey {
    /// Namespace name.
    pub ns: String,
    /// Where its entries live: `"memory"`, `"disk"` or `"memory+disk"`, so an operator sees
    /// which rows have values on disk that a rotation must reseal.
    pub tier: String,
    /// The id of the key new values are sealed with; ids only grow, one per rotation.
    pub key_id: u32,
    /// The rotation under way, absent when none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationProgress>,
}

/// How far a rotation of one namespace has come, so an operator can tell a slow rotation
/// from a stuck one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationProgress {
    /// The key values are being moved off.
    pub from_key_id: u32,
    /// The key they are being resealed with.
    pub to_key_id: u32,
    /// Values resealed (or dropped) so far.
    pub done: u64,
    /// Values to go through in all (as counted when the rotation started).
    pub total: u64,
}

/// The outcome of a rotation of one namespace, a row of the `rotated` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedNamespace {
    /// Namespace name.
    pub ns: String,
    /// The key its values were sealed with before.
    pub old_key_id: u32,
    /// The key they are sealed with now.
    pub new_key_id: u32,
    /// Values decrypted with the old key and sealed again with the new one.
    pub resealed: u64,
    /// Values dropped instead: all of them with `clear`, else those the old key could not
    /// open (counted in `corrupt` as well).
    pub cleared: u64,
}
