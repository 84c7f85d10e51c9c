//! The database: open and recovery, the group-commit write path, reads at a
//! sequence number, and the background flush of full memtables.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use strata_sstable::BlockCache;
use strata_wal::batch::{BatchBuilder, DecodedBatch, Operation};
use strata_wal::{Checksum, Writer, WriterOptions};

use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::filename::{self, FileKind};
use crate::fs::{FileLock, FileSystem, OsFs, WritableFile};
use crate::iterator::DbIterator;
use crate::key::Kind;
use crate::manifest::{self, TableMeta, VersionEdit, VersionState};
use crate::memtable::{Lookup, MemTable};
use crate::options::{Options, WriteOptions};
use crate::recovery::{self, DropReason, DroppedRegion, Plan, RecoveryReport};
use crate::snapshot::{Snapshot, SnapshotList};
use crate::table::{self, TableHandle};

/// A group of writes never grows past this many bytes of batches.
const MAX_GROUP_BYTES: usize = 1 << 20;

type LogWriter = Writer<Box<dyn WritableFile>>;

/// What a read consults, newest first within each kind: the memtable, the
/// immutable memtables (oldest first), the tables (oldest first).
type Sources = (
    Arc<MemTable>,
    Vec<Arc<MemTable>>,
    Arc<Vec<Arc<TableHandle>>>,
);

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
    inner: Arc<Inner>,
    flusher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("directory", &self.inner.directory)
            .finish_non_exhaustive()
    }
}

struct Inner {
    directory: PathBuf,
    fs: Arc<dyn FileSystem>,
    options: Options,
    _lock: Box<dyn FileLock>,
    queue: Mutex<WriteQueue>,
    queue_changed: Condvar,
    state: Mutex<State>,
    state_changed: Condvar,
    log: Mutex<LogState>,
    /// The last sequence whose writes are all in the memtable.
    visible_sequence: AtomicU64,
    snapshots: Arc<SnapshotList>,
    /// Data blocks of all tables, shared.
    block_cache: Arc<BlockCache>,
    report: RecoveryReport,
}

#[derive(Default)]
struct WriteQueue {
    next_id: u64,
    waiting: VecDeque<PendingWrite>,
    leader_active: bool,
    finished: HashMap<u64, std::result::Result<(), String>>,
}

struct PendingWrite {
    id: u64,
    batch: WriteBatch,
    sync: bool,
}

struct State {
    mem: Arc<MemTable>,
    /// Full memtables waiting for their flush, oldest first.
    immutable: Vec<Arc<MemTable>>,
    tables: Arc<Vec<Arc<TableHandle>>>,
    version: VersionState,
    manifest: LogWriter,
    last_sequence: u64,
    poisoned: Option<String>,
    shutting_down: bool,
    /// The flush thread is merging tables (see `Inner::maybe_compact`).
    compacting: bool,
}

struct LogState {
    writer: LogWriter,
    number: u64,
}

