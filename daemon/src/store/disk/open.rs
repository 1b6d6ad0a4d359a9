//! Opening the database: wiping it for an ephemeral key, moving aside a file that cannot be
//! opened or was sealed under another master key (kept, never deleted), dropping a file of
//! an older format (it held names in the clear; being a cache, it is not converted), and
//! loading every namespace's name and key generations.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition, TableHandle,
};

use super::apply::{
    access_def, bytes_key, charge, data_def, order_def, ACCOUNTING, NS_KEYS, NS_NAMES,
};
use super::cell::{panic_message, DbCell};
use super::cursors::Cursors;
use super::names::DiskNames;
use super::writer::WriterHandle;
use super::{
    access_table, data_table, order_table, unix_now_ms, DiskError, DiskLayer, DiskNamespace, KeySet,
};
use crate::keys::MasterKey;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const FINGERPRINT: &str = "master_fingerprint";
/// The `meta` entry holding the layout version.
const FORMAT: &str = "format";
/// The layout this daemon writes: 2 = names stored as keyed hashes, key names sealed inside
/// records (1, unmarked, stored them in the clear).
pub(crate) const FORMAT_VERSION: &[u8] = b"2";

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
        let names = Arc::new(DiskNames::new(&master));
        let attempt = catch_unwind(AssertUnwindSafe(|| {
            try_open(&path, cache_bytes, &master, &names, &fingerprint)
        }))
        .unwrap_or_else(|panic| Err(DiskError::Corrupt(panic_message(panic.as_ref()))));
        let (db, namespaces) = match attempt {
            Ok(Opened::Ready(db, namespaces)) => (db, namespaces),
            Ok(Opened::OldFormat) => {
                // It stored namespace and key names in the clear: delete it rather than keep
                // a copy aside. It is a cache; only this file goes.
                std::fs::remove_file(&path)
                    .map_err(|e| DiskError::storage("dropping the old-format disk cache", e))?;
                sync_parent(&path);
                report.notices.push(format!(
                    "the disk cache {} was in an older on-disk format (names in the clear); being a cache, it was dropped and a fresh one created: its values are gone, nothing else was touched",
                    path.display()
                ));
                (fresh(&path, cache_bytes, &fingerprint, &HashMap::new())?, HashMap::new())
            }
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
            names,
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
    /// Written in an older layout (see [`FORMAT_VERSION`]).
    OldFormat,
    /// Sealed under another master key (its fingerprint).
    OtherKey(String),
}

/// Opens the file, checks its master key and loads its namespaces; damage (an open redb
/// refuses, a damaged table) is [`DiskError::Corrupt`]. The caller contains panics.
fn try_open(
    path: &Path,
    cache_bytes: usize,
    master: &MasterKey,
    names: &DiskNames,
    fingerprint: &str,
) -> Result<Opened, DiskError> {
    let db = reopen(path, cache_bytes)?;
    let stored = read_meta(&db, FINGERPRINT)?;
    if let Some(stored) = stored.as_ref().filter(|s| *s != fingerprint.as_bytes()) {
        return Ok(Opened::OtherKey(String::from_utf8_lossy(stored).into_owned()));
    }
    let format = read_meta(&db, FORMAT)?;
    if format.as_deref() != Some(FORMAT_VERSION) {
        if holds_tables(&db)? {
            return Ok(Opened::OldFormat);
        }
        store_meta(&db, fingerprint)?;
    }
    let namespaces = load_namespaces(&db, master, names)?;
    account_existing(&db, namespaces.values())?;
    Ok(Opened::Ready(db, namespaces))
}

/// Whether the file holds any table but `meta` (a new, empty file does not).
fn holds_tables(db: &Database) -> Result<bool, DiskError> {
    let txn = db.begin_read().map_err(|e| DiskError::redb("listing tables", e))?;
    let mut tables = txn.list_tables().map_err(|e| DiskError::redb("listing tables", e))?;
    Ok(tables.any(|table| table.name() != META.name()))
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
    store_meta(&db, fingerprint)?;
    let txn = db.begin_write().map_err(|e| DiskError::redb("writing keys", e))?;
    {
        let mut keys = txn.open_table(NS_KEYS).map_err(|e| DiskError::redb("writing keys", e))?;
        let mut names = txn.open_table(NS_NAMES).map_err(|e| DiskError::redb("writing keys", e))?;
        for state in namespaces.values() {
            names
                .insert(state.tag(), state.sealed_name())
                .map_err(|e| DiskError::redb("writing keys", e))?;
            let salts = state.keys.read().unwrap_or_else(PoisonError::into_inner).salts();
            for (id, salt) in salts {
                keys.insert((state.tag(), id), &salt[..])
                    .map_err(|e| DiskError::redb("writing keys", e))?;
            }
        }
    }
    txn.commit().map_err(|e| DiskError::redb("writing keys", e))?;
    Ok(db)
}

