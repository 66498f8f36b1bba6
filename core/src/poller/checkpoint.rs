//! Checkpoint stores behind one trait: memory, JSON file (atomic), SQLite, and callbacks (so a
//! host application can save the checkpoint in its own database transaction), plus the lock
//! that admits one poller per (base URL, organization, office, stream).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::poller::state::PollerState;

/// A save under way ([`CheckpointStore::save_async`]).
pub type SaveFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// A load under way ([`CheckpointStore::load_async`]).
pub type LoadFuture = Pin<Box<dyn Future<Output = Result<Option<PollerState>>> + Send>>;

/// Where a poller's `save` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// On tokio's blocking pool: an fsync, a SQLite commit or a host's callback never stalls
    /// the other requests and pollers of the runtime (the default).
    Blocking,
    /// On the poller's own task: for stores that never block (memory).
    Inline,
}

/// Where a poller keeps its state. `key` identifies the poller:
/// `<base URL>|<organization>|<office>|<stream>`.
///
/// Pollers save through [`CheckpointStore::save_async`]: by default the blocking [`save`]
/// runs where [`CheckpointStore::save_mode`] says. A store with an async driver (a database
/// client) overrides `save_async` itself, and answers [`Error::Fenced`] when another process
/// owns the poller now; a store that commits several pollers' states in one transaction
/// overrides [`CheckpointStore::save_batch`].
///
/// [`save`]: CheckpointStore::save
pub trait CheckpointStore: Send + Sync + fmt::Debug + 'static {
    /// The saved state, or `None` when there is none yet.
    fn load(&self, key: &str) -> Result<Option<PollerState>>;
    /// Saves the state durably (blocking until it is).
    fn save(&self, key: &str, state: &PollerState) -> Result<()>;
    /// Saves the states of several pollers (a [`GroupCommit`] hands over whatever is queued)
    /// and returns once all are durable: one result per entry, in order. One entry's failure
    /// (say [`Error::Fenced`]: another process owns that poller now) must not undo the
    /// others: a store that commits the batch in one transaction checks each entry first, or
    /// reports the failed transaction for every entry. Default: one [`CheckpointStore::save`]
    /// after another.
    ///
    /// [`GroupCommit`]: crate::poller::GroupCommit
    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        batch
            .iter()
            .map(|(key, state)| self.save(key, state))
            .collect()
    }
    /// Where pollers run [`CheckpointStore::save`]. Default [`SaveMode::Blocking`].
    fn save_mode(&self) -> SaveMode {
        SaveMode::Blocking
    }
    /// Saves `state` under `key`, completing once it is durable. Default: [`save`] on the
    /// blocking pool, or on the calling task for [`SaveMode::Inline`] stores.
    ///
    /// [`save`]: CheckpointStore::save
    fn save_async(self: Arc<Self>, key: String, state: PollerState) -> SaveFuture {
        match self.save_mode() {
            SaveMode::Inline => {
                let result = self.save(&key, &state);
                Box::pin(std::future::ready(result))
            }
            SaveMode::Blocking => Box::pin(async move {
                tokio::task::spawn_blocking(move || self.save(&key, &state))
                    .await
                    .map_err(|e| Error::Checkpoint(format!("the checkpoint save failed: {e}")))?
            }),
        }
    }
    /// Loads the state of `key` for an async opener ([`crate::poller::Poller::open_async`]).
    /// Default: [`load`] where [`CheckpointStore::save_mode`] says saves run.
    ///
    /// [`load`]: CheckpointStore::load
    fn load_async(self: Arc<Self>, key: String) -> LoadFuture {
        match self.save_mode() {
            SaveMode::Inline => Box::pin(std::future::ready(self.load(&key))),
            SaveMode::Blocking => Box::pin(async move {
                tokio::task::spawn_blocking(move || self.load(&key))
                    .await
                    .map_err(|e| Error::Checkpoint(format!("the checkpoint load failed: {e}")))?
            }),
        }
    }
    /// A path whose OS lock guards this poller across processes, when the store is on disk.
    fn lock_path(&self, _key: &str) -> Option<PathBuf> {
        None
    }
    /// For a store that holds its pollers through a lease: the gate a poller opened on it
    /// adds to its client, so no SAFE request goes out once the lease may have lapsed.
    fn request_gate(&self) -> Option<crate::RequestGate> {
        None
    }
}