impl Db {
    /// Opens (or creates) the database in `path` with the real file system,
    /// recovering its logs under `options.recovery_mode`.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        Db::open_with_fs(Arc::new(OsFs), path, options)
    }

    /// Opens the database through the given file system (tests use
    /// [`crate::fs::SimFs`]).
    pub fn open_with_fs(
        fs: Arc<dyn FileSystem>,
        path: impl AsRef<Path>,
        options: Options,
    ) -> Result<Db> {
        let directory = path.as_ref().to_path_buf();
        let lock = lock_directory(fs.as_ref(), &directory, &options)?;
        let (state, plan) = plan_recovery(fs.as_ref(), &directory, &options)?;
        let block_cache = BlockCache::new(options.block_cache_size);
        let opened = apply_plan(fs.as_ref(), &directory, &options, &block_cache, state, plan)?;
        let inner = Arc::new(Inner {
            directory,
            fs,
            options,
            _lock: lock,
            queue: Mutex::new(WriteQueue::default()),
            queue_changed: Condvar::new(),
            visible_sequence: AtomicU64::new(opened.state.last_sequence),
            snapshots: Arc::new(SnapshotList::default()),
            block_cache,
            state: Mutex::new(opened.state),
            state_changed: Condvar::new(),
            log: Mutex::new(opened.log),
            report: opened.report,
        });
        let background = Arc::clone(&inner);
        let flusher = std::thread::Builder::new()
            .name("strata-flush".to_owned())
            .spawn(move || background.flush_loop())
            .map_err(|source| Error::io(&inner.directory, "start the flush thread for", source))?;
        Ok(Db {
            inner,
            flusher: Some(flusher),
        })
    }

    /// What recovery would do to the database in `path` under
    /// `options.recovery_mode`, computed without changing anything on disk.
    /// Fails with the same error an open would.
    pub fn inspect_recovery(path: impl AsRef<Path>, options: &Options) -> Result<RecoveryReport> {
        Db::inspect_recovery_with_fs(&OsFs, path, options)
    }

    /// [`Db::inspect_recovery`] through the given file system.
    pub fn inspect_recovery_with_fs(
        fs: &dyn FileSystem,
        path: impl AsRef<Path>,
        options: &Options,
    ) -> Result<RecoveryReport> {
        let directory = path.as_ref();
        let lock_path = directory.join(filename::LOCK);
        let _lock = fs
            .lock(&lock_path)
            .map_err(|source| lock_error(&lock_path, source))?;
        let options = Options {
            create_if_missing: false,
            error_if_exists: false,
            ..options.clone()
        };
        Ok(plan_recovery(fs, directory, &options)?.1.report)
    }

    /// What the recovery of this open did.
    #[must_use]
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// Sets `key` to `value` (not synced; see [`Db::write`]).
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(key, value);
        self.write(batch, &WriteOptions::default())
    }

    /// Removes `key` (not synced; see [`Db::write`]).
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.write(batch, &WriteOptions::default())
    }

    /// Applies `batch` atomically. With `options.sync`, returns only once the
    /// batch is durable; otherwise it survives a process crash but may be
    /// lost with the machine.
    pub fn write(&self, batch: WriteBatch, options: &WriteOptions) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.inner.write(batch, options.sync)
    }

    /// The value of `key` in the latest state.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (sequence, sources) = self.inner.latest();
        self.inner.get(sources, key, sequence)
    }

    /// The value of `key` as of `snapshot`.
    pub fn get_at(&self, key: &[u8], snapshot: &Snapshot) -> Result<Option<Vec<u8>>> {
        // The registered snapshot keeps compaction from dropping what it sees.
        self.inner
            .get(self.inner.sources(), key, snapshot.sequence())
    }

    /// A snapshot of the current state. Reads through it keep seeing this
    /// state, whatever is written, flushed or compacted later.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        self.inner.snapshots.take(|| self.inner.visible())
    }

    /// All keys and values in key order, as of now.
    #[must_use]
    pub fn iter(&self) -> DbIterator {
        self.range::<&[u8], _>(..)
    }

    /// The keys in `range` and their values, in key order, as of now.
    ///
    /// The iterator holds the memtables and tables it reads, so later
    /// writes, flushes and compactions do not change what it returns.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> DbIterator {
        let (sequence, sources) = self.inner.latest();
        self.range_at_sequence(range, sequence, sources)
    }

    /// The keys in `range` and their values, in key order, as of `snapshot`.
    pub fn range_at<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        snapshot: &Snapshot,
    ) -> DbIterator {
        self.range_at_sequence(range, snapshot.sequence(), self.inner.sources())
    }

    fn range_at_sequence<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        sequence: u64,
        sources: Sources,
    ) -> DbIterator {
        let owned = |bound: Bound<&K>| match bound {
            Bound::Included(key) => Bound::Included(key.as_ref().to_vec()),
            Bound::Excluded(key) => Bound::Excluded(key.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (mem, immutable, tables) = sources;
        DbIterator::new(
            mem,
            immutable,
            tables,
            sequence,
            owned(range.start_bound()),
            owned(range.end_bound()),
        )
    }

    /// Writes the current memtable to a table and waits until every full
    /// memtable is flushed.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    /// The directory of the database.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.directory
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        {
            let mut state = self.inner.state.lock();
            state.shutting_down = true;
            self.inner.state_changed.notify_all();
        }
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        // Make unsynced writes durable on an orderly close. A failure here has
        // no caller to report to; the next open's recovery handles the tail.
        let _ = self.inner.log.lock().writer.sync();
    }
}

