//! The OS keyring: the Secret Service first, then the kernel keyutils store.
//!
//! Each store is built explicitly (`SsCredential`, `KeyutilsCredential`) rather than through
//! keyring's default builder, so the order does not depend on which features are on. The
//! Secret Service client blocks on its own executor, and a locked collection may wait for a
//! prompt forever, so every call runs on a plain thread of its own under a timeout: a
//! `spawn_blocking` task that never returns would keep the runtime from shutting down.

use std::time::Duration;

use keyring::keyutils::KeyutilsCredential;
use keyring::secret_service::SsCredential;
use keyring::Entry;
use zeroize::Zeroizing;

use super::error::KeyError;
use super::master::MasterKey;
use super::sources::Lookup;
use super::{KeySource, LoadedKey};

/// Backend name of the D-Bus Secret Service (gnome-keyring, KeePassXC, KWallet ...).
pub const SECRET_SERVICE: &str = "secret-service";
/// Backend name of the kernel keyutils store (session keyring; lost at reboot).
pub const KEYUTILS: &str = "keyutils";

/// D-Bus error name the Secret Service spec gives to reading a locked item.
const IS_LOCKED: &str = "org.freedesktop.Secret.Error.IsLocked";

/// Why a backend gave no key without that being an error.
enum Absence {
    /// The store works and has no such entry.
    NoEntry(String),
    /// The store cannot be used here (no D-Bus session, no session keyring ...).
    Unreachable(String),
}

impl Absence {
    fn into_reason(self) -> String {
        match self {
            Absence::NoEntry(why) | Absence::Unreachable(why) => why,
        }
    }
}

/// The service/user pair an entry is stored under, for messages and calls.
#[derive(Clone)]
struct Names {
    service: String,
    user: String,
}

fn entry(backend: &'static str, names: &Names) -> keyring::Result<Entry> {
    let credential: Box<keyring::Credential> = if backend == SECRET_SERVICE {
        Box::new(SsCredential::new_with_target(None, &names.service, &names.user)?)
    } else {
        Box::new(KeyutilsCredential::new_with_target(None, &names.service, &names.user)?)
    };
    Ok(Entry::new_with_credential(credential))
}

/// Sorts a keyring error into "no key here, go on" and a real failure.
fn classify(
    backend: &'static str,
    names: &Names,
    err: keyring::Error,
) -> Result<Absence, KeyError> {
    let refused = |reason: String| KeyError::KeyringRefused {
        backend,
        service: names.service.clone(),
        user: names.user.clone(),
        reason,
    };
    let (service, user) = (&names.service, &names.user);
    let locked = |inner: &dyn std::fmt::Display| {
        format!(
            "{inner} (the collection is locked: unlock it, e.g. by running `secret-tool lookup \
             service {service} username {user}` in your session, then start again)"
        )
    };
    match err {
        keyring::Error::NoEntry => Ok(Absence::NoEntry(format!(
            "{backend} has no entry for service {service}, user {user}"
        ))),
        // A locked item comes back as a D-Bus error named by the Secret Service spec: the
        // entry is there, so skipping it would silently start with another key.
        keyring::Error::PlatformFailure(inner) if inner.to_string().contains(IS_LOCKED) => {
            Err(refused(locked(&inner)))
        }
        keyring::Error::PlatformFailure(inner) => {
            Ok(Absence::Unreachable(format!("{backend} is not usable here: {inner}")))
        }
        keyring::Error::NoStorageAccess(inner) => {
            match inner.downcast_ref::<secret_service::Error>() {
                Some(secret_service::Error::NoResult) => Ok(Absence::Unreachable(format!(
                    "{backend} has no default collection to hold the entry"
                ))),
                _ => Err(refused(locked(&inner))),
            }
        }
        keyring::Error::Ambiguous(items) => Err(refused(format!(
            "{} entries match; keep only one (list them with `secret-tool search --all service \
             {service} username {user}`)",
            items.len()
        ))),
        // The remaining variants carry no secret bytes in their Display.
        other => Err(refused(other.to_string())),
    }
}

