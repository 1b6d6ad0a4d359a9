//! `app inspect` and `app set`: looking into and changing the decrypted JSON of an app's
//! live file. A change is backed up first, re-encrypted for the app's own public key (so the
//! app still opens it) and put in place atomically.

use std::sync::Arc;

use cachemgr_proto::{BackupSource, JsonNode};
use serde_json::Value;

use super::backup::{no_progress, BackupRequest};
use super::error::AppError;
use super::json::{describe, set_pointer, to_python_json};
use super::restore::replace_live;
use super::service::AppService;

/// Levels described below the pointer when the request does not say.
const DEFAULT_DEPTH: u32 = 2;

impl AppService {
    /// The structure of the app's live JSON at `pointer`.
    pub async fn inspect(
        self: &Arc<Self>,
        name: &str,
        pointer: Option<String>,
        show_values: bool,
        depth: Option<u32>,
    ) -> Result<Vec<JsonNode>, AppError> {
        let _op = self.try_lock(name).await?;
        let app = self.record(name)?;
        let codec = self.codec(&app).await?;
        let service = self.clone();
        tokio::task::spawn_blocking(move || {
            let copy = service.take_copy(&app, &codec)?;
            let plain =
                codec.open(&copy.bytes).map_err(|e| AppError::corrupt(app.path.display(), &e))?;
            let value: Value = serde_json::from_slice(&plain).map_err(|e| {
                AppError::Corrupt(format!("{} decrypts but is not JSON: {e}", app.path.display()))
            })?;
            let pointer = pointer.unwrap_or_default();
            describe(&value, &pointer, depth.unwrap_or(DEFAULT_DEPTH), show_values).ok_or_else(
                || {
                    AppError::Invalid(format!(
                        "{pointer:?} does not exist in the cache of {:?}",
                        app.name
                    ))
                },
            )
        })
        .await
        .map_err(|e| AppError::Storage(format!("the inspect task failed: {e}")))?
    }

    /// Replaces the value at `pointer` with `value_json`; returns the name of the backup of
    /// the file as it was.
    pub async fn set_value(
        self: &Arc<Self>,
        name: &str,
        pointer: String,
        value_json: String,
    ) -> Result<String, AppError> {
        let new: Value = serde_json::from_str(&value_json).map_err(|e| {
            AppError::Invalid(format!(
                "the new value is not JSON ({e}); quote strings, e.g. '\"text\"'"
            ))
        })?;
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(AppError::Invalid(format!(
                "{pointer:?} is not a JSON pointer (it must start with '/')"
            )));
        }
        let _op = self.try_lock(name).await?;
        let app = self.record(name)?;
        if app.builtin {
            return Err(AppError::Invalid(format!(
                "{name:?} is the daemon's own state; change it with cachectl, not by pointer"
            )));
        }
        let codec = self.codec(&app).await?;
        let service = self.clone();
        tokio::task::spawn_blocking(move || {
            let copy = service.take_copy(&app, &codec)?;
            let plain = codec.open(&copy.bytes).map_err(|e| AppError::corrupt(app.path.display(), &e))?;
            let mut value: Value = serde_json::from_slice(&plain)
                .map_err(|e| AppError::Corrupt(format!("{} decrypts but is not JSON: {e}", app.path.display())))?;
            set_pointer(&mut value, &pointer, new).map_err(AppError::Invalid)?;
            let sealed = codec
                .seal(&to_python_json(&value))
                .map_err(|e| AppError::Storage(format!("cannot encrypt the changed cache: {e}")))?;
            // Proves the new file opens before it replaces anything.
            codec.verify(&sealed).map_err(|e| AppError::corrupt("the re-encrypted cache", &e))?;
            let request = BackupRequest { source: BackupSource::BeforeModify, pin: false, note: Some(format!("before set {pointer}")), skip_unchanged: false };
            let saved = service.store_copy(&app, &copy, request, &no_progress())?.into_record().name;
            replace_live(&service.live_place(&app)?, &sealed)
                .map_err(|e| AppError::storage(format!("cannot replace {}", app.path.display()), e))?;
            tracing::info!(app = %app.name, pointer = %pointer, backup = %saved, "app cache value changed");
            Ok(saved)
        })
        .await
        .map_err(|e| AppError::Storage(format!("the set task failed: {e}")))?
    }
}