fn lock_error(path: &Path, source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::WouldBlock {
        Error::Locked {
            path: path.to_path_buf(),
        }
    } else {
        Error::io(path, "lock", source)
    }
}

fn lock_directory(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
) -> Result<Box<dyn FileLock>> {
    if !fs.exists(directory) {
        if !options.create_if_missing {
            return Err(Error::NotFound {
                path: directory.to_path_buf(),
            });
        }
        fs.create_dir_all(directory)
            .map_err(|source| Error::io(directory, "create directory", source))?;
    }
    let lock_path = directory.join(filename::LOCK);
    fs.lock(&lock_path)
        .map_err(|source| lock_error(&lock_path, source))
}

/// The recovery plan for a directory: its MANIFEST's state and the
/// read-only pass over its logs, with a torn MANIFEST tail (if any) listed
/// first among the dropped regions so that it is quarantined too.
fn plan_recovery(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
) -> Result<(VersionState, Plan)> {
    let (state, torn_manifest) = read_state(fs, directory, options)?;
    let mut plan = recovery::plan(
        fs,
        directory,
        &state,
        options.recovery_mode,
        Checksum::Crc32,
    )?;
    if let Some(region) = torn_manifest {
        plan.report.dropped.insert(0, region);
    }
    Ok((state, plan))
}

/// Reads CURRENT and the MANIFEST it names (a fresh state if there is
/// none), and the MANIFEST's torn tail as a dropped region.
fn read_state(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
) -> Result<(VersionState, Option<DroppedRegion>)> {
    let current = directory.join(filename::CURRENT);
    if !fs.exists(&current) {
        if !options.create_if_missing {
            return Err(Error::NotFound {
                path: directory.to_path_buf(),
            });
        }
        let state = VersionState {
            next_file_number: 1,
            ..VersionState::default()
        };
        return Ok((state, None));
    }
    if options.error_if_exists {
        return Err(Error::AlreadyExists {
            path: directory.to_path_buf(),
        });
    }
    let read = |path: &Path| -> Result<Vec<u8>> {
        fs.open_read(path)
            .and_then(|file| file.read_all())
            .map_err(|source| Error::io(path, "read", source))
    };
    let name_bytes = read(&current)?;
    let name = std::str::from_utf8(&name_bytes)
        .ok()
        .and_then(|text| text.strip_suffix('\n'))
        .filter(|name| matches!(filename::parse(name), Some(FileKind::Manifest(_))))
        .ok_or_else(|| Error::Corruption {
            path: current.clone(),
            offset: 0,
            reason: "CURRENT does not name a MANIFEST".to_owned(),
        })?;
    let manifest_path = directory.join(name);
    let contents = manifest::read(&manifest_path, &read(&manifest_path)?)?;
    let torn = contents.torn_tail.map(|problem| DroppedRegion {
        file: manifest_path,
        offset: problem.offset,
        length: problem.length,
        truncation: problem.kind.is_truncation(),
        reason: DropReason::Problem(problem.kind),
    });
    Ok((contents.state, torn))
}

struct Opened {
    state: State,
    log: LogState,
    report: RecoveryReport,
}

fn sync_dir(fs: &dyn FileSystem, directory: &Path) -> Result<()> {
    fs.sync_dir(directory)
        .map_err(|source| Error::io(directory, "sync directory", source))
}