/// Reads one backend: the stored secret, or why there is none.
fn read_backend(
    backend: &'static str,
    names: &Names,
) -> Result<Result<Zeroizing<Vec<u8>>, Absence>, KeyError> {
    let entry = match entry(backend, names) {
        Ok(entry) => entry,
        Err(err) => return classify(backend, names, err).map(Err),
    };
    match entry.get_secret() {
        Ok(secret) => Ok(Ok(Zeroizing::new(secret))),
        Err(err) => classify(backend, names, err).map(Err),
    }
}

/// Runs `job` on a thread of its own; `Ok(None)` when it has not finished within `timeout`
/// (the thread is left to finish or to die with the process).
async fn off_runtime<T: Send + 'static>(
    timeout: Duration,
    names: &Names,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>, KeyError> {
    let failed = |reason: String| KeyError::KeyringRefused {
        backend: "keyring",
        service: names.service.clone(),
        user: names.user.clone(),
        reason,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("cachemgr-keyring".into())
        .spawn(move || {
            let _ = tx.send(job());
        })
        .map_err(|err| failed(format!("cannot start a thread for the keyring call: {err}")))?;
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(value)) => Ok(Some(value)),
        Ok(Err(_)) => Err(failed("the keyring call panicked".into())),
        Err(_) => Ok(None),
    }
}

fn timed_out(timeout: Duration, names: &Names) -> KeyError {
    KeyError::KeyringTimeout { timeout, service: names.service.clone(), user: names.user.clone() }
}

/// Looks for the key in the Secret Service, then keyutils. An absent entry or an unusable
/// store moves on (and is logged at debug); an entry that is not a valid key is an error.
pub(crate) async fn read(service: &str, user: &str, timeout: Duration) -> Result<Lookup, KeyError> {
    let names = Names { service: service.to_owned(), user: user.to_owned() };
    let mut reasons = Vec::new();
    for backend in [SECRET_SERVICE, KEYUTILS] {
        let job_names = names.clone();
        let outcome = off_runtime(timeout, &names, move || read_backend(backend, &job_names))
            .await?
            .ok_or_else(|| timed_out(timeout, &names))??;
        match outcome {
            Ok(secret) => {
                let key =
                    MasterKey::parse(&secret, false).map_err(|reason| KeyError::InvalidKey {
                        origin: format!(
                            "keyring entry ({backend}, service {service}, user {user})"
                        ),
                        reason,
                        fix: "replace it with `cachemgrd key-init --to keyring --force`".into(),
                    })?;
                let source = KeySource::Keyring { backend, service: service.to_owned() };
                return Ok(Lookup::Found(LoadedKey { key, source }));
            }
            Err(absence) => {
                let why = absence.into_reason();
                tracing::debug!(backend, %why, "no master key in this keyring backend");
                reasons.push(why);
            }
        }
    }
    Ok(Lookup::Absent(reasons.join("; ")))
}

/// Stores `key` in the first usable backend (Secret Service, then keyutils), refusing to
/// replace an existing entry unless `force`, and reads it back to prove the daemon will find
/// it. Returns where it went.
pub(crate) async fn store(
    service: &str,
    user: &str,
    key: &MasterKey,
    force: bool,
    timeout: Duration,
) -> Result<KeySource, KeyError> {
    let names = Names { service: service.to_owned(), user: user.to_owned() };
    let mut reasons = Vec::new();
    for backend in [SECRET_SERVICE, KEYUTILS] {
        let (job_names, text) = (names.clone(), key.to_base64());
        let outcome =
            off_runtime(timeout, &names, move || store_backend(backend, &job_names, &text, force))
                .await?
                .ok_or_else(|| timed_out(timeout, &names))??;
        match outcome {
            None => return Ok(KeySource::Keyring { backend, service: service.to_owned() }),
            Some(why) => {
                tracing::debug!(backend, %why, "cannot store the master key in this backend");
                reasons.push(why);
            }
        }
    }
    Err(KeyError::KeyringUnavailable { reasons: reasons.join("; ") })
}

