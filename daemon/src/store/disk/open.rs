//! Opening the database: wiping it for an ephemeral key, moving aside a file that cannot be
//! opened or was sealed under another master key (kept, never deleted), and loading every
//! namespace's key generations.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};

use super::apply::{access_def, bytes_key, charge, data_def, order_def, ACCOUNTING, NS_KEYS};
use super::cell::{panic_message, DbCell};
use super::cursors::Cursors;
use super::writer::WriterHandle;
use super::{
    access_table, data_table, order_table, unix_now_ms, DiskError, DiskLayer, DiskNamespace, KeySet,
};
use crate::keys::MasterKey;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const FINGERPRINT: &str = "master_fingerprint";

/// How to open the disk layer.
#[derive(Debug, Clone)]
pub struct DiskOptions {
    /// The database file.
    pub path: PathBuf,
    /// redb's page cache.
    pub cache_bytes: usize,
    /// Longest a `batched` write waits to become durable.
    pub batch_window: Duration,
    /// Delete the file first: the master key is ephemeral, so nothing in it can be read.
    pub wipe: bool,
    /// Store values unsealed (the benchmark's baseline only; never set by the daemon).
    pub plain: bool,
}

/// What an operator must hear about the open.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// One line per notable event (file moved aside, wiped).
    pub notices: Vec<String>,
}

impl DiskLayer {
    /// Opens (or creates) the database at `options.path`.
    pub fn open(
        options: DiskOptions,
        master: Arc<MasterKey>,
    ) -> Result<(Arc<DiskLayer>, OpenReport), DiskError> {
        let mut report = OpenReport::default();
        let path = options.path.clone();
        if options.wipe && path.exists() {
            std::fs::remove_file(&path).map_err(|e| DiskError::storage("wiping", e))?;
            report.notices.push(format!(
                "the master key is ephemeral, so the disk tier at {} was wiped at start-up (nothing could read it)",
                path.display()
            ));
        }
        let fingerprint = master.fingerprint();
        let cache_bytes = options.cache_bytes;
        let attempt =
            catch_unwind(AssertUnwindSafe(|| try_open(&path, cache_bytes, &master, &fingerprint)))
                .unwrap_or_else(|panic| Err(DiskError::Corrupt(panic_message(panic.as_ref()))));
        let (db, namespaces) = match attempt {
            Ok(Opened::Ready(db, namespaces)) => (db, namespaces),
            Ok(Opened::OtherKey(stored)) => {
                let aside = move_aside(&path, "other-key")?;
                report.notices.push(format!(
                    "the disk database {} was sealed under another master key (fingerprint {stored}, this one is {fingerprint}); it was moved aside to {} and a fresh one created",
                    path.display(),
                    aside.display()
                ));
                (fresh(&path, cache_bytes, &fingerprint, &HashMap::new())?, HashMap::new())
            }
            Err(DiskError::Corrupt(err)) => {
                let aside = move_aside(&path, "damaged")?;
                report.notices.push(format!(
                    "the disk database {} could not be opened ({err}); it was moved aside to {} and a fresh one created",
                    path.display(),
                    aside.display()
                ));
                (fresh(&path, cache_bytes, &fingerprint, &HashMap::new())?, HashMap::new())
            }
            Err(err) => return Err(err),
        };
        for notice in &report.notices {
            tracing::warn!("{notice}");
        }
        let cell = Arc::new(DbCell::new(db, path.clone(), cache_bytes));
        let namespaces = Arc::new(RwLock::new(namespaces));
        let writer = WriterHandle::start(Recovery {
            cell: cell.clone(),
            namespaces: namespaces.clone(),
            fingerprint,
            batch_window: options.batch_window,
        })?;
        let layer = DiskLayer {
            cell,
            writer,
            master,
            namespaces,
            plain: options.plain,
            cursors: Cursors::default(),
            path,
            next_deadline: AtomicU64::new(u64::MAX),
            wakeup: tokio::sync::Notify::new(),
            creating: tokio::sync::Mutex::new(()),
        };
        Ok((Arc::new(layer), report))
    }
}