/// What [`CheckpointStore::save_batch`] answers when the batch failed as a whole (its
/// transaction did not commit): `e`'s message as a checkpoint error for each of `len` entries,
/// or [`Error::StoreUnavailable`] for each when the store could not be reached (transient:
/// the pollers back off and deliver their records again).
pub fn batch_failed(len: usize, e: Error) -> Vec<Result<()>> {
    let (message, unavailable) = match e {
        Error::Checkpoint(m) => (m, false),
        Error::StoreUnavailable(m) => (m, true),
        other => (other.to_string(), false),
    };
    (0..len)
        .map(|_| {
            Err(if unavailable {
                Error::StoreUnavailable(message.clone())
            } else {
                Error::Checkpoint(message.clone())
            })
        })
        .collect()
}

fn locks() -> &'static Mutex<HashSet<String>> {
    static LOCKS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    LOCKS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Holds the one-poller lock until dropped.
#[derive(Debug)]
pub struct CheckpointLock {
    key: String,
    _file: Option<File>,
}

impl CheckpointLock {
    /// Takes the lock of `key`: refused when another poller in this process, or (for stores on
    /// disk) in any process, holds it.
    pub fn acquire(store: &dyn CheckpointStore, key: &str) -> Result<CheckpointLock> {
        {
            let mut held = locks()
                .lock()
                .map_err(|_| Error::Checkpoint("lock registry poisoned".into()))?;
            if !held.insert(key.to_string()) {
                return Err(Error::Checkpoint(format!(
                    "another poller in this process already runs for {}",
                    describe(key)
                )));
            }
        }
        let file = match store.lock_path(key) {
            None => None,
            Some(path) => match lock_file(&path) {
                Ok(f) => Some(f),
                Err(e) => {
                    locks().lock().map(|mut h| h.remove(key)).ok();
                    return Err(e);
                }
            },
        };
        Ok(CheckpointLock {
            key: key.to_string(),
            _file: file,
        })
    }
}

impl Drop for CheckpointLock {
    fn drop(&mut self) {
        if let Ok(mut held) = locks().lock() {
            held.remove(&self.key);
        }
    }
}

/// The key without the base URL's query noise, for messages.
fn describe(key: &str) -> String {
    let parts: Vec<&str> = key.split('|').collect();
    match parts.as_slice() {
        [url, org, office, stream] => {
            format!("{url} organization {org} office {office} stream `{stream}`")
        }
        _ => key.to_string(),
    }
}