/// `Ok(None)` when stored, `Ok(Some(why))` when this backend is unusable.
fn store_backend(
    backend: &'static str,
    names: &Names,
    text: &str,
    force: bool,
) -> Result<Option<String>, KeyError> {
    let entry = match entry(backend, names) {
        Ok(entry) => entry,
        Err(err) => return classify(backend, names, err).map(|a| Some(a.into_reason())),
    };
    match entry.get_secret().map(Zeroizing::new) {
        Ok(_) if !force => {
            return Err(KeyError::AlreadyExists {
                location: format!(
                    "keyring ({backend}, service {}, user {})",
                    names.service, names.user
                ),
            })
        }
        Ok(_) => {}
        Err(err) => match classify(backend, names, err)? {
            Absence::NoEntry(_) => {}
            Absence::Unreachable(why) => return Ok(Some(why)),
        },
    }
    let refused = |reason: String| KeyError::KeyringRefused {
        backend,
        service: names.service.clone(),
        user: names.user.clone(),
        reason,
    };
    if let Err(err) = entry.set_secret(text.as_bytes()) {
        return match classify(backend, names, err)? {
            Absence::Unreachable(why) => Ok(Some(why)),
            Absence::NoEntry(why) => Err(refused(why)),
        };
    }
    match entry.get_secret().map(Zeroizing::new) {
        Ok(back) if back.as_slice() == text.as_bytes() => Ok(None),
        Ok(_) => Err(refused("the entry read back differs from the one written".into())),
        Err(err) => Err(refused(format!("the entry cannot be read back: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn names() -> Names {
        Names { service: "cachemgr".into(), user: "master".into() }
    }

    fn boxed(text: &str) -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(std::io::Error::other(text.to_owned()))
    }

    #[test]
    fn absent_or_unreachable_moves_on_locked_or_ambiguous_is_an_error() {
        let n = names();
        let moves_on = |err| classify(SECRET_SERVICE, &n, err).is_ok();
        assert!(moves_on(keyring::Error::NoEntry));
        assert!(moves_on(keyring::Error::PlatformFailure(boxed("no dbus session found"))));
        assert!(moves_on(keyring::Error::NoStorageAccess(Box::new(
            secret_service::Error::NoResult
        ))));
        let locked = classify(
            SECRET_SERVICE,
            &n,
            keyring::Error::PlatformFailure(boxed(
                "org.freedesktop.Secret.Error.IsLocked: Cannot get secret of a locked object",
            )),
        );
        let text = locked.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("the collection is locked"), "{text}");
        assert!(!moves_on(keyring::Error::NoStorageAccess(Box::new(
            secret_service::Error::Locked
        ))));
        let ambiguous = classify(SECRET_SERVICE, &n, keyring::Error::Ambiguous(Vec::new()));
        assert!(ambiguous.is_err_and(|e| e.to_string().contains("keep only one")));
    }

    #[tokio::test]
    async fn a_hung_keyring_call_times_out_with_the_hint() {
        let started = Instant::now();
        let outcome = off_runtime(Duration::from_millis(50), &names(), || {
            std::thread::sleep(Duration::from_secs(1))
        })
        .await
        .expect("no thread error");
        assert!(outcome.is_none(), "timed out");
        assert!(started.elapsed() < Duration::from_millis(900));
        let text = timed_out(Duration::from_secs(5), &names()).to_string();
        assert!(
            text.starts_with(
                "keyring did not answer within 5s (locked? run `secret-tool lookup service \
                 cachemgr username master` in your session"
            ),
            "{text}"
        );
    }
}
