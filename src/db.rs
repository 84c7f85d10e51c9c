//! The public face of the engine: [`Db`] opens (recovering), writes, reads,
//! takes snapshots, iterates, flushes, and closes. Each call hands over to
//! the file that owns its step of the data flow (`docs/architecture.md`).

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use strata_sstable::BlockCache;

use crate::directory::{self, lock_error};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::fs::{FileSystem, OsFs};
use crate::options::{Options, WriteOptions};
use crate::read::iterator::DbIterator;
use crate::read::key_range::{KeyRange, prefix_bounds};
use crate::read::snapshot::Snapshot;
use crate::read::snapshot_list::SnapshotList;
use crate::recovery::RecoveryReport;
use crate::recovery::{apply, plan};
use crate::state::Sources;
use crate::stats::{Counters, LevelSummary, Stats};
use crate::table::TableContext;
use crate::table_cache::OpenTables;
use crate::version::filename;
use crate::write::batch::WriteBatch;
use crate::write::queue::WriteQueue;

/// An embedded key-value store.
///
/// ```
/// use strata::{Db, Options, WriteBatch, WriteOptions};
///
/// let directory = tempfile::tempdir()?;
/// let db = Db::open(directory.path(), Options::default())?;
/// db.put(b"apple", b"red")?;
/// let mut batch = WriteBatch::new();
/// batch.put(b"banana", b"yellow").delete(b"apple");
/// db.write(batch, &WriteOptions::SYNC)?;
/// assert_eq!(db.get(b"apple")?, None);
/// assert_eq!(db.get(b"banana")?, Some(b"yellow".to_vec()));
/// let keys: Vec<Vec<u8>> = db.iter().map(|entry| entry.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(keys, vec![b"banana".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Db {
    engine: Arc<Engine>,
    /// The flush thread and the compaction thread.
    background: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("directory", &self.engine.directory)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (or creates) the database in `path` with the real file system,
    /// recovering its logs under `options.recovery_mode`.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        Db::open_with_fs(Arc::new(OsFs), path, options)
    }

    /// Opens the database through the given file system (tests use a
    /// simulated one that can crash). Options outside their documented
    /// ranges are an [`Error::InvalidArgument`] ([`Options::validate`]),
    /// before the directory is touched.
    pub fn open_with_fs(
        fs: Arc<dyn FileSystem>,
        path: impl AsRef<Path>,
        options: Options,
    ) -> Result<Db> {
        options.validate()?;
        let num_levels = options.num_levels;
        let directory = path.as_ref().to_path_buf();
        let lock = directory::lock(fs.as_ref(), &directory, &options)?;
        let (version, plan) = plan::plan_directory(fs.as_ref(), &directory, &options)?;
        let tables = Arc::new(TableContext {
            fs: Arc::clone(&fs),
            directory: directory.clone(),
            block_cache: BlockCache::new(options.block_cache_size),
            open_tables: OpenTables::new(options.max_open_files),
        });
        let opened = apply::apply(fs.as_ref(), &directory, &options, &tables, version, plan)?;
        let engine = Arc::new(Engine {
            directory,
            fs,
            options,
            _lock: lock,
            queue: Mutex::new(WriteQueue::default()),
            queue_changed: Condvar::new(),
            group_gathered: Condvar::new(),
            visible_sequence: AtomicU64::new(opened.report.last_sequence),
            snapshots: Arc::new(SnapshotList::default()),
            tables,
            published: Arc::clone(&opened.state.published),
            manifest: Mutex::new(opened.manifest),
            state: Mutex::new(opened.state),
            state_changed: Condvar::new(),
            log: Mutex::new(opened.log),
            report: opened.report,
            counters: Counters::new(num_levels),
        });
        let mut db = Db {
            engine,
            background: Vec::new(),
        };
        type Work = fn(&Engine);
        let threads: [(&str, Work); 2] = [
            ("strata-flush", Engine::flush_loop),
            ("strata-compaction", Engine::compaction_loop),
        ];
        for (name, work) in threads {
            let engine = Arc::clone(&db.engine);
            let handle = std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || work(&engine))
                .map_err(|source| Error::io(&db.engine.directory, "start a thread for", source))?;
            db.background.push(handle);
        }
        Ok(db)
    }

    /// What recovery would do to the database in `path` under
    /// `options.recovery_mode`, computed without changing anything on disk.
    /// Fails with the same error an open would.
    ///
    /// A dry run creates no file, not even `LOCK`: if `LOCK` exists it is
    /// locked for the duration (a database open elsewhere gives
    /// [`Error::Locked`]); if it does not, no process has the database open
    /// (every open creates it), and the dry run reads without a lock. A
    /// missing directory is [`Error::NotFound`].
    pub fn inspect_recovery(path: impl AsRef<Path>, options: &Options) -> Result<RecoveryReport> {
        Db::inspect_recovery_with_fs(&OsFs, path, options)
    }

    /// [`Db::inspect_recovery`] through the given file system.
    pub fn inspect_recovery_with_fs(
        fs: &dyn FileSystem,
        path: impl AsRef<Path>,
        options: &Options,
    ) -> Result<RecoveryReport> {
        options.validate()?;
        let directory = path.as_ref();
        if !fs.exists(directory) {
            return Err(Error::NotFound {
                path: directory.to_path_buf(),
            });
        }
        let lock_path = directory.join(filename::LOCK);
        let _lock = if fs.exists(&lock_path) {
            Some(
                fs.lock(&lock_path)
                    .map_err(|source| lock_error(&lock_path, source))?,
            )
        } else {
            None
        };
        let options = Options {
            create_if_missing: false,
            error_if_exists: false,
            ..options.clone()
        };
        Ok(plan::plan_directory(fs, directory, &options)?.1.report)
    }

    /// What the recovery of this open did.
    #[must_use]
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.engine.report
    }

    /// Sets `key` to `value` (not synced; see [`Db::write`]). Keys and
    /// values are anything that is bytes: `b"k"`, `"k"`, a `Vec<u8>`, ...
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        // One allocation: a tag and two lengths of at most five bytes.
        let mut batch = WriteBatch::with_capacity(key.len() + value.len() + 11);
        batch.put(key, value);
        self.write(batch, &WriteOptions::default())
    }

    /// Removes `key` (not synced; see [`Db::write`]).
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.write(batch, &WriteOptions::default())
    }

    /// Applies `batch` atomically. With `options.sync`, returns only once the
    /// batch is durable; otherwise it survives a process crash but may be
    /// lost with the machine.
    pub fn write(&self, batch: WriteBatch, options: &WriteOptions) -> Result<()> {
        batch.check_valid()?;
        if batch.is_empty() {
            return Ok(());
        }
        self.engine.write(batch, options.sync)
    }

    /// The value of `key` in the latest state.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let (sequence, sources) = self.engine.latest();
        self.engine.get(&sources, key.as_ref(), sequence)
    }

    /// The value of `key` as of `snapshot`, which must come from this
    /// database ([`Error::InvalidArgument`] otherwise).
    pub fn get_at(&self, key: impl AsRef<[u8]>, snapshot: &Snapshot) -> Result<Option<Vec<u8>>> {
        self.check_snapshot(snapshot)?;
        // The registered snapshot keeps compaction from dropping what it sees.
        self.engine
            .get(&self.engine.sources(), key.as_ref(), snapshot.sequence())
    }

    /// A snapshot of the current state. Reads through it
    /// ([`Snapshot::get`], [`Snapshot::iter`], [`Snapshot::range`],
    /// [`Snapshot::prefix`], or [`Db::get_at`] and [`Db::range_at`]) keep
    /// seeing this state, whatever is written, flushed or compacted later,
    /// for as long as this `Db` is open.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::take(&self.engine.snapshots, Arc::downgrade(&self.engine), || {
            self.engine.visible()
        })
    }

    /// All keys and values in key order, as of now.
    #[must_use]
    pub fn iter(&self) -> DbIterator {
        self.range(..)
    }

    /// The keys in `range` and their values, in key order, as of now.
    ///
    /// The iterator holds the memtables and tables it reads, so later
    /// writes, flushes and compactions do not change what it returns.
    ///
    /// ```
    /// use std::ops::Bound;
    /// use strata::{Db, Options};
    ///
    /// let directory = tempfile::tempdir()?;
    /// let db = Db::open(directory.path(), Options::default())?;
    /// for key in ["a", "b", "bb", "c"] {
    ///     db.put(key, "value")?;
    /// }
    /// let keys = |iterator: strata::DbIterator| -> strata::Result<Vec<Vec<u8>>> {
    ///     iterator.map(|entry| entry.map(|(key, _)| key)).collect()
    /// };
    /// assert_eq!(keys(db.range(b"b"..b"c"))?, [b"b".to_vec(), b"bb".to_vec()]);
    /// assert_eq!(keys(db.range("a".."bb"))?.len(), 2);
    /// // Arrays of two lengths are two types: borrow the first as a slice.
    /// assert_eq!(keys(db.range(&b"a"[..]..b"bb"))?.len(), 2);
    /// assert_eq!(keys(db.range(b"bb"..))?.len(), 2);
    /// assert_eq!(keys(db.range(..=b"b"))?.len(), 2);
    /// assert_eq!(keys(db.range((Bound::Excluded("a"), Bound::Unbounded)))?.len(), 3);
    /// assert_eq!(keys(db.range(..))?.len(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range<K, R: KeyRange<K>>(&self, range: R) -> DbIterator {
        let (sequence, sources) = self.engine.latest();
        iterate(range, sequence, sources)
    }

    /// The keys in `range` and their values, in key order, as of `snapshot`
    /// (which must come from this database: otherwise the iterator yields
    /// one [`Error::InvalidArgument`]).
    pub fn range_at<K, R: KeyRange<K>>(&self, range: R, snapshot: &Snapshot) -> DbIterator {
        match self.check_snapshot(snapshot) {
            Ok(()) => iterate(range, snapshot.sequence(), self.engine.sources()),
            Err(error) => DbIterator::failed(error),
        }
    }

    /// The keys that start with `prefix` and their values, in key order,
    /// as of now (reversible, like every [`DbIterator`]).
    ///
    /// ```
    /// use strata::{Db, Options};
    ///
    /// let directory = tempfile::tempdir()?;
    /// let db = Db::open(directory.path(), Options::default())?;
    /// for key in ["user/1", "user/2", "users", "vote"] {
    ///     db.put(key, "")?;
    /// }
    /// let users: Vec<Vec<u8>> = db
    ///     .prefix("user/")
    ///     .rev()
    ///     .map(|entry| entry.map(|(key, _)| key))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(users, [b"user/2".to_vec(), b"user/1".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> DbIterator {
        self.range(prefix_bounds(prefix.as_ref()))
    }

    /// The keys that start with `prefix` as of `snapshot` (see
    /// [`Db::range_at`]).
    pub fn prefix_at(&self, prefix: impl AsRef<[u8]>, snapshot: &Snapshot) -> DbIterator {
        self.range_at(prefix_bounds(prefix.as_ref()), snapshot)
    }

    /// Writes the current memtable to a table and waits until every full
    /// memtable is flushed and the compactions that made necessary are
    /// done.
    pub fn flush(&self) -> Result<()> {
        self.engine.flush()
    }

    /// Compacts every table holding keys in `range` down to the deepest
    /// level that holds data, dropping the versions no snapshot can see and
    /// deletions with nothing beneath (RocksDB's `compact_range`). Unflushed
    /// writes stay in the memtable; call [`Db::flush`] first to include
    /// them.
    ///
    /// ```
    /// use strata::{Db, Options};
    ///
    /// let directory = tempfile::tempdir()?;
    /// let db = Db::open(directory.path(), Options::default())?;
    /// db.put(b"a", b"1")?;
    /// db.delete(b"a")?;
    /// db.flush()?;
    /// db.compact_range(..)?;
    /// assert_eq!(db.get(b"a")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compact_range<K, R: KeyRange<K>>(&self, range: R) -> Result<()> {
        let (start, end) = range.into_key_bounds();
        let smallest = match start {
            Bound::Included(key) | Bound::Excluded(key) => key,
            Bound::Unbounded => Vec::new(),
        };
        let largest = match end {
            Bound::Included(key) | Bound::Excluded(key) => Some(key),
            Bound::Unbounded => None,
        };
        self.engine.compact_range(&smallest, largest.as_deref())
    }

    /// Counters of what the engine did since open.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.engine.stats()
    }

    /// The tables per level right now.
    #[must_use]
    pub fn levels(&self) -> Vec<LevelSummary> {
        self.engine.level_summaries()
    }

    /// Waits until the background threads are idle: no memtable waiting for
    /// its flush, no compaction running or needed.
    pub fn wait_for_background_idle(&self) -> Result<()> {
        self.engine.wait_for_background_idle()
    }

    /// Makes every write acknowledged so far durable (one fsync of the
    /// live log; the first sync of a new log also syncs the directory and
    /// lists the log in the MANIFEST), as if each had been written with
    /// [`WriteOptions::SYNC`]: many unsynced writes followed by one
    /// `sync_wal` cost one fsync. A failure poisons the database, like a
    /// failed synced write.
    pub fn sync_wal(&self) -> Result<()> {
        self.engine.sync_wal()
    }

    /// Closes the database: stops the background thread once it has flushed
    /// the full memtables, syncs the log (so unsynced writes survive a power
    /// cut), and releases the `LOCK`. Returns the first error: the one that
    /// poisoned the database (as [`Error::Poisoned`]), else the sync's.
    /// Dropping a `Db` does the same and ignores the errors.
    ///
    /// ```
    /// use strata::{Db, Options};
    ///
    /// let directory = tempfile::tempdir()?;
    /// let db = Db::open(directory.path(), Options::default())?;
    /// db.put("key", "value")?;
    /// db.close()?;
    /// let db = Db::open(directory.path(), Options::default())?;
    /// assert_eq!(db.get("key")?, Some(b"value".to_vec()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(mut self) -> Result<()> {
        self.shut_down(true)
    }

    /// Stops the background threads and syncs the log, once. A panic of a
    /// background thread is a bug: `close` passes it on, `Drop` does not.
    fn shut_down(&mut self, resume_panic: bool) -> Result<()> {
        if self.background.is_empty() {
            return Ok(());
        }
        {
            let mut state = self.engine.state.lock();
            state.shutting_down = true;
            self.engine.state_changed.notify_all();
        }
        for thread in self.background.drain(..) {
            if let Err(panic) = thread.join()
                && resume_panic
            {
                std::panic::resume_unwind(panic);
            }
        }
        let healthy = self.engine.state.lock().check_healthy();
        // Synced even when poisoned: the log may hold acknowledged writes
        // that a flush failure did not affect.
        let synced = self.engine.make_live_log_durable();
        healthy.and(synced)
    }

    /// The directory of the database.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.engine.directory
    }

    fn check_snapshot(&self, snapshot: &Snapshot) -> Result<()> {
        if snapshot.belongs_to(&self.engine.snapshots) {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "the snapshot at sequence {} was taken from another database handle, not from {}",
            snapshot.sequence(),
            self.engine.directory.display()
        )))
    }
}

fn iterate<K, R: KeyRange<K>>(range: R, sequence: u64, sources: Arc<Sources>) -> DbIterator {
    let (start, end) = range.into_key_bounds();
    DbIterator::new(sources, sequence, start, end)
}

impl Drop for Db {
    fn drop(&mut self) {
        // Nobody to report to; the next open's recovery handles the tail.
        let _ = self.shut_down(false);
    }
}
