//! [`RaftStorage`]: raft-rs's `Storage` on a Strata database.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use protobuf::Message as _;
use raft::prelude::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};
use strata::{Db, Options, RecoveryReport, WriteBatch, WriteOptions};

use crate::keys;

/// A Raft log, its hard state, configuration and latest snapshot kept in a
/// Strata database; every change is one synced write batch.
///
/// Reads implement raft-rs's [`Storage`]. The write side is what a
/// `RawNode` driver needs: [`append`](RaftStorage::append) (overwriting a
/// conflicting suffix in the same batch), [`set_hard_state`](RaftStorage::set_hard_state),
/// [`set_conf_state`](RaftStorage::set_conf_state),
/// [`apply_snapshot`](RaftStorage::apply_snapshot),
/// [`create_snapshot`](RaftStorage::create_snapshot) and
/// [`compact`](RaftStorage::compact).
///
/// The recovery mode is the database's: `Options::recovery_mode`, chosen
/// at [`RaftStorage::open`], and what recovery did is
/// [`RaftStorage::recovery_report`].
///
/// Where raft-rs's `MemStorage` panics (an append that would overwrite
/// compacted entries or leave a gap, a read past the last index, a
/// compaction past it), this storage returns an error instead.
///
/// ```
/// use raft::prelude::{ConfState, Entry};
/// use raft::Storage;
/// use strata::{Options, RecoveryMode};
/// use strata_raft::RaftStorage;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let directory = tempfile::tempdir()?;
/// let options = Options::default().with_recovery_mode(RecoveryMode::TolerateCorruptedTailRecords);
/// let storage = RaftStorage::open(directory.path().join("raft"), options)?;
/// storage.initialize_with_conf_state(ConfState::from((vec![1, 2, 3], vec![])))?;
/// let entry = Entry { index: 1, term: 1, ..Entry::default() };
/// storage.append(&[entry])?;
/// assert_eq!(storage.last_index()?, 1);
/// assert_eq!(storage.term(1)?, 1);
/// # Ok(())
/// # }
/// ```
pub struct RaftStorage {
    db: Db,
    state: Mutex<Cached>,
}

/// What every read needs, kept in memory and changed only after the batch
/// that changes it on disk was synced.
#[derive(Clone, Debug, Default)]
struct Cached {
    hard_state: HardState,
    conf_state: ConfState,
    /// Index and term of the entry before the first one kept (0, 0 for a
    /// log that was never compacted).
    truncated: (u64, u64),
    /// Index of the last entry (`truncated.0` when there is none).
    last_index: u64,
}

impl Cached {
    fn first_index(&self) -> u64 {
        self.truncated.0 + 1
    }
}

/// Stored bytes that do not decode, or a log that is not contiguous.
#[derive(Debug)]
pub struct CorruptRaftState {
    /// The key, described (`entry 7 (key 01…07)`, `hard state (key 02)`).
    pub key: String,
    /// What is wrong.
    pub detail: String,
}

impl fmt::Display for CorruptRaftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "raft storage: {}: {}", self.key, self.detail)
    }
}

impl std::error::Error for CorruptRaftState {}

fn corrupt(key: &[u8], detail: impl Into<String>) -> raft::Error {
    raft::Error::Store(StorageError::Other(Box::new(CorruptRaftState {
        key: keys::describe(key),
        detail: detail.into(),
    })))
}

fn store_error(error: strata::Error) -> raft::Error {
    raft::Error::Store(StorageError::Other(Box::new(error)))
}

fn invalid(detail: String) -> raft::Error {
    raft::Error::Store(StorageError::Other(detail.into()))
}

fn decode<M: protobuf::Message>(key: &[u8], bytes: &[u8]) -> raft::Result<M> {
    M::parse_from_bytes(bytes).map_err(|error| corrupt(key, format!("does not decode: {error}")))
}

fn encode<M: protobuf::Message>(message: &M) -> raft::Result<Vec<u8>> {
    message
        .write_to_bytes()
        .map_err(|error| invalid(format!("raft storage: cannot encode: {error}")))
}

