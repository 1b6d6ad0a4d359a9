//! The list of every variant of the wire enums, kept by exhaustive matches so that a new
//! variant fails to compile until it is listed here and given a sample.

use cachemgr_proto::{ErrorKind, RequestBody, ResponseBody};

/// Every `RequestBody` variant, by the wire name. The exhaustive match makes a new variant a
/// compile error here: add it to `ALL_REQUESTS` and give it a sample in `super::requests()`.
pub fn request_variant(body: &RequestBody) -> &'static str {
    match body {
        RequestBody::Hello { .. } => "hello",
        RequestBody::Ping {} => "ping",
        RequestBody::Info {} => "info",
        RequestBody::Stats { .. } => "stats",
        RequestBody::ListNamespaces {} => "list_namespaces",
        RequestBody::Set { .. } => "set",
        RequestBody::Get { .. } => "get",
        RequestBody::Delete { .. } => "delete",
        RequestBody::Exists { .. } => "exists",
        RequestBody::Ttl { .. } => "ttl",
        RequestBody::Expire { .. } => "expire",
        RequestBody::GetMany { .. } => "get_many",
        RequestBody::SetMany { .. } => "set_many",
        RequestBody::Keys { .. } => "keys",
        RequestBody::PatternStats { .. } => "pattern_stats",
        RequestBody::DeletePattern { .. } => "delete_pattern",
        RequestBody::ExpirePattern { .. } => "expire_pattern",
        RequestBody::Clear { .. } => "clear",
        RequestBody::ClearAll {} => "clear_all",
        RequestBody::Reload {} => "reload",
        RequestBody::Shutdown {} => "shutdown",
        RequestBody::KeyStatus {} => "key_status",
        RequestBody::KeyRotate { .. } => "key_rotate",
        RequestBody::Dump { .. } => "dump",
        RequestBody::Restore { .. } => "restore",
        RequestBody::AutodumpStart { .. } => "autodump_start",
        RequestBody::AutodumpChange { .. } => "autodump_change",
        RequestBody::AutodumpStop {} => "autodump_stop",
        RequestBody::AutodumpStatus {} => "autodump_status",
        RequestBody::Status {} => "status",
        RequestBody::AppAdd { .. } => "app_add",
        RequestBody::AppEdit { .. } => "app_edit",
        RequestBody::AppRemove { .. } => "app_remove",
        RequestBody::AppList {} => "app_list",
        RequestBody::AppShow { .. } => "app_show",
        RequestBody::AppImport { .. } => "app_import",
        RequestBody::AppInspect { .. } => "app_inspect",
        RequestBody::AppSet { .. } => "app_set",
        RequestBody::AppMigrate { .. } => "app_migrate",
        RequestBody::BackupCreate { .. } => "backup_create",
        RequestBody::BackupList { .. } => "backup_list",
        RequestBody::BackupPrune { .. } => "backup_prune",
        RequestBody::BackupVerify { .. } => "backup_verify",
        RequestBody::BackupRestore { .. } => "backup_restore",
        RequestBody::PressureStatus {} => "pressure_status",
        RequestBody::PressureCheck {} => "pressure_check",
        RequestBody::ScheduleList {} => "schedule_list",
    }
}

pub const ALL_REQUESTS: &[&str] = &[
    "hello",
    "ping",
    "info",
    "stats",
    "list_namespaces",
    "set",
    "get",
    "delete",
    "exists",
    "ttl",
    "expire",
    "get_many",
    "set_many",
    "keys",
    "pattern_stats",
    "delete_pattern",
    "expire_pattern",
    "clear",
    "clear_all",
    "reload",
    "shutdown",
    "key_status",
    "key_rotate",
    "dump",
    "restore",
    "autodump_start",
    "autodump_change",
    "autodump_stop",
    "autodump_status",
    "status",
    "app_add",
    "app_edit",
    "app_remove",
    "app_list",
    "app_show",
    "app_import",
    "app_inspect",
    "app_set",
    "app_migrate",
    "backup_create",
    "backup_list",
    "backup_prune",
    "backup_verify",
    "backup_restore",
    "pressure_status",
    "pressure_check",
    "schedule_list",
];