fn lock_file(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::Checkpoint(format!("cannot open lock file {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Checkpoint(format!(
            "another process holds the poller lock {}",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Checkpoint(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// A short stable hash of a key, for file names.
fn key_hash(key: &str) -> String {
    format!("{:016x}", super::stable_hash(key))
}

/// Keeps the state in memory only (tests, or hosts that persist elsewhere).
#[derive(Debug, Default)]
pub struct MemoryCheckpoint {
    states: Mutex<HashMap<String, PollerState>>,
}

impl MemoryCheckpoint {
    /// An empty store.
    pub fn new() -> MemoryCheckpoint {
        MemoryCheckpoint::default()
    }
}

impl CheckpointStore for MemoryCheckpoint {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        Ok(self
            .states
            .lock()
            .map_err(|_| poisoned())?
            .get(key)
            .cloned())
    }
    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        self.states
            .lock()
            .map_err(|_| poisoned())?
            .insert(key.to_string(), state.clone());
        Ok(())
    }
    fn save_mode(&self) -> SaveMode {
        SaveMode::Inline
    }
}

fn poisoned() -> Error {
    Error::Checkpoint("checkpoint store poisoned by an earlier panic".into())
}

/// A JSON file holding one poller's state, replaced atomically on every save (temporary file,
/// fsync, rename, fsync of the directory). The OS lock is `<path>.lock`.
#[derive(Debug, Clone)]
pub struct FileCheckpoint {
    path: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FileFormat {
    format: u32,
    key: String,
    state: serde_json::Value,
}

impl FileCheckpoint {
    /// A store at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> FileCheckpoint {
        FileCheckpoint { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl CheckpointStore for FileCheckpoint {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Checkpoint(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )));
            }
        };
        let file: FileFormat = serde_json::from_str(&text).map_err(|e| {
            Error::Checkpoint(format!(
                "{} is not a checkpoint file: {e}",
                self.path.display()
            ))
        })?;
        if file.format != 1 {
            return Err(Error::Checkpoint(format!(
                "{} has file format {}, this SDK reads 1",
                self.path.display(),
                file.format
            )));
        }
        if file.key != key {
            return Err(Error::Checkpoint(format!(
                "{} belongs to another poller ({}), not {}",
                self.path.display(),
                describe(&file.key),
                describe(key)
            )));
        }
        PollerState::from_json(&file.state.to_string()).map(Some)
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        let body = serde_json::to_vec_pretty(&FileFormat {
            format: 1,
            key: key.to_string(),
            state: serde_json::to_value(state).expect("state serialises"),
        })
        .expect("checkpoint serialises");
        let err = |what: &str, e: std::io::Error| {
            Error::Checkpoint(format!("cannot {what} {}: {e}", self.path.display()))
        };
        let tmp = self
            .path
            .with_extension(format!("tmp.{}", std::process::id()));
        {
            let mut f = File::create(&tmp).map_err(|e| err("create a temporary file beside", e))?;
            f.write_all(&body).map_err(|e| err("write", e))?;
            f.sync_all().map_err(|e| err("sync", e))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| err("replace", e))?;
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn lock_path(&self, _key: &str) -> Option<PathBuf> {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        Some(PathBuf::from(p))
    }
}

/// The schema component of [`SqliteCheckpoint`] (see [`crate::migrations`]).
const CHECKPOINT_COMPONENT: &str = "checkpoints";

/// The schema of [`SqliteCheckpoint`]; version 1 is the table as created before versioning.
const CHECKPOINT_MIGRATIONS: &[crate::migrations::Migration] = &[crate::migrations::Migration {
    version: 1,
    name: "safe_tracker_checkpoints",
    sql: "CREATE TABLE IF NOT EXISTS safe_tracker_checkpoints (
            stream_key TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            saved_at TEXT NOT NULL
          );",
}];

/// A SQLite database holding the states of any number of pollers (table
/// `safe_tracker_checkpoints`, versioned as component `checkpoints` with
/// [`crate::migrations`]), written with `synchronous=FULL`.
pub struct SqliteCheckpoint {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
    /// The lock on `<path>.fleet.lock`: shared by stores that lock each poller's key,
    /// exclusive for one that a fleet owns whole ([`SqliteCheckpoint::open_whole`]).
    _owner: File,
    /// Whether each poller takes its own lock file (false when the whole file is owned).
    per_key_locks: bool,
}