/// Applies a recovery plan: quarantine, flush of the recovered writes, a new
/// log with a marker batch, a new MANIFEST, and removal of what is obsolete.
/// Every step is ordered so that a crash at any point recovers the same state.
fn apply_plan(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
    cache: &Arc<BlockCache>,
    mut version: VersionState,
    plan: Plan,
) -> Result<Opened> {
    let Plan {
        batches,
        mut report,
    } = plan;
    report.dry_run = false;
    report.quarantined = quarantine(fs, directory, &report)?;

    // The recovered writes go to a level-0 table, so every old log becomes
    // obsolete (as RocksDB does unless avoid_flush_during_recovery is set).
    let mem = MemTable::new(0);
    for batch in &batches {
        // `recovery::plan` already refused batches Strata cannot apply.
        apply_batch(&mem, &batch.payload).map_err(Error::InvalidArgument)?;
    }
    let mut new_tables = Vec::new();
    if !mem.is_empty() {
        let number = version.next_file_number;
        version.next_file_number += 1;
        new_tables.push(table::build(fs, directory, number, &mem, options)?);
    }

    // A new log that starts with a synced, empty marker batch at the next
    // sequence: recovery never appends to a log whose tail it did not verify.
    let last_sequence = report.last_sequence;
    let log_number = version.next_file_number;
    version.next_file_number += 1;
    let log_path = directory.join(filename::log(log_number));
    let file = fs
        .create(&log_path)
        .map_err(|source| Error::io(&log_path, "create", source))?;
    let mut log = Writer::new(file, WriterOptions::default());
    let marker = BatchBuilder::new().finish(last_sequence + 1);
    log.add_record(&marker)
        .and_then(|()| log.sync())
        .map_err(|source| Error::io(&log_path, "write", source))?;
    sync_dir(fs, directory)?;

    // A new MANIFEST holding the whole state, then CURRENT.
    let manifest_number = version.next_file_number;
    version.next_file_number += 1;
    version.apply(&VersionEdit {
        log_number: Some(log_number),
        next_file_number: Some(version.next_file_number),
        flushed_sequence: Some(last_sequence),
        new_tables,
        deleted_tables: Vec::new(),
        new_logs: vec![log_number],
    });
    let manifest = write_manifest(fs, directory, manifest_number, &version)?;
    set_current(fs, directory, manifest_number)?;

    // Now the old logs, the old MANIFEST and any orphan are obsolete.
    remove_obsolete(fs, directory, &version, manifest_number)?;

    let tables = version
        .tables
        .iter()
        .map(|meta| TableHandle::open(fs, directory, meta, cache).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    Ok(Opened {
        state: State {
            mem: Arc::new(MemTable::new(log_number)),
            immutable: Vec::new(),
            tables: Arc::new(tables),
            version,
            manifest,
            last_sequence,
            poisoned: None,
            shutting_down: false,
            compacting: false,
        },
        log: LogState {
            writer: log,
            number: log_number,
        },
        report,
    })
}

/// Copies every dropped region into `quarantine/`, durably, and returns the
/// files written.
fn quarantine(
    fs: &dyn FileSystem,
    directory: &Path,
    report: &RecoveryReport,
) -> Result<Vec<PathBuf>> {
    let regions: Vec<_> = report
        .dropped
        .iter()
        .filter(|region| region.length > 0)
        .collect();
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let quarantine = directory.join(filename::QUARANTINE);
    fs.create_dir_all(&quarantine)
        .map_err(|source| Error::io(&quarantine, "create directory", source))?;
    sync_dir(fs, directory)?;
    let mut written = Vec::new();
    for region in regions {
        let bytes = read_region(fs, &region.file, region.offset, region.length)
            .map_err(|source| Error::io(&region.file, "read", source))?;
        let source_name = region
            .file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = quarantine.join(format!(
            "{source_name}.offset-{}.length-{}",
            region.offset, region.length
        ));
        let mut file = fs
            .create(&path)
            .map_err(|source| Error::io(&path, "create", source))?;
        io::Write::write_all(&mut file, &bytes)
            .and_then(|()| file.sync())
            .map_err(|source| Error::io(&path, "write", source))?;
        written.push(path);
    }
    sync_dir(fs, &quarantine)?;
    Ok(written)
}

/// The bytes of `file` at `offset..offset + length` (fewer if the file is
/// shorter).
fn read_region(fs: &dyn FileSystem, file: &Path, offset: u64, length: u64) -> io::Result<Vec<u8>> {
    let source = fs.open_read(file)?;
    let length = usize::try_from(length)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "region too large"))?;
    let mut bytes = vec![0; length];
    let mut filled = 0;
    while filled < length {
        let read = source.read_at(offset + filled as u64, &mut bytes[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    bytes.truncate(filled);
    Ok(bytes)
}

fn write_manifest(
    fs: &dyn FileSystem,
    directory: &Path,
    number: u64,
    version: &VersionState,
) -> Result<LogWriter> {
    let path = directory.join(filename::manifest(number));
    let file = fs
        .create(&path)
        .map_err(|source| Error::io(&path, "create", source))?;
    let mut writer = Writer::new(file, WriterOptions::default());
    writer
        .add_record(&version.snapshot().encode())
        .and_then(|()| writer.sync())
        .map_err(|source| Error::io(&path, "write", source))?;
    sync_dir(fs, directory)?;
    Ok(writer)
}

/// Points CURRENT at a MANIFEST: write a temporary file, sync it, rename it
/// over CURRENT, sync the directory.
fn set_current(fs: &dyn FileSystem, directory: &Path, manifest_number: u64) -> Result<()> {
    let temporary = directory.join(filename::temporary(filename::CURRENT));
    let mut file = fs
        .create(&temporary)
        .map_err(|source| Error::io(&temporary, "create", source))?;
    let content = format!("{}\n", filename::manifest(manifest_number));
    io::Write::write_all(&mut file, content.as_bytes())
        .and_then(|()| file.sync())
        .map_err(|source| Error::io(&temporary, "write", source))?;
    drop(file);
    let current = directory.join(filename::CURRENT);
    fs.rename(&temporary, &current)
        .map_err(|source| Error::io(&current, "rename", source))?;
    sync_dir(fs, directory)
}

fn remove_obsolete(
    fs: &dyn FileSystem,
    directory: &Path,
    version: &VersionState,
    manifest_number: u64,
) -> Result<()> {
    let names = fs
        .list(directory)
        .map_err(|source| Error::io(directory, "list", source))?;
    let mut removed = false;
    for name in names {
        let obsolete = match filename::parse(&name) {
            Some(FileKind::Log(number)) => number < version.log_number,
            Some(FileKind::Table(number)) => {
                !version.tables.iter().any(|table| table.number == number)
            }
            Some(FileKind::Manifest(number)) => number != manifest_number,
            Some(FileKind::Temporary) => true,
            _ => false,
        };
        if obsolete {
            let path = directory.join(&name);
            fs.remove(&path)
                .map_err(|source| Error::io(&path, "remove", source))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(fs, directory)?;
    }
    Ok(())
}

/// Inserts a batch's updates into a memtable, numbering them from the
/// batch's sequence. Fails on operations Strata does not apply.
fn apply_batch(mem: &MemTable, payload: &[u8]) -> std::result::Result<(), String> {
    let batch = DecodedBatch::decode(payload).map_err(|error| error.to_string())?;
    let mut sequence = batch.sequence;
    for entry in &batch.entries {
        if entry.column_family != 0 {
            return Err(format!(
                "column family {} is not supported by Strata",
                entry.column_family
            ));
        }
        match entry.operation {
            Operation::Put { key, value } => mem.insert(key, sequence, Kind::Value, value),
            Operation::Delete { key } => mem.insert(key, sequence, Kind::Deletion, b""),
            Operation::SingleDelete { key } => mem.insert(key, sequence, Kind::SingleDeletion, b""),
            Operation::LogData { .. } => continue,
            other => return Err(format!("operation {other:?} is not supported by Strata")),
        }
        sequence += 1;
    }
    Ok(())
}

impl Inner {
    fn visible(&self) -> u64 {
        self.visible_sequence.load(Ordering::Acquire)
    }

    fn write(&self, batch: WriteBatch, sync: bool) -> Result<()> {
        let mut queue = self.queue.lock();
        let id = queue.next_id;
        queue.next_id += 1;
        queue.waiting.push_back(PendingWrite { id, batch, sync });
        loop {
            if let Some(result) = queue.finished.remove(&id) {
                return result.map_err(|cause| Error::Poisoned { cause });
            }
            if !queue.leader_active && queue.waiting.front().is_some_and(|w| w.id == id) {
                break;
            }
            self.queue_changed.wait(&mut queue);
        }
        // This writer leads a group: itself and whoever queued behind it.
        queue.leader_active = true;
        let mut group = Vec::new();
        let mut group_bytes = 0;
        while let Some(next) = queue.waiting.front() {
            let size = next.batch.builder.encoded_len();
            if !group.is_empty() && group_bytes + size > MAX_GROUP_BYTES {
                break;
            }
            group_bytes += size;
            group.extend(queue.waiting.pop_front());
        }
        drop(queue);

        let result = self.write_group(&group);

        let mut queue = self.queue.lock();
        for member in group.iter().filter(|member| member.id != id) {
            let shared = match &result {
                Ok(()) => Ok(()),
                Err(error) => Err(error.to_string()),
            };
            queue.finished.insert(member.id, shared);
        }
        queue.leader_active = false;
        self.queue_changed.notify_all();
        result
    }

    fn write_group(&self, group: &[PendingWrite]) -> Result<()> {
        let mut merged = BatchBuilder::new();
        for member in group {
            merged.append_encoded(&member.batch.builder);
        }
        let sync = group.iter().any(|member| member.sync);

        let (mem, sequence) = {
            let mut state = self.state.lock();
            if let Some(cause) = &state.poisoned {
                return Err(Error::Poisoned {
                    cause: cause.clone(),
                });
            }
            self.make_room(&mut state)?;
            (Arc::clone(&state.mem), state.last_sequence + 1)
        };
        let payload = merged.finish(sequence);
        {
            // The log is written before the memtable.
            let mut log = self.log.lock();
            let path = self.directory.join(filename::log(log.number));
            let written = log
                .writer
                .add_record(&payload)
                .and_then(|()| if sync { log.writer.sync() } else { Ok(()) });
            if let Err(source) = written {
                let error = Error::io(path, "append to", source);
                self.poison(&error);
                return Err(error);
            }
        }
        apply_batch(&mem, &payload).map_err(Error::InvalidArgument)?;
        let last = sequence + u64::from(merged.count()) - 1;
        // Published under the state lock, so that a reader that takes the
        // sequence and the memtables and tables together (`Inner::latest`)
        // sees a consistent pair.
        let mut state = self.state.lock();
        state.last_sequence = last;
        self.visible_sequence.store(last, Ordering::Release);
        Ok(())
    }

    fn poison(&self, error: &Error) {
        let mut state = self.state.lock();
        if state.poisoned.is_none() {
            state.poisoned = Some(error.to_string());
        }
        self.state_changed.notify_all();
    }

    /// Switches to a new memtable and log when the current one is full,
    /// stalling while too many full memtables wait for their flush.
    fn make_room(&self, state: &mut parking_lot::MutexGuard<'_, State>) -> Result<()> {
        loop {
            if let Some(cause) = &state.poisoned {
                return Err(Error::Poisoned {
                    cause: cause.clone(),
                });
            }
            if state.mem.approximate_bytes() < self.options.write_buffer_size {
                return Ok(());
            }
            if state.immutable.len() >= self.options.max_immutable_memtables.max(1) {
                self.state_changed.wait(state);
                continue;
            }
            if let Err(error) = self.switch_memtable(state) {
                state.poisoned.get_or_insert_with(|| error.to_string());
                return Err(error);
            }
        }
    }

    /// Syncs and closes the current log, starts a new one (recorded in the
    /// MANIFEST before any write goes to it) and a new memtable.
    fn switch_memtable(&self, state: &mut State) -> Result<()> {
        let result = self.try_switch_memtable(state);
        if let Err(error) = &result {
            // A failed sync or MANIFEST append leaves files in an unknown
            // state: refuse further writes until reopen.
            state.poisoned.get_or_insert_with(|| error.to_string());
            self.state_changed.notify_all();
        }
        result
    }

    fn try_switch_memtable(&self, state: &mut State) -> Result<()> {
        let fs = self.fs.as_ref();
        let number = state.version.next_file_number;
        let path = self.directory.join(filename::log(number));
        let file = fs
            .create(&path)
            .map_err(|source| Error::io(&path, "create", source))?;
        sync_dir(fs, &self.directory)?;
        let edit = VersionEdit {
            next_file_number: Some(number + 1),
            new_logs: vec![number],
            ..VersionEdit::default()
        };
        self.append_edit(state, &edit)?;
        let mut log = self.log.lock();
        let old_path = self.directory.join(filename::log(log.number));
        log.writer
            .sync()
            .map_err(|source| Error::io(old_path, "sync", source))?;
        log.writer = Writer::new(file, WriterOptions::default());
        log.number = number;
        drop(log);
        let full = std::mem::replace(&mut state.mem, Arc::new(MemTable::new(number)));
        state.immutable.push(full);
        self.state_changed.notify_all();
        Ok(())
    }

    fn append_edit(&self, state: &mut State, edit: &VersionEdit) -> Result<()> {
        let path = self.directory.join("MANIFEST");
        state
            .manifest
            .add_record(&edit.encode())
            .and_then(|()| state.manifest.sync())
            .map_err(|source| Error::io(path, "append to", source))?;
        state.version.apply(edit);
        Ok(())
    }

    fn get(&self, sources: Sources, key: &[u8], sequence: u64) -> Result<Option<Vec<u8>>> {
        let (mem, immutable, tables) = sources;
        let found = std::iter::once(&mem)
            .chain(immutable.iter().rev())
            .find_map(|table| table.get(key, sequence));
        let found = match found {
            Some(found) => Some(found),
            None => {
                let mut found = None;
                for table in tables.iter().rev() {
                    if let Some(lookup) = table.get(key, sequence)? {
                        found = Some(lookup);
                        break;
                    }
                }
                found
            }
        };
        Ok(match found {
            Some(Lookup::Value(value)) => Some(value),
            Some(Lookup::Deleted) | None => None,
        })
    }

    fn sources(&self) -> Sources {
        Self::sources_of(&self.state.lock())
    }

    /// The latest sequence and the sources to read it from, taken together:
    /// a compaction installed after this point only dropped versions that
    /// the sequence can no longer see (it is at least the compaction's
    /// smallest readable sequence), and one installed before is not in
    /// these sources.
    fn latest(&self) -> (u64, Sources) {
        let state = self.state.lock();
        (self.visible(), Self::sources_of(&state))
    }

    fn sources_of(state: &State) -> Sources {
        (
            Arc::clone(&state.mem),
            state.immutable.clone(),
            Arc::clone(&state.tables),
        )
    }

    fn flush(&self) -> Result<()> {
        // Take the leader role so no write is between sequence assignment and
        // memtable insertion while the memtable is switched.
        let mut queue = self.queue.lock();
        while queue.leader_active {
            self.queue_changed.wait(&mut queue);
        }
        queue.leader_active = true;
        drop(queue);
        let result = (|| {
            let mut state = self.state.lock();
            if let Some(cause) = &state.poisoned {
                return Err(Error::Poisoned {
                    cause: cause.clone(),
                });
            }
            if !state.mem.is_empty() {
                self.switch_memtable(&mut state)?;
            }
            while (!state.immutable.is_empty() || state.compacting) && state.poisoned.is_none() {
                self.state_changed.wait(&mut state);
            }
            match &state.poisoned {
                Some(cause) => Err(Error::Poisoned {
                    cause: cause.clone(),
                }),
                None => Ok(()),
            }
        })();
        let mut queue = self.queue.lock();
        queue.leader_active = false;
        self.queue_changed.notify_all();
        result
    }

    /// The background thread: writes each full memtable to a level-0 table,
    /// records it in the MANIFEST, then deletes the log it came from.
    fn flush_loop(&self) {
        loop {
            let (full, number) = {
                let mut state = self.state.lock();
                while state.immutable.is_empty() && !state.shutting_down {
                    self.state_changed.wait(&mut state);
                }
                if state.immutable.is_empty() || state.poisoned.is_some() {
                    return;
                }
                let number = state.version.next_file_number;
                state.version.next_file_number += 1;
                (Arc::clone(&state.immutable[0]), number)
            };
            if let Err(error) = self.flush_one(&full, number) {
                self.poison(&error);
                return;
            }
        }
    }

    fn flush_one(&self, full: &MemTable, number: u64) -> Result<()> {
        let fs = self.fs.as_ref();
        let meta: TableMeta = table::build(fs, &self.directory, number, full, &self.options)?;
        let handle = Arc::new(TableHandle::open(
            fs,
            &self.directory,
            &meta,
            &self.block_cache,
        )?);
        let mut state = self.state.lock();
        let live_log = state
            .immutable
            .get(1)
            .map_or(state.mem.log_number, |next| next.log_number);
        let flushed = full.largest_sequence().max(state.version.flushed_sequence);
        let edit = VersionEdit {
            log_number: Some(live_log),
            next_file_number: Some(state.version.next_file_number.max(number + 1)),
            flushed_sequence: Some(flushed),
            new_tables: vec![meta],
            ..VersionEdit::default()
        };
        self.append_edit(&mut state, &edit)?;
        let mut tables = state.tables.as_ref().clone();
        tables.push(handle);
        state.tables = Arc::new(tables);
        state.immutable.remove(0);
        // Decided here, with the flush, so that `Db::flush` waits for it.
        state.compacting = state.tables.len() >= self.options.level0_compaction_trigger.max(2);
        self.state_changed.notify_all();
        drop(state);
        // The flushed log is obsolete now that the MANIFEST says so.
        self.remove_files(&[filename::log(full.log_number)])?;
        self.maybe_compact()
    }

    /// Removes obsolete files and syncs the directory.
    fn remove_files(&self, names: &[String]) -> Result<()> {
        let fs = self.fs.as_ref();
        for name in names {
            let path = self.directory.join(name);
            match fs.remove(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::io(path, "remove", source)),
            }
        }
        sync_dir(fs, &self.directory)
    }

    /// Merges all level-0 tables into one once there are
    /// `level0_compaction_trigger` of them, so reads consult few tables, and
    /// drops the versions no reader can see any more (older than a newer
    /// version that the oldest live snapshot already sees; deletions with
    /// nothing left beneath). The merged table is durable before the
    /// MANIFEST names it, and the inputs are removed only after; a crash in
    /// between leaves an orphan that the next open removes.
    fn maybe_compact(&self) -> Result<()> {
        let (inputs, metas, number) = {
            let mut state = self.state.lock();
            if !state.compacting {
                return Ok(());
            }
            let number = state.version.next_file_number;
            state.version.next_file_number += 1;
            (
                Arc::clone(&state.tables),
                state.version.tables.clone(),
                number,
            )
        };
        let fs = self.fs.as_ref();
        let largest_sequence = metas
            .iter()
            .map(|meta| meta.largest_sequence)
            .max()
            .unwrap_or(0);
        let smallest_snapshot = self.snapshots.smallest(|| self.visible());
        let merged = table::merge(
            fs,
            &self.directory,
            number,
            &inputs,
            largest_sequence,
            smallest_snapshot,
            &self.options,
        )?;
        let handle = match &merged {
            Some(meta) => Some(Arc::new(TableHandle::open(
                fs,
                &self.directory,
                meta,
                &self.block_cache,
            )?)),
            None => None,
        };
        let mut state = self.state.lock();
        // Only this thread changes the set of tables, so it is still `inputs`.
        debug_assert_eq!(state.tables.len(), inputs.len());
        let edit = VersionEdit {
            next_file_number: Some(state.version.next_file_number.max(number + 1)),
            new_tables: merged.into_iter().collect(),
            deleted_tables: metas.iter().map(|meta| meta.number).collect(),
            ..VersionEdit::default()
        };
        self.append_edit(&mut state, &edit)?;
        state.tables = Arc::new(handle.into_iter().collect());
        drop(state);
        let names: Vec<String> = metas
            .iter()
            .map(|meta| filename::table(meta.number))
            .collect();
        let removed = self.remove_files(&names);
        self.state.lock().compacting = false;
        self.state_changed.notify_all();
        removed
    }
}
