//! Users and groups by name or number, through the system's NSS (so LDAP and the like work).

/// Resolves a group given by name or number; `None` when no such group exists.
pub fn group_id(group: &str) -> Option<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Some(gid);
    }
    uzers::get_group_by_name(group).map(|g| g.gid())
}

/// Resolves a user given by name or number.
pub fn user_id(user: &str) -> Option<u32> {
    if let Ok(uid) = user.parse::<u32>() {
        return Some(uid);
    }
    uzers::get_user_by_name(user).map(|u| u.uid())
}

/// The name of a uid, if the system knows one.
pub fn user_name(uid: u32) -> Option<String> {
    uzers::get_user_by_uid(uid).map(|u| u.name().to_string_lossy().into_owned())
}
