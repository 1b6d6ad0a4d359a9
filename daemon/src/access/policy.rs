//! What each request needs: a role, a namespace right, an app of one's own; and read-only
//! mode. Checked before any handler runs, so a refusal never depends on (or reveals) data.

use cachemgr_proto::RequestBody;

use super::caller::Caller;
use super::names::{group_id, user_id};
use crate::config::Config;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need<'a> {
    /// Anyone who may connect.
    Anyone,
    /// Reading the namespace.
    Read(&'a str),
    /// Changing the namespace (`management`: also refused in read-only mode).
    Write {
        /// The namespace.
        ns: &'a str,
        /// A management operation rather than ordinary cache traffic.
        management: bool,
    },
    /// An admin (`mutating`: refused in read-only mode).
    Admin {
        /// Whether it changes anything.
        mutating: bool,
    },
    /// The caller's own app, or an admin.
    App {
        /// The app.
        name: &'a str,
        /// Whether it changes anything.
        mutating: bool,
    },
    /// Registering an app: its file must be the caller's own (unless an admin).
    AddApp(Option<&'a str>),
}

/// Why a request was refused; the message names the caller and the object, never data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not allowed for this caller.
    Denied(String),
    /// Not allowed while `read_only = true`.
    ReadOnly(String),
}

fn write(ns: &str) -> Need<'_> {
    Need::Write { ns, management: false }
}

/// The need of each request.
pub fn need(body: &RequestBody) -> Need<'_> {
    use RequestBody as R;
    let admin = |mutating| Need::Admin { mutating };
    match body {
        R::Hello { .. } | R::Ping {} | R::Info {} | R::Status {} | R::ListNamespaces {} => {
            Need::Anyone
        }
        R::Stats { ns: None } | R::AppList {} | R::PressureStatus {} | R::ScheduleList {} => {
            Need::Anyone
        }
        R::DirList {} | R::Subscribe { ns: None, .. } => Need::Anyone,
        R::Subscribe { ns: Some(ns), .. } => Need::Read(ns),
        // Like `stats`: anyone, the answer trimmed to what the caller may see.
        R::Metrics {} => Need::Anyone,
        R::Stats { ns: Some(ns) } => Need::Read(ns),
        R::Get { ns, .. } | R::Exists { ns, .. } | R::Ttl { ns, .. } | R::GetMany { ns, .. } => {
            Need::Read(ns)
        }
        R::Keys { ns, .. } | R::PatternStats { ns, .. } => Need::Read(ns),
        R::Set { ns, .. } | R::Delete { ns, .. } | R::Expire { ns, .. } => write(ns),
        R::SetMany { ns, .. } | R::DeletePattern { ns, .. } | R::ExpirePattern { ns, .. } => {
            write(ns)
        }
        R::Clear { ns } => Need::Write { ns, management: true },
        R::ClearAll {} | R::Reload {} | R::Shutdown {} | R::KeyRotate { .. } => admin(true),
        R::Restore { .. } | R::AutodumpStart { .. } | R::AutodumpChange { .. } => admin(true),
        R::AutodumpStop {} | R::AppImport { .. } | R::PressureCheck {} => admin(true),
        R::DirAdd { .. } | R::DirRemove { .. } | R::DirClear { .. } | R::DirTrim { .. } => {
            admin(true)
        }
        R::KeyStatus {} | R::Dump { .. } | R::AutodumpStatus {} => admin(false),
        R::BackupVerify { app: None } => admin(false),
        R::AppAdd { settings, .. } => Need::AddApp(settings.path.as_deref()),
        R::AppShow { name } | R::AppInspect { name, .. } => Need::App { name, mutating: false },
        R::AppEdit { name, .. } | R::AppRemove { name, .. } | R::AppSet { name, .. } => {
            Need::App { name, mutating: true }
        }
        R::AppMigrate { name, .. } => Need::App { name, mutating: true },
        R::BackupList { app } | R::BackupVerify { app: Some(app) } => {
            Need::App { name: app, mutating: false }
        }
        R::BackupCreate { app, .. } | R::BackupPrune { app, .. } | R::BackupRestore { app, .. } => {
            Need::App { name: app, mutating: true }
        }
    }
}