/// What the writer needs to reopen or replace the database on its own.
pub(crate) struct Recovery {
    /// The handle it swaps.
    pub(crate) cell: Arc<DbCell>,
    /// Every namespace's key generations (their salts go into a replacement file).
    pub(crate) namespaces: Arc<RwLock<HashMap<String, Arc<DiskNamespace>>>>,
    /// The master key's fingerprint (stored in a replacement file).
    pub(crate) fingerprint: String,
    /// Longest a batched write waits to be durable.
    pub(crate) batch_window: Duration,
}

enum Opened {
    Ready(Database, HashMap<String, Arc<DiskNamespace>>),
    /// Sealed under another master key (its fingerprint).
    OtherKey(String),
}

/// Opens the file, checks its master key and loads its namespaces; damage (an open redb
/// refuses, a damaged table) is [`DiskError::Corrupt`]. The caller contains panics.
fn try_open(
    path: &Path,
    cache_bytes: usize,
    master: &MasterKey,
    fingerprint: &str,
) -> Result<Opened, DiskError> {
    let db = reopen(path, cache_bytes)?;
    match stored_fingerprint(&db)? {
        Some(stored) if stored != fingerprint => return Ok(Opened::OtherKey(stored)),
        Some(_) => {}
        None => store_fingerprint(&db, fingerprint)?,
    }
    let namespaces = load_namespaces(&db, master)?;
    account_existing(&db, namespaces.keys())?;
    Ok(Opened::Ready(db, namespaces))
}

/// Opens the existing file (redb recovers an unclean one). Another process holding it and a
/// failing file are errors; anything else redb refuses is damage ([`DiskError::Corrupt`]).
pub(crate) fn reopen(path: &Path, cache_bytes: usize) -> Result<Database, DiskError> {
    match create(path, cache_bytes) {
        Ok(db) => Ok(db),
        Err(DatabaseError::DatabaseAlreadyOpen) => Err(DiskError::Storage(format!(
            "{} is already open in another process",
            path.display()
        ))),
        // redb reports a file that is not a database (bad magic, short header) as I/O
        // errors of kind `InvalidData` or `UnexpectedEof`: that is damage, the rest is a
        // failing file system (full, read-only, gone), which moving the file cannot help.
        Err(DatabaseError::Storage(redb::StorageError::Io(io)))
            if !matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(DiskError::redb("opening", redb::StorageError::Io(io)))
        }
        Err(DatabaseError::Storage(redb::StorageError::PreviousIo)) => {
            Err(DiskError::redb("opening", redb::StorageError::PreviousIo))
        }
        Err(err) => Err(DiskError::Corrupt(err.to_string())),
    }
}

/// Moves a damaged file aside and creates a fresh one holding the master key's fingerprint
/// and the key generations of `namespaces` (so the daemon's namespace keys stay valid).
pub(crate) fn replace_damaged(
    path: &Path,
    cache_bytes: usize,
    fingerprint: &str,
    namespaces: &HashMap<String, Arc<DiskNamespace>>,
) -> Result<(Database, PathBuf), DiskError> {
    let aside = move_aside(path, "damaged")?;
    Ok((fresh(path, cache_bytes, fingerprint, namespaces)?, aside))
}

/// A new database with the fingerprint and the salts of `namespaces`.
fn fresh(
    path: &Path,
    cache_bytes: usize,
    fingerprint: &str,
    namespaces: &HashMap<String, Arc<DiskNamespace>>,
) -> Result<Database, DiskError> {
    let db = create(path, cache_bytes).map_err(|e| DiskError::redb("creating", e))?;
    store_fingerprint(&db, fingerprint)?;
    let txn = db.begin_write().map_err(|e| DiskError::redb("writing keys", e))?;
    {
        let mut keys = txn.open_table(NS_KEYS).map_err(|e| DiskError::redb("writing keys", e))?;
        for (name, state) in namespaces {
            let salts = state.keys.read().unwrap_or_else(PoisonError::into_inner).salts();
            for (id, salt) in salts {
                keys.insert((name.as_str(), id), &salt[..])
                    .map_err(|e| DiskError::redb("writing keys", e))?;
            }
        }
    }
    txn.commit().map_err(|e| DiskError::redb("writing keys", e))?;
    Ok(db)
}

