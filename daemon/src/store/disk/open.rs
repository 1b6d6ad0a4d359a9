//! Opening the database: wiping it for an ephemeral key, moving aside a file that cannot be
//! opened or was sealed under another master key (kept, never deleted), and loading every
//! namespace's key generations.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};

use super::apply::NS_KEYS;
use super::cursors::Cursors;
use super::writer::WriterHandle;
use super::{unix_now_ms, DiskCounters, DiskError, DiskLayer, DiskNamespace, KeySet};
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
        let mut db = match create(&path, options.cache_bytes) {
            Ok(db) => db,
            Err(DatabaseError::DatabaseAlreadyOpen) => {
                return Err(DiskError::Storage(format!(
                    "{} is already open in another process",
                    path.display()
                )))
            }
            Err(err) => {
                let aside = move_aside(&path, "damaged")?;
                report.notices.push(format!(
                    "the disk database {} could not be opened ({err}); it was moved aside to {} and a fresh one created",
                    path.display(),
                    aside.display()
                ));
                create(&path, options.cache_bytes).map_err(|e| DiskError::storage("creating", e))?
            }
        };
        let fingerprint = master.fingerprint();
        match stored_fingerprint(&db)? {
            Some(stored) if stored != fingerprint => {
                drop(db);
                let aside = move_aside(&path, "other-key")?;
                report.notices.push(format!(
                    "the disk database {} was sealed under another master key (fingerprint {stored}, this one is {fingerprint}); it was moved aside to {} and a fresh one created",
                    path.display(),
                    aside.display()
                ));
                db = create(&path, options.cache_bytes)
                    .map_err(|e| DiskError::storage("creating", e))?;
                store_fingerprint(&db, &fingerprint)?;
            }
            Some(_) => {}
            None => store_fingerprint(&db, &fingerprint)?,
        }
        for notice in &report.notices {
            tracing::warn!("{notice}");
        }
        let namespaces = load_namespaces(&db, &master)?;
        let db = Arc::new(db);
        let writer = WriterHandle::start(db.clone(), options.batch_window)?;
        let layer = DiskLayer {
            db,
            writer,
            master,
            namespaces: RwLock::new(namespaces),
            plain: options.plain,
            cursors: Cursors::default(),
            path,
            next_deadline: AtomicU64::new(u64::MAX),
            wakeup: tokio::sync::Notify::new(),
            creating: tokio::sync::Mutex::new(()),
        };
        Ok((Arc::new(layer), report))
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }
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
    let txn = db.begin_read().map_err(|e| DiskError::storage("reading meta", e))?;
    let meta = match txn.open_table(META) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(DiskError::storage("reading meta", e)),
    };
    let value = meta.get(FINGERPRINT).map_err(|e| DiskError::storage("reading meta", e))?;
    Ok(value.map(|v| String::from_utf8_lossy(v.value()).into_owned()))
}

fn store_fingerprint(db: &Database, fingerprint: &str) -> Result<(), DiskError> {
    let txn = db.begin_write().map_err(|e| DiskError::storage("writing meta", e))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| DiskError::storage("writing meta", e))?;
        meta.insert(FINGERPRINT, fingerprint.as_bytes())
            .map_err(|e| DiskError::storage("writing meta", e))?;
    }
    txn.commit().map_err(|e| DiskError::storage("writing meta", e))
}

fn load_namespaces(
    db: &Database,
    master: &MasterKey,
) -> Result<HashMap<String, Arc<DiskNamespace>>, DiskError> {
    let mut sets: HashMap<String, KeySet> = HashMap::new();
    let txn = db.begin_read().map_err(|e| DiskError::storage("loading keys", e))?;
    match txn.open_table(NS_KEYS) {
        Ok(table) => {
            for item in table.iter().map_err(|e| DiskError::storage("loading keys", e))? {
                let (id, salt) = item.map_err(|e| DiskError::storage("loading keys", e))?;
                let (ns, id) = id.value();
                sets.entry(ns.to_owned()).or_default().add(id, master, ns, salt.value());
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(DiskError::storage("loading keys", e)),
    }
    Ok(sets
        .into_iter()
        .map(|(name, keys)| {
            let ns = DiskNamespace {
                name: name.clone(),
                keys: RwLock::new(keys),
                counters: DiskCounters::default(),
                rotation: Mutex::new(None),
            };
            (name, Arc::new(ns))
        })
        .collect())
}