/// Checks `body` for `caller`; `owner_of` tells an app's owner uid (`None`: no such app).
pub fn check(
    caller: &Caller,
    body: &RequestBody,
    config: &Config,
    owner_of: impl Fn(&str) -> Option<u32>,
) -> Result<(), Refusal> {
    let who = || caller.describe();
    let read_only = |what: &str| {
        Refusal::ReadOnly(format!(
            "read-only mode: {what} is refused while `read_only = true` (reads and cache traffic go on)"
        ))
    };
    match need(body) {
        Need::Anyone => Ok(()),
        Need::Read(ns) => namespace_right(caller, ns, false, config),
        Need::Write { ns, management } => {
            if management && config.read_only {
                return Err(read_only(body.name()));
            }
            namespace_right(caller, ns, true, config)
        }
        Need::Admin { mutating } => {
            if mutating && config.read_only {
                return Err(read_only(body.name()));
            }
            if caller.admin {
                return Ok(());
            }
            Err(Refusal::Denied(format!(
                "permission denied: {} is for admins (root, the daemon's user, or members of admin_group); {} is not one",
                body.name(),
                who()
            )))
        }
        Need::App { name, mutating } => {
            if mutating && config.read_only {
                return Err(read_only(body.name()));
            }
            match owner_of(name) {
                Some(owner) if owner != caller.peer.uid && !caller.admin => Err(Refusal::Denied(
                    format!("permission denied: app {name:?} belongs to another user; {} may only manage their own apps", who()),
                )),
                _ => Ok(()),
            }
        }
        Need::AddApp(path) => {
            if config.read_only {
                return Err(read_only(body.name()));
            }
            if caller.admin {
                return Ok(());
            }
            let owner = path.and_then(|path| std::fs::metadata(path).ok()).map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.uid()
            });
            match owner {
                Some(owner) if owner != caller.peer.uid => Err(Refusal::Denied(format!(
                    "permission denied: {} may only register files they own",
                    who()
                ))),
                _ => Ok(()),
            }
        }
    }
}

/// The namespace admins write and everyone reads (announcements, shared settings), unless
/// the config names its writers.
pub const BROADCAST_NAMESPACE: &str = "broadcast";

/// Whether `caller` may read (or write) `ns`: admins always; `user:<name>` only its user;
/// a configured namespace's `readers`/`writers` when it names them; `broadcast` is written
/// by admins only unless it names writers; else everyone.
pub fn may_use(caller: &Caller, ns: &str, write: bool, config: &Config) -> bool {
    if caller.admin {
        return true;
    }
    if let Some(owner) = ns.strip_prefix("user:") {
        return caller.name.as_deref() == Some(owner) || owner == caller.peer.uid.to_string();
    }
    let open_to_writers = ns != BROADCAST_NAMESPACE;
    let Some(settings) = config.namespaces.get(ns) else { return !write || open_to_writers };
    let listed = |list: &Option<Vec<String>>| list.as_ref().map(|l| names_caller(caller, l));
    let writer = listed(&settings.writers);
    if write {
        return writer.unwrap_or(open_to_writers);
    }
    match listed(&settings.readers) {
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

/// Whether a `readers`/`writers` list names the caller: `alice` or `1000` a user, `@staff`
/// or `@50` a group.
fn names_caller(caller: &Caller, list: &[String]) -> bool {
    list.iter().any(|entry| match entry.strip_prefix('@') {
        Some(group) => group_id(group).is_some_and(|gid| caller.in_group(gid)),
        None => user_id(entry) == Some(caller.peer.uid),
    })
}