/// Gives every namespace without a byte total yet (its key was made, nothing written before
/// a stop) its order, access table and a total counted from what it holds, once, so
/// `max_bytes` holds for it.
fn account_existing<'a>(
    db: &Database,
    states: impl Iterator<Item = &'a Arc<DiskNamespace>>,
) -> Result<(), DiskError> {
    let txn = db.begin_write().map_err(|e| DiskError::redb("accounting", e))?;
    {
        let mut accounting =
            txn.open_table(ACCOUNTING).map_err(|e| DiskError::redb("accounting", e))?;
        let mut seq = accounting
            .get("seq")
            .map_err(|e| DiskError::redb("accounting", e))?
            .map_or(0, |g| g.value());
        for state in states {
            let ns = state.tag();
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
                let bytes = charge(v.value());
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
    sync_parent(path);
    Ok(aside)
}

/// Makes a rename or removal in `path`'s directory durable (best effort).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
}

fn read_meta(db: &Database, entry: &str) -> Result<Option<Vec<u8>>, DiskError> {
    let txn = db.begin_read().map_err(|e| DiskError::redb("reading meta", e))?;
    let meta = match txn.open_table(META) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(DiskError::redb("reading meta", e)),
    };
    let value = meta.get(entry).map_err(|e| DiskError::redb("reading meta", e))?;
    Ok(value.map(|v| v.value().to_vec()))
}

/// Records the master key's fingerprint and the layout version.
fn store_meta(db: &Database, fingerprint: &str) -> Result<(), DiskError> {
    let txn = db.begin_write().map_err(|e| DiskError::redb("writing meta", e))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| DiskError::redb("writing meta", e))?;
        meta.insert(FINGERPRINT, fingerprint.as_bytes())
            .map_err(|e| DiskError::redb("writing meta", e))?;
        meta.insert(FORMAT, FORMAT_VERSION).map_err(|e| DiskError::redb("writing meta", e))?;
    }
    txn.commit().map_err(|e| DiskError::redb("writing meta", e))
}

/// Every namespace with disk state: names opened from `ns_names`, key generations from
/// `ns_keys`. A name that does not open is damage (the master key matched the file).
fn load_namespaces(
    db: &Database,
    master: &MasterKey,
    names: &DiskNames,
) -> Result<HashMap<String, Arc<DiskNamespace>>, DiskError> {
    let txn = db.begin_read().map_err(|e| DiskError::redb("loading keys", e))?;
    let mut by_tag: HashMap<String, String> = HashMap::new();
    match txn.open_table(NS_NAMES) {
        Ok(table) => {
            for item in table.iter().map_err(|e| DiskError::redb("loading names", e))? {
                let (tag, sealed) = item.map_err(|e| DiskError::redb("loading names", e))?;
                let tag = tag.value();
                let name = names.open_namespace(tag, sealed.value()).ok_or_else(|| {
                    DiskError::Corrupt(format!("the name of namespace tag {tag} does not open"))
                })?;
                by_tag.insert(tag.to_owned(), name);
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(DiskError::redb("loading names", e)),
    }
    let mut sets: HashMap<String, KeySet> = HashMap::new();
    match txn.open_table(NS_KEYS) {
        Ok(table) => {
            for item in table.iter().map_err(|e| DiskError::redb("loading keys", e))? {
                let (id, salt) = item.map_err(|e| DiskError::redb("loading keys", e))?;
                let (tag, id) = id.value();
                let ns = by_tag.get(tag).ok_or_else(|| {
                    DiskError::Corrupt(format!("namespace tag {tag} has keys but no name"))
                })?;
                sets.entry(ns.clone()).or_default().add(id, master, ns, salt.value());
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(DiskError::redb("loading keys", e)),
    }
    Ok(sets
        .into_iter()
        .map(|(name, keys)| {
            let ns = DiskNamespace::new(name.clone(), keys, names);
            (name, Arc::new(ns))
        })
        .collect())
}