impl RaftStorage {
    /// Opens (creating if `options.create_if_missing`) the database at
    /// `path` with `options`, recovering its log in
    /// `options.recovery_mode`, and loads the Raft state.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<RaftStorage, OpenError> {
        let db = Db::open(path, options).map_err(OpenError::Database)?;
        RaftStorage::from_db(db).map_err(OpenError::Raft)
    }

    /// Uses an open database (keys below [`keys::FIRST_APPLICATION_BYTE`]
    /// are the storage's).
    pub fn from_db(db: Db) -> raft::Result<RaftStorage> {
        let mut cached = Cached::default();
        if let Some(bytes) = db.get(keys::HARD_STATE).map_err(store_error)? {
            cached.hard_state = decode(&keys::HARD_STATE, &bytes)?;
        }
        if let Some(bytes) = db.get(keys::CONF_STATE).map_err(store_error)? {
            cached.conf_state = decode(&keys::CONF_STATE, &bytes)?;
        }
        if let Some(bytes) = db.get(keys::TRUNCATED).map_err(store_error)? {
            let Ok(pair) = <[u8; 16]>::try_from(bytes.as_slice()) else {
                return Err(corrupt(
                    &keys::TRUNCATED,
                    format!("holds {} bytes, not 16", bytes.len()),
                ));
            };
            let (index, term) = pair.split_at(8);
            cached.truncated = (
                u64::from_be_bytes(index.try_into().unwrap_or_default()),
                u64::from_be_bytes(term.try_into().unwrap_or_default()),
            );
        }
        cached.last_index = cached.truncated.0;
        let entry_prefix = [keys::ENTRY];
        if let Some(first) = db.prefix(entry_prefix).next() {
            let (key, _) = first.map_err(store_error)?;
            let index =
                keys::entry_index(&key).ok_or_else(|| corrupt(&key, "is not an entry key"))?;
            if index != cached.first_index() {
                return Err(corrupt(
                    &key,
                    format!(
                        "is the first entry kept, but the log was truncated at {} (a hole)",
                        cached.truncated.0
                    ),
                ));
            }
        }
        if let Some(last) = db.prefix(entry_prefix).next_back() {
            let (key, _) = last.map_err(store_error)?;
            cached.last_index =
                keys::entry_index(&key).ok_or_else(|| corrupt(&key, "is not an entry key"))?;
        }
        Ok(RaftStorage {
            db,
            state: Mutex::new(cached),
        })
    }

    /// The database (for the application's own keys, which start at
    /// [`keys::FIRST_APPLICATION_BYTE`] or above).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// What recovery did when the database was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        self.db.recovery_report()
    }

    /// Syncs and closes the database, reporting the first error.
    pub fn close(self) -> strata::Result<()> {
        self.db.close()
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        // A panic while the lock was held cannot leave the cache ahead of
        // the disk: the cache changes only after a successful write.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self, batch: WriteBatch) -> raft::Result<()> {
        self.db
            .write(batch, &WriteOptions::SYNC)
            .map_err(store_error)
    }

    /// Sets the configuration of a storage that has none yet (a new
    /// cluster's members; every node must be given the same).
    pub fn initialize_with_conf_state(&self, conf_state: ConfState) -> raft::Result<()> {
        let cached = self.cached();
        if cached.conf_state != ConfState::default() || cached.last_index != 0 {
            return Err(invalid(
                "raft storage: already initialized (it has a configuration or entries)".to_owned(),
            ));
        }
        drop(cached);
        self.set_conf_state(conf_state)
    }

    /// Appends `entries` (contiguous, the first at most `last_index + 1`
    /// and at least `first_index`), deleting in the same synced batch every
    /// stored entry past the last of them.
    pub fn append(&self, entries: &[Entry]) -> raft::Result<()> {
        self.append_with_hard_state(entries, None)
    }

    /// [`append`](RaftStorage::append) and
    /// [`set_hard_state`](RaftStorage::set_hard_state) in one synced batch:
    /// what a driver persists for one `Ready`.
    pub fn append_with_hard_state(
        &self,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> raft::Result<()> {
        let mut cached = self.cached();
        let mut batch = WriteBatch::new();
        let mut last_index = cached.last_index;
        if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
            if first.index < cached.first_index() {
                return Err(raft::Error::Store(StorageError::Compacted));
            }
            if first.index > cached.last_index + 1 {
                return Err(invalid(format!(
                    "raft storage: appending entry {} would leave a gap after the last entry {}",
                    first.index, cached.last_index
                )));
            }
            for (offset, entry) in entries.iter().enumerate() {
                if entry.index != first.index + offset as u64 {
                    return Err(invalid(format!(
                        "raft storage: appended entries are not contiguous at index {}",
                        entry.index
                    )));
                }
                batch.put(keys::entry(entry.index), encode(entry)?);
            }
            for stale in last.index + 1..=cached.last_index {
                batch.delete(keys::entry(stale));
            }
            last_index = last.index;
        }
        if let Some(hard_state) = hard_state {
            batch.put(keys::HARD_STATE, encode(hard_state)?);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.write(batch)?;
        cached.last_index = last_index;
        if let Some(hard_state) = hard_state {
            cached.hard_state = hard_state.clone();
        }
        Ok(())
    }

    /// Stores the hard state (term, vote, commit), synced.
    pub fn set_hard_state(&self, hard_state: &HardState) -> raft::Result<()> {
        self.append_with_hard_state(&[], Some(hard_state))
    }

    /// Stores the commit index in the hard state, synced.
    pub fn set_commit(&self, commit: u64) -> raft::Result<()> {
        let mut hard_state = self.cached().hard_state.clone();
        hard_state.commit = commit;
        self.set_hard_state(&hard_state)
    }

    /// The hard state stored.
    pub fn hard_state(&self) -> HardState {
        self.cached().hard_state.clone()
    }

    /// Stores the configuration, synced.
    pub fn set_conf_state(&self, conf_state: ConfState) -> raft::Result<()> {
        let mut cached = self.cached();
        let mut batch = WriteBatch::new();
        batch.put(keys::CONF_STATE, encode(&conf_state)?);
        self.write(batch)?;
        cached.conf_state = conf_state;
        Ok(())
    }

    /// Replaces the log with `snapshot` (as raft-rs's `MemStorage` does:
    /// every entry is deleted, the hard state's commit becomes the
    /// snapshot's index and its term at least the snapshot's, the
    /// configuration the snapshot's), in one synced batch. Fails with
    /// `SnapshotOutOfDate` if the snapshot is older than the first entry.
    pub fn apply_snapshot(&self, snapshot: Snapshot) -> raft::Result<()> {
        let mut cached = self.cached();
        let metadata = snapshot.get_metadata().clone();
        if cached.first_index() > metadata.index {
            return Err(raft::Error::Store(StorageError::SnapshotOutOfDate));
        }
        let mut hard_state = cached.hard_state.clone();
        hard_state.term = hard_state.term.max(metadata.term);
        hard_state.commit = metadata.index;
        let conf_state = metadata.get_conf_state().clone();
        let mut batch = WriteBatch::new();
        for index in cached.first_index()..=cached.last_index {
            batch.delete(keys::entry(index));
        }
        batch.put(keys::SNAPSHOT, encode(&snapshot)?);
        batch.put(keys::HARD_STATE, encode(&hard_state)?);
        batch.put(keys::CONF_STATE, encode(&conf_state)?);
        batch.put(keys::TRUNCATED, truncated(metadata.index, metadata.term));
        self.write(batch)?;
        cached.hard_state = hard_state;
        cached.conf_state = conf_state;
        cached.truncated = (metadata.index, metadata.term);
        cached.last_index = metadata.index;
        Ok(())
    }

    /// Records a snapshot of the application's state at `index` (which must
    /// be an index the log still knows the term of), with the current
    /// configuration, and returns it. [`Storage::snapshot`] serves it.
    pub fn create_snapshot(&self, index: u64, data: Vec<u8>) -> raft::Result<Snapshot> {
        let term = self.term(index)?;
        let cached = self.cached();
        let mut snapshot = Snapshot {
            data: data.into(),
            ..Snapshot::default()
        };
        let metadata = snapshot.mut_metadata();
        metadata.index = index;
        metadata.term = term;
        metadata.set_conf_state(cached.conf_state.clone());
        let mut batch = WriteBatch::new();
        batch.put(keys::SNAPSHOT, encode(&snapshot)?);
        self.write(batch)?;
        Ok(snapshot)
    }

    /// Deletes every entry before `compact_index` in one synced batch,
    /// keeping the term of the entry before it for matching. Compacting to
    /// at most the first index does nothing; past `last_index + 1` is an
    /// error. The application must not compact past what it applied.
    pub fn compact(&self, compact_index: u64) -> raft::Result<()> {
        let first_index = self.cached().first_index();
        if compact_index <= first_index {
            return Ok(());
        }
        let term = self.term(compact_index - 1)?;
        let mut cached = self.cached();
        if compact_index > cached.last_index + 1 {
            return Err(invalid(format!(
                "raft storage: cannot compact to {compact_index}: the last entry is {}",
                cached.last_index
            )));
        }
        let mut batch = WriteBatch::new();
        for index in cached.first_index()..compact_index {
            batch.delete(keys::entry(index));
        }
        batch.put(keys::TRUNCATED, truncated(compact_index - 1, term));
        self.write(batch)?;
        cached.truncated = (compact_index - 1, term);
        Ok(())
    }

    fn read_entry(&self, index: u64) -> raft::Result<Entry> {
        let key = keys::entry(index);
        let bytes = self
            .db
            .get(key)
            .map_err(store_error)?
            .ok_or_else(|| corrupt(&key, "is missing inside the log (a hole)"))?;
        let entry: Entry = decode(&key, &bytes)?;
        if entry.index != index {
            return Err(corrupt(&key, format!("holds entry {}", entry.index)));
        }
        Ok(entry)
    }
}

