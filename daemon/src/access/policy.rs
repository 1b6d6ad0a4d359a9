//! The one access decision: the request table of `cachemgr_proto::access` (who may send each
//! request, what it changes) applied to the caller and the config, before any handler runs,
//! so a refusal never depends on (or reveals) data. Every path the table says a request
//! names is admitted here by the path resolver's rule ([`super::paths::admit`]: absolute, no
//! `.`/`..`, no NUL); opening it (no symlink, the caller's own) is the resolver's, where the
//! use case opens it.

use cachemgr_proto::{Audience, Effect, RequestBody};

use super::caller::Caller;
use crate::config::{resolve_who, Config, Who};

/// Why a request was refused; the message names the caller and the object, never data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not allowed for this caller.
    Denied(String),
    /// Not allowed while `read_only = true`.
    ReadOnly(String),
    /// The app it names is not registered: answered here, the same for every caller, so no
    /// handler can find an app registered meanwhile by someone else under that name.
    NoSuchApp(String),
    /// A path it names can never be resolved (relative, `.`/`..`, NUL, too long).
    BadPath(String),
}

/// Checks `body` for `caller`; `owner_of` tells an app's owner uid (`Some(None)`: no such
/// app; `None`: the app registry is off, for the handler to say).
pub fn check(
    caller: &Caller,
    body: &RequestBody,
    config: &Config,
    owner_of: impl Fn(&str) -> Option<Option<u32>>,
) -> Result<(), Refusal> {
    let access = body.access();
    if config.read_only && access.effect == Effect::State {
        return Err(Refusal::ReadOnly(format!(
            "read-only mode: {} is refused while `read_only = true` (reads and cache traffic go on)",
            body.name()
        )));
    }
    match access.audience {
        Audience::Anyone => Ok(()),
        Audience::Reader(ns) => namespace_right(caller, ns, false, config),
        Audience::Writer(ns) => namespace_right(caller, ns, true, config),
        Audience::Admin if caller.admin => Ok(()),
        Audience::Admin => Err(Refusal::Denied(format!(
            "permission denied: {} is for admins (root, the daemon's user, or members of admin_group); {} is not one",
            body.name(),
            caller.describe()
        ))),
        Audience::AppOwner(name) => app_owner(caller, name, owner_of),
    }?;
    for named in access.named_paths() {
        super::paths::admit(std::path::Path::new(named.path))
            .map_err(|err| Refusal::BadPath(err.to_string()))?;
    }
    Ok(())
}

fn app_owner(
    caller: &Caller,
    name: &str,
    owner_of: impl Fn(&str) -> Option<Option<u32>>,
) -> Result<(), Refusal> {
    match owner_of(name) {
            Some(Some(owner)) if owner != caller.peer.uid && !caller.admin => Err(Refusal::Denied(
                format!(
                    "permission denied: app {name:?} belongs to another user; {} may only manage their own apps",
                    caller.describe()
                ),
            )),
            Some(None) => Err(Refusal::NoSuchApp(format!(
                "no app named {name:?} is registered (see `cachectl app list`)"
            ))),
            _ => Ok(()),
    }
}

/// The namespace admins write and everyone reads (announcements, shared settings), unless
/// the config names its writers.
pub const BROADCAST_NAMESPACE: &str = "broadcast";

/// Whether `caller` may read (or write) `ns`: admins always; `user:<uid>` only the user with
/// that numeric uid, as the kernel reports it (one meaning: never a login name, so no name
/// made of digits and no user database can point it at another uid);
/// a configured namespace's `readers`/`writers` when it names them; `broadcast` is written
/// by admins only unless it names writers; else everyone.
pub fn may_use(caller: &Caller, ns: &str, write: bool, config: &Config) -> bool {
    if caller.admin {
        return true;
    }
    if let Some(owner) = ns.strip_prefix("user:") {
        return owner == caller.peer.uid.to_string();
    }
    let open_to_writers = ns != BROADCAST_NAMESPACE;
    let Some(settings) = config.namespaces.get(ns) else { return !write || open_to_writers };
    let rights = &settings.rights;
    let listed = |names: &Option<Vec<String>>, ids: &Option<Vec<Who>>| {
        if rights.resolved {
            ids.as_ref().map(|ids| ids.iter().any(|who| names_caller(caller, who.clone())))
        } else {
            // A config built in code (tests) was never loaded: resolve as we go.
            names.as_ref().map(|l| l.iter().any(|e| names_caller(caller, resolve_who(e))))
        }
    };
    let writer = listed(&settings.writers, &rights.writers);
    if write {
        return writer.unwrap_or(open_to_writers);
    }
    match listed(&settings.readers, &rights.readers) {
        Some(reader) => reader || writer.unwrap_or(false),
        None => true,
    }
}

fn namespace_right(caller: &Caller, ns: &str, write: bool, config: &Config) -> Result<(), Refusal> {
    if may_use(caller, ns, write, config) {
        return Ok(());
    }
    let verb = if write { "write" } else { "read" };
    Err(Refusal::Denied(format!(
        "permission denied: {} may not {verb} namespace {ns:?}",
        caller.describe()
    )))
}

/// Whether a resolved `readers`/`writers` entry names the caller; a name unknown at load
/// is looked up again (it names nobody while the system does not know it).
fn names_caller(caller: &Caller, who: Who) -> bool {
    match who {
        Who::User(uid) => uid == caller.peer.uid,
        Who::Group(gid) => caller.in_group(gid),
        Who::Unresolved(entry) => match resolve_who(&entry) {
            Who::Unresolved(_) => false,
            known => names_caller(caller, known),
        },
    }
}