/// Same as [`request_variant`], for responses.
pub fn response_variant(body: &ResponseBody) -> &'static str {
    match body {
        ResponseBody::Welcome { .. } => "welcome",
        ResponseBody::Pong {} => "pong",
        ResponseBody::Info(_) => "info",
        ResponseBody::Stats { .. } => "stats",
        ResponseBody::Namespaces { .. } => "namespaces",
        ResponseBody::Done {} => "done",
        ResponseBody::Stored { .. } => "stored",
        ResponseBody::Value { .. } => "value",
        ResponseBody::Values { .. } => "values",
        ResponseBody::Count { .. } => "count",
        ResponseBody::Ttl { .. } => "ttl",
        ResponseBody::Keys { .. } => "keys",
        ResponseBody::PatternStats { .. } => "pattern_stats",
        ResponseBody::Cleared { .. } => "cleared",
        ResponseBody::Reloaded { .. } => "reloaded",
        ResponseBody::KeyStatus { .. } => "key_status",
        ResponseBody::Progress { .. } => "progress",
        ResponseBody::Rotated { .. } => "rotated",
        ResponseBody::Dumped { .. } => "dumped",
        ResponseBody::Restored { .. } => "restored",
        ResponseBody::Autodump(_) => "autodump",
        ResponseBody::Status(_) => "status",
        ResponseBody::App(_) => "app",
        ResponseBody::Apps { .. } => "apps",
        ResponseBody::Imported { .. } => "imported",
        ResponseBody::Inspected { .. } => "inspected",
        ResponseBody::AppModified { .. } => "app_modified",
        ResponseBody::Migrated { .. } => "migrated",
        ResponseBody::Backup(_) => "backup",
        ResponseBody::Backups { .. } => "backups",
        ResponseBody::Pruned { .. } => "pruned",
        ResponseBody::Verified { .. } => "verified",
        ResponseBody::AppRestored { .. } => "app_restored",
        ResponseBody::Pressure(_) => "pressure",
        ResponseBody::Schedules { .. } => "schedules",
        ResponseBody::Error { .. } => "error",
    }
}

pub const ALL_RESPONSES: &[&str] = &[
    "welcome",
    "pong",
    "info",
    "stats",
    "namespaces",
    "done",
    "stored",
    "value",
    "values",
    "count",
    "ttl",
    "keys",
    "pattern_stats",
    "cleared",
    "reloaded",
    "key_status",
    "progress",
    "rotated",
    "dumped",
    "restored",
    "autodump",
    "status",
    "app",
    "apps",
    "imported",
    "inspected",
    "app_modified",
    "migrated",
    "backup",
    "backups",
    "pruned",
    "verified",
    "app_restored",
    "pressure",
    "schedules",
    "error",
];

/// Every error kind; exhaustive for the same reason as [`request_variant`].
pub fn error_kind_covered(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Malformed
        | ErrorKind::FrameTooLarge
        | ErrorKind::HandshakeRequired
        | ErrorKind::UnsupportedProtocol
        | ErrorKind::Timeout
        | ErrorKind::InvalidArgument
        | ErrorKind::TooLarge
        | ErrorKind::UnknownNamespace
        | ErrorKind::PermissionDenied
        | ErrorKind::Unavailable
        | ErrorKind::Internal
        | ErrorKind::Storage
        | ErrorKind::Corrupt
        | ErrorKind::Busy => kind.as_str(),
    }
}

pub const ALL_ERROR_KINDS: &[&str] = &[
    "malformed",
    "frame_too_large",
    "handshake_required",
    "unsupported_protocol",
    "timeout",
    "invalid_argument",
    "too_large",
    "unknown_namespace",
    "permission_denied",
    "unavailable",
    "internal",
    "storage",
    "corrupt",
    "busy",
];