impl fmt::Debug for SqliteCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteCheckpoint")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteCheckpoint {
    /// Opens (or creates) the database at `path`; each poller using it takes a lock file of
    /// its own, so several processes may poll different agencies into it.
    pub fn open(path: impl Into<PathBuf>) -> Result<SqliteCheckpoint> {
        SqliteCheckpoint::open_with(path.into(), false)
    }

    /// Opens the database at `path` for one owner (a fleet of many tenants): one exclusive
    /// lock on `<path>.fleet.lock` instead of a lock file per poller, so ten thousand pollers
    /// hold one file descriptor. Refused while any other store has the file open, and the
    /// other way round.
    pub fn open_whole(path: impl Into<PathBuf>) -> Result<SqliteCheckpoint> {
        SqliteCheckpoint::open_with(path.into(), true)
    }

    fn open_with(path: PathBuf, whole: bool) -> Result<SqliteCheckpoint> {
        let owner = owner_lock(&path, whole)?;
        let mut conn = rusqlite::Connection::open(&path).map_err(|e| {
            Error::Checkpoint(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .and_then(|_| conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"))
            .map_err(|e| Error::Checkpoint(format!("cannot prepare {}: {e}", path.display())))?;
        crate::migrations::apply(&mut conn, CHECKPOINT_COMPONENT, CHECKPOINT_MIGRATIONS).map_err(
            |e| match e {
                Error::Checkpoint(m) => {
                    Error::Checkpoint(format!("cannot prepare {}: {m}", path.display()))
                }
                other => other,
            },
        )?;
        Ok(SqliteCheckpoint {
            path,
            conn: Mutex::new(conn),
            _owner: owner,
            per_key_locks: !whole,
        })
    }

    /// Saves `state` with an open connection or transaction (for hosts that write the item and
    /// the checkpoint in one transaction).
    pub fn save_with(conn: &rusqlite::Connection, key: &str, state: &PollerState) -> Result<()> {
        conn.execute(
            "INSERT INTO safe_tracker_checkpoints (stream_key, state, saved_at)
             VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ','now'))
             ON CONFLICT(stream_key) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at",
            rusqlite::params![key, state.to_json()],
        )
        .map_err(|e| Error::Checkpoint(format!("cannot save the checkpoint: {e}")))?;
        Ok(())
    }
}

impl CheckpointStore for SqliteCheckpoint {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        let conn = self.conn.lock().map_err(|_| poisoned())?;
        let text: Option<String> = conn
            .query_row(
                "SELECT state FROM safe_tracker_checkpoints WHERE stream_key = ?1",
                [key],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| Error::Checkpoint(format!("cannot read the checkpoint: {e}")))?;
        text.map(|t| PollerState::from_json(&t)).transpose()
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        let conn = self.conn.lock().map_err(|_| poisoned())?;
        SqliteCheckpoint::save_with(&conn, key, state)
    }

    /// One transaction (one `synchronous=FULL` commit) for the whole batch.
    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        let committed = (|| {
            let mut conn = self.conn.lock().map_err(|_| poisoned())?;
            let tx = conn
                .transaction()
                .map_err(|e| Error::Checkpoint(format!("cannot save the checkpoints: {e}")))?;
            for (key, state) in batch {
                SqliteCheckpoint::save_with(&tx, key, state)?;
            }
            tx.commit()
                .map_err(|e| Error::Checkpoint(format!("cannot save the checkpoints: {e}")))
        })();
        match committed {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            Err(e) => batch_failed(batch.len(), e),
        }
    }

    fn lock_path(&self, key: &str) -> Option<PathBuf> {
        if !self.per_key_locks {
            return None;
        }
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{}.lock", key_hash(key)));
        Some(PathBuf::from(p))
    }
}

/// The lock on `<path>.fleet.lock` a [`SqliteCheckpoint`] holds while open: exclusive when
/// one owner takes the whole file, shared otherwise.
fn owner_lock(path: &Path, exclusive: bool) -> Result<File> {
    let mut p = path.to_path_buf().into_os_string();
    p.push(".fleet.lock");
    let lock_path = PathBuf::from(p);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            Error::Checkpoint(format!(
                "cannot open lock file {}: {e}",
                lock_path.display()
            ))
        })?;
    let taken = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match taken {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) if exclusive => Err(Error::Checkpoint(format!(
            "{} is open elsewhere (another fleet, or a poller): a fleet owns its checkpoint \
             database whole",
            path.display()
        ))),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Checkpoint(format!(
            "{} belongs to a running fleet (it holds {}): give this poller another file",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Checkpoint(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}

/// Loads a saved state (as JSON text) for a key, or `None`.
pub type LoadFn = dyn Fn(&str) -> std::result::Result<Option<String>, String> + Send + Sync;
/// Saves a state (as JSON text) for a key.
pub type SaveFn = dyn Fn(&str, &str) -> std::result::Result<(), String> + Send + Sync;

/// A store that calls the host application: `load(key)` and `save(key, json)`, so the
/// checkpoint can live in the application's own database, in the same transaction as the item.
pub struct CallbackCheckpoint {
    load: Box<LoadFn>,
    save: Box<SaveFn>,
}

impl fmt::Debug for CallbackCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackCheckpoint")
    }
}