/// Puts the values of a file written before the disk layer kept byte totals into the
/// eviction order (in key order) and counts their bytes, once, so `max_bytes` holds for them.
fn account_existing<'a>(
    db: &Database,
    names: impl Iterator<Item = &'a String>,
) -> Result<(), DiskError> {
    let txn = db.begin_write().map_err(|e| DiskError::redb("accounting", e))?;
    {
        let mut accounting =
            txn.open_table(ACCOUNTING).map_err(|e| DiskError::redb("accounting", e))?;
        let mut seq = accounting
            .get("seq")
            .map_err(|e| DiskError::redb("accounting", e))?
            .map_or(0, |g| g.value());
        for ns in names {
            let key = bytes_key(ns);
            if accounting.get(key.as_str()).map_err(|e| DiskError::redb("accounting", e))?.is_some()
            {
                continue;
            }
            let data_name = data_table(ns);
            let (order_name, access_name) = (order_table(ns), access_table(ns));
            let data = txn
                .open_table(data_def(&data_name))
                .map_err(|e| DiskError::redb("accounting", e))?;
            let mut order = txn
                .open_table(order_def(&order_name))
                .map_err(|e| DiskError::redb("accounting", e))?;
            let mut access = txn
                .open_table(access_def(&access_name))
                .map_err(|e| DiskError::redb("accounting", e))?;
            let mut total = 0u64;
            for item in data.iter().map_err(|e| DiskError::redb("accounting", e))? {
                let (k, v) = item.map_err(|e| DiskError::redb("accounting", e))?;
                let bytes = charge(k.value(), v.value());
                seq += 1;
                order.insert((seq, k.value()), ()).map_err(|e| DiskError::redb("accounting", e))?;
                access
                    .insert(k.value(), (seq, bytes))
                    .map_err(|e| DiskError::redb("accounting", e))?;
                total += bytes;
            }
            accounting.insert(key.as_str(), total).map_err(|e| DiskError::redb("accounting", e))?;
        }
        accounting.insert("seq", seq).map_err(|e| DiskError::redb("accounting", e))?;
    }
    txn.commit().map_err(|e| DiskError::redb("accounting", e))
}

fn create(path: &Path, cache_bytes: usize) -> Result<Database, DatabaseError> {
    redb::Builder::new().set_cache_size(cache_bytes).create(path)
}

/// Renames a file we cannot use to `<file>.<why>-<unix ms>`, so an operator can recover it.
fn move_aside(path: &Path, why: &str) -> Result<PathBuf, DiskError> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".{why}-{}", unix_now_ms()));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)
        .map_err(|e| DiskError::Storage(format!("moving {} aside failed: {e}", path.display())))?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(aside)
}

fn stored_fingerprint(db: &Database) -> Result<Option<String>, DiskError> {
    let txn = db.begin_read().map_err(|e| DiskError::redb("reading meta", e))?;
    let meta = match txn.open_table(META) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(DiskError::redb("reading meta", e)),
    };
    let value = meta.get(FINGERPRINT).map_err(|e| DiskError::redb("reading meta", e))?;
    Ok(value.map(|v| String::from_utf8_lossy(v.value()).into_owned()))
}

fn store_fingerprint(db: &Database, fingerprint: &str) -> Result<(), DiskError> {
    let txn = db.begin_write().map_err(|e| DiskError::redb("writing meta", e))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| DiskError::redb("writing meta", e))?;
        meta.insert(FINGERPRINT, fingerprint.as_bytes())
            .map_err(|e| DiskError::redb("writing meta", e))?;
    }
    txn.commit().map_err(|e| DiskError::redb("writing meta", e))
}

fn load_namespaces(
    db: &Database,
    master: &MasterKey,
) -> Result<HashMap<String, Arc<DiskNamespace>>, DiskError> {
    let mut sets: HashMap<String, KeySet> = HashMap::new();
    let txn = db.begin_read().map_err(|e| DiskError::redb("loading keys", e))?;
    match txn.open_table(NS_KEYS) {
        Ok(table) => {
            for item in table.iter().map_err(|e| DiskError::redb("loading keys", e))? {
                let (id, salt) = item.map_err(|e| DiskError::redb("loading keys", e))?;
                let (ns, id) = id.value();
                sets.entry(ns.to_owned()).or_default().add(id, master, ns, salt.value());
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(DiskError::redb("loading keys", e)),
    }
    Ok(sets
        .into_iter()
        .map(|(name, keys)| {
            let ns = DiskNamespace::new(name.clone(), keys);
            (name, Arc::new(ns))
        })
        .collect())
}