fn truncated(index: u64, term: u64) -> [u8; 16] {
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&index.to_be_bytes());
    bytes[8..].copy_from_slice(&term.to_be_bytes());
    bytes
}

/// Why [`RaftStorage::open`] failed.
#[derive(Debug)]
pub enum OpenError {
    /// The database did not open: recovery refused under its mode, or an
    /// I/O error (the error names the file and, for a refusal, the offset).
    Database(strata::Error),
    /// The database opened but its Raft state does not load.
    Raft(raft::Error),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Database(error) => error.fmt(f),
            OpenError::Raft(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Database(error) => Some(error),
            OpenError::Raft(error) => Some(error),
        }
    }
}

impl Storage for RaftStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let cached = self.cached();
        Ok(RaftState::new(
            cached.hard_state.clone(),
            cached.conf_state.clone(),
        ))
    }

    /// Entries in `[low, high)`, at least one, stopping before `max_size`
    /// bytes would be passed. `high` past `last_index + 1` is an error
    /// (raft-rs's `MemStorage` panics).
    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let max_size = max_size.into().unwrap_or(u64::MAX);
        let cached = self.cached();
        if low < cached.first_index() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > cached.last_index + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let mut entries = Vec::new();
        let mut size = 0u64;
        let mut expected = low;
        let mut full = false;
        for item in self.db.range(keys::entry(low)..keys::entry(high)) {
            let (key, bytes) = item.map_err(store_error)?;
            if keys::entry_index(&key) != Some(expected) {
                return Err(corrupt(
                    &keys::entry(expected),
                    "is missing inside the log (a hole)",
                ));
            }
            let entry: Entry = decode(&key, &bytes)?;
            if entry.index != expected {
                return Err(corrupt(&key, format!("holds entry {}", entry.index)));
            }
            size += u64::from(entry.compute_size());
            if !entries.is_empty() && size > max_size {
                full = true;
                break;
            }
            entries.push(entry);
            expected += 1;
        }
        if !full && expected < high {
            return Err(corrupt(
                &keys::entry(expected),
                "is missing inside the log (a hole)",
            ));
        }
        Ok(entries)
    }

    fn term(&self, index: u64) -> raft::Result<u64> {
        let cached = self.cached();
        if index == cached.truncated.0 {
            return Ok(cached.truncated.1);
        }
        if index < cached.first_index() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if index > cached.last_index {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(self.read_entry(index)?.term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.cached().first_index())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.cached().last_index)
    }

    /// The latest snapshot recorded ([`RaftStorage::create_snapshot`] or
    /// [`RaftStorage::apply_snapshot`]) if it covers `request_index`;
    /// otherwise `SnapshotTemporarilyUnavailable`, and the application
    /// should create a newer one.
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let _cached = self.cached();
        let Some(bytes) = self.db.get(keys::SNAPSHOT).map_err(store_error)? else {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        };
        let snapshot: Snapshot = decode(&keys::SNAPSHOT, &bytes)?;
        if snapshot.get_metadata().index < request_index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(snapshot)
    }
}