impl CallbackCheckpoint {
    /// A store from two callbacks; an `Err(message)` becomes [`Error::Checkpoint`].
    pub fn new(
        load: impl Fn(&str) -> std::result::Result<Option<String>, String> + Send + Sync + 'static,
        save: impl Fn(&str, &str) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> CallbackCheckpoint {
        CallbackCheckpoint {
            load: Box::new(load),
            save: Box::new(save),
        }
    }
}

impl CheckpointStore for CallbackCheckpoint {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        match (self.load)(key)
            .map_err(|m| Error::Checkpoint(format!("load callback failed: {m}")))?
        {
            Some(text) if !text.trim().is_empty() => PollerState::from_json(&text).map(Some),
            _ => Ok(None),
        }
    }
    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        (self.save)(key, &state.to_json())
            .map_err(|m| Error::Checkpoint(format!("save callback failed: {m}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(store: &dyn CheckpointStore) {
        let key = "https://x/api/|1|2|items";
        assert_eq!(store.load(key).unwrap(), None);
        let mut s = PollerState::new("items", 5);
        s.cursor = 42;
        store.save(key, &s).unwrap();
        assert_eq!(store.load(key).unwrap().unwrap().cursor, 42);
        s.cursor = 43;
        store.save(key, &s).unwrap();
        assert_eq!(store.load(key).unwrap().unwrap().cursor, 43);
    }

    #[test]
    fn every_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        roundtrip(&MemoryCheckpoint::new());
        roundtrip(&FileCheckpoint::new(dir.path().join("cp.json")));
        roundtrip(&SqliteCheckpoint::open(dir.path().join("cp.db")).unwrap());
        let cell = std::sync::Arc::new(Mutex::new(None::<String>));
        let (a, b) = (cell.clone(), cell.clone());
        roundtrip(&CallbackCheckpoint::new(
            move |_| Ok(a.lock().unwrap().clone()),
            move |_, s| {
                *b.lock().unwrap() = Some(s.to_string());
                Ok(())
            },
        ));
    }

    #[test]
    fn file_refuses_other_key_corruption_and_newer_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let f = FileCheckpoint::new(&path);
        f.save("a|1|1|items", &PollerState::new("items", 1))
            .unwrap();
        assert_eq!(
            f.load("b|1|1|items").unwrap_err().code(),
            crate::ErrorCode::Checkpoint
        );
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(
            f.load("a|1|1|items").unwrap_err().code(),
            crate::ErrorCode::Checkpoint
        );
        let mut s = PollerState::new("items", 1);
        s.version = 99;
        std::fs::write(
            &path,
            serde_json::json!({"format": 1, "key": "a|1|1|items", "state": s}).to_string(),
        )
        .unwrap();
        assert!(
            f.load("a|1|1|items")
                .unwrap_err()
                .to_string()
                .contains("newer")
        );
        // No temporary file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn lock_admits_one_poller() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpoint::new(dir.path().join("cp.json"));
        let key = "lock-test|1|1|items";
        let first = CheckpointLock::acquire(&store, key).unwrap();
        let err = CheckpointLock::acquire(&store, key).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Checkpoint);
        drop(first);
        CheckpointLock::acquire(&store, key).unwrap();
    }
}
