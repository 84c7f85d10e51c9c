//! [`SimFs`]: an in-memory file system that keeps durable and not-yet-durable
//! state apart, can crash, and can inject failures. Modelled on LevelDB's
//! `FaultInjectionTestEnv` and RocksDB's `FaultInjectionTestFS`.
//!
//! # Model
//!
//! - A file is an inode with two byte strings: `current` (what reads see and
//!   writes go to) and `durable` (what survives a crash). `sync` on a
//!   [`WritableFile`] sets `durable = current`. Writes go where the last
//!   write to the file ended (one position per file, not per handle, as
//!   the engine has one writer per file), which is the end of the file
//!   unless [`WritableFile::prefill_zeros`] wrote zeros beyond it (durable
//!   once synced, lost in a crash before that); a handle from
//!   [`FileSystem::open_append`] always writes at the end. The unsynced
//!   bytes are those written between where writing stood at the last sync
//!   and where it stands now.
//! - A directory maps names to inode ids, once as `current` entries and once
//!   as `durable` entries. `create`, `rename` and `remove` change the current
//!   entries; [`FileSystem::sync_dir`] copies them to the durable ones.
//! - [`SimFs::crash`] is a power loss: every directory reverts to its durable
//!   entries, every file to its durable bytes (optionally plus a torn prefix
//!   of the unsynced bytes, see [`CrashOptions`]), and every handle opened
//!   before the crash fails from then on.
//!
//! # Simplifications
//!
//! - Directories form one flat namespace keyed by their normalised path
//!   (`Path::components`; `..` is not resolved), and they cannot be removed.
//!   A directory made by [`FileSystem::create_dir_all`] is durable only once
//!   its parent is synced ([`FileSystem::sync_dir`]); a crash before that
//!   removes it with everything in it. A root (no parent) is durable at once.
//! - `create` of an existing name links a *new* empty inode under the name. On
//!   a real file system the old inode is truncated in place instead; the
//!   difference shows only if the engine relies on an unsynced directory after
//!   re-creating an existing name, which it must not do.
//! - [`FileSystem::open_read`] reads a snapshot of the content taken when the
//!   file is opened. The engine only reads files that are no longer being
//!   written (sealed logs, tables, manifests at recovery), so this is enough.
//! - [`FileSystem::lock`] is a per-path lock set inside this `SimFs` (and its
//!   clones). Like the real lock it creates the lock file if missing (a
//!   current entry only, not counted as an operation). A crash releases no
//!   lock: the guards belong to the caller.
//! - Writes either write everything or nothing; a failed `sync` leaves the
//!   durable bytes as they were.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{FileLock, FileSystem, ReadableFile, WritableFile};

/// How [`SimFs::crash`] treats bytes that were written but not synced.
///
/// The default drops all of them. Build options with struct update syntax:
/// `CrashOptions { seed: 7, keep_torn_prefix: true, ..CrashOptions::default() }`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CrashOptions {
    /// Seeds every random choice of the crash, so a failing seed replays.
    pub seed: u64,
    /// Keep, per file, a random prefix (possibly empty, possibly all) of the
    /// unsynced bytes: a torn tail.
    pub keep_torn_prefix: bool,
    /// Replace a random run of the kept unsynced bytes by zeros, as a file
    /// system does whose size reached the disk before the data (or, over
    /// prefilled zeros, whose later pages reached it before the earlier
    /// ones). Only meaningful with `keep_torn_prefix`.
    pub zero_torn_bytes: bool,
    /// Replace a random run of the kept unsynced bytes by random bytes. With
    /// `zero_torn_bytes` too, each damaged run is zeros or garbage at random.
    /// Only meaningful with `keep_torn_prefix`.
    pub garbage_torn_bytes: bool,
}

/// The message of every error caused by [`SimFs::fail_after`].
const INJECTED_FAILURE: &str = "injected failure";

/// The message of every error of a handle opened before a crash.
const STALE_HANDLE: &str =
    "the file handle was opened before a simulated crash and is no longer valid";

/// An in-memory file system for crash tests. Clones share one state, so a
/// test keeps a clone to crash, inspect or damage what the engine writes.
#[derive(Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SimFs {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock_state();
        formatter
            .debug_struct("SimFs")
            .field("directories", &state.directories.len())
            .field("inodes", &state.inodes.len())
            .field("operation_count", &state.operation_count)
            .field("generation", &state.generation)
            .finish_non_exhaustive()
    }
}

type InodeId = u64;

#[derive(Clone, Default)]
struct State {
    /// Bumped by every crash; handles carry the generation they were opened in.
    generation: u64,
    next_inode: InodeId,
    inodes: BTreeMap<InodeId, Inode>,
    directories: BTreeMap<PathBuf, Directory>,
    /// Directories whose entry in their parent is not yet durable.
    undurable_directories: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    /// Mutating operations attempted so far (including failed ones).
    operation_count: u64,
    /// Operations numbered above this fail with [`INJECTED_FAILURE`].
    fail_above: Option<u64>,
    space_limit_bytes: Option<u64>,
}

#[derive(Clone, Default)]
struct Inode {
    durable: Vec<u8>,
    current: Vec<u8>,
    /// Where the last write ended (the next one starts here).
    written: usize,
    /// `written` as of the last sync: the unsynced bytes are
    /// `current[synced..written]`.
    synced: usize,
}

impl Inode {
    /// An inode whose `bytes` are durable.
    fn durable(bytes: &[u8]) -> Inode {
        Inode {
            durable: bytes.to_vec(),
            current: bytes.to_vec(),
            written: bytes.len(),
            synced: bytes.len(),
        }
    }

    fn sync(&mut self) {
        self.durable.clone_from(&self.current);
        self.synced = self.written;
    }
}

#[derive(Clone, Default)]
struct Directory {
    current: BTreeMap<String, InodeId>,
    durable: BTreeMap<String, InodeId>,
}

impl SimFs {
    /// An empty file system with no directories.
    pub fn new() -> Self {
        Self::default()
    }

    /// An independent copy of this file system (contents, durable state and
    /// faults; no locks, and the copy's handles start fresh), so a test can
    /// recover the same crashed state several ways.
    #[must_use]
    pub fn fork(&self) -> SimFs {
        let mut state = self.lock_state().clone();
        state.locks.clear();
        state.generation += 1;
        SimFs {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.state)
    }

    /// Simulates a power loss; see the module documentation and
    /// [`CrashOptions`]. Locks stay held.
    pub fn crash(&self, options: CrashOptions) {
        let mut state = self.lock_state();
        let mut random = SplitMix64::new(options.seed);
        state.generation += 1;
        let lost: Vec<PathBuf> = std::mem::take(&mut state.undurable_directories)
            .into_iter()
            .collect();
        state
            .directories
            .retain(|path, _| !lost.iter().any(|gone| path.starts_with(gone)));
        for directory in state.directories.values_mut() {
            directory.current = directory.durable.clone();
        }
        let linked: BTreeSet<InodeId> = state
            .directories
            .values()
            .flat_map(|directory| directory.durable.values().copied())
            .collect();
        state.inodes.retain(|id, _| linked.contains(id));
        for inode in state.inodes.values_mut() {
            *inode = Inode::durable(&crashed_content(inode, &options, &mut random));
        }
    }

    /// Makes the `(n + 1)`-th mutating operation from now (write, prefill,
    /// sync, create, rename, remove, sync_dir) and every later one fail with an
    /// `ErrorKind::Other` error "injected failure", until
    /// [`SimFs::clear_faults`].
    pub fn fail_after(&self, n: u64) {
        let mut state = self.lock_state();
        state.fail_above = Some(state.operation_count.saturating_add(n));
    }

    /// Removes the failure set by [`SimFs::fail_after`] and the space limit.
    pub fn clear_faults(&self) {
        let mut state = self.lock_state();
        state.fail_above = None;
        state.space_limit_bytes = None;
    }

    /// Makes writes and prefills fail with `ErrorKind::StorageFull`,
    /// writing nothing, when they would take the current bytes of all named
    /// files (plus the file written, if it has no name any more) beyond
    /// `limit_bytes` (an overwrite takes no new bytes).
    /// `None` removes the limit.
    pub fn set_space_limit(&self, limit_bytes: Option<u64>) {
        self.lock_state().space_limit_bytes = limit_bytes;
    }

    /// How many mutating operations (write, prefill, sync, create, rename,
    /// remove, sync_dir) were attempted so far, including those failed by
    /// [`SimFs::fail_after`] or the space limit. Not counted: operations
    /// refused earlier (a missing file or directory, a handle made stale by a
    /// crash), `create_dir_all`, `lock`, and the test helpers.
    pub fn operation_count(&self) -> u64 {
        self.lock_state().operation_count
    }

    /// Everything that would survive a crash right now: the durable path and
    /// durable bytes of every durably named file.
    pub fn durable_snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let state = self.lock_state();
        let mut snapshot = BTreeMap::new();
        for (directory_path, directory) in &state.directories {
            for (name, id) in &directory.durable {
                let bytes = state
                    .inodes
                    .get(id)
                    .map(|inode| inode.durable.clone())
                    .unwrap_or_default();
                snapshot.insert(directory_path.join(name), bytes);
            }
        }
        snapshot
    }

    /// The names of the files (not subdirectories) currently in `directory`,
    /// sorted.
    pub fn file_names(&self, directory: &Path) -> io::Result<Vec<String>> {
        let state = self.lock_state();
        let directory = state.directory(&normalise(directory))?;
        Ok(directory.current.keys().cloned().collect())
    }

    /// The names of the files in `directory` that would survive a crash now,
    /// sorted.
    pub fn durable_file_names(&self, directory: &Path) -> io::Result<Vec<String>> {
        let state = self.lock_state();
        let directory = state.directory(&normalise(directory))?;
        Ok(directory.durable.keys().cloned().collect())
    }

    /// The current content of a file.
    pub fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.lock_state();
        let id = state.current_inode(path)?;
        Ok(state.inode(id)?.current.clone())
    }

    /// Plants a file whose name and content are already durable, creating
    /// its directories if needed, replacing any file of that name. Bypasses
    /// fault injection and the operation count.
    pub fn write_file_durably(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let (parent, name) = split(path)?;
        let mut state = self.lock_state();
        state.create_dir_all(&parent, true);
        let id = state.new_inode(Inode::durable(bytes));
        let directory = state.directory_mut(&parent)?;
        directory.current.insert(name.clone(), id);
        directory.durable.insert(name, id);
        Ok(())
    }

    /// Overwrites both the current and the durable content of an existing
    /// file, for byte surgery in tests. Handles already open for reading keep
    /// their snapshot. Bypasses fault injection and the operation count.
    pub fn set_file_bytes(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut state = self.lock_state();
        let id = state.current_inode(path)?;
        *state.inode_mut(id)? = Inode::durable(bytes);
        Ok(())
    }
}

/// The content of `inode` after a crash: its durable bytes, with, if
/// `keep_torn_prefix`, a random prefix of its unsynced bytes (maybe damaged)
/// over them where they were written.
fn crashed_content(inode: &Inode, options: &CrashOptions, random: &mut SplitMix64) -> Vec<u8> {
    let mut content = inode.durable.clone();
    let unsynced = inode
        .current
        .get(inode.synced..inode.written)
        .unwrap_or_default();
    if !options.keep_torn_prefix || unsynced.is_empty() {
        return content;
    }
    let kept = random.below(unsynced.len() + 1);
    let mut tail = unsynced[..kept].to_vec();
    if options.zero_torn_bytes || options.garbage_torn_bytes {
        let start = random.below(tail.len() + 1);
        let end = start + random.below(tail.len() - start + 1);
        let garbage = match (options.zero_torn_bytes, options.garbage_torn_bytes) {
            (true, true) => random.next_u64() & 1 == 1,
            (zeros, _) => !zeros,
        };
        for byte in &mut tail[start..end] {
            // Truncation keeps the low byte of the random word on purpose.
            *byte = if garbage { random.next_u64() as u8 } else { 0 };
        }
    }
    let end = inode.synced + tail.len();
    if content.len() < end {
        content.resize(end, 0);
    }
    content[inode.synced..end].copy_from_slice(&tail);
    content
}

fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave the maps half-updated in a
    // way later tests care about; keep going rather than cascade panics.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `path` with `.` and repeated or trailing separators removed.
fn normalise(path: &Path) -> PathBuf {
    path.components().collect()
}

/// The normalised parent directory and the file name of `path`.
fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let path = normalise(path);
    let name = path.file_name().and_then(|name| name.to_str());
    match (path.parent(), name) {
        (Some(parent), Some(name)) => Ok((parent.to_path_buf(), name.to_owned())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )),
    }
}

fn not_found(what: &str, path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{what} {} does not exist", path.display()),
    )
}

impl State {
    fn directory(&self, path: &Path) -> io::Result<&Directory> {
        self.directories
            .get(path)
            .ok_or_else(|| not_found("the directory", path))
    }

    fn directory_mut(&mut self, path: &Path) -> io::Result<&mut Directory> {
        self.directories
            .get_mut(path)
            .ok_or_else(|| not_found("the directory", path))
    }

    fn inode(&self, id: InodeId) -> io::Result<&Inode> {
        self.inodes
            .get(&id)
            .ok_or_else(|| io::Error::other(format!("inode {id} vanished")))
    }

    fn inode_mut(&mut self, id: InodeId) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&id)
            .ok_or_else(|| io::Error::other(format!("inode {id} vanished")))
    }

    fn new_inode(&mut self, inode: Inode) -> InodeId {
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, inode);
        id
    }

    /// The inode currently named by `path`.
    fn current_inode(&self, path: &Path) -> io::Result<InodeId> {
        let (parent, name) = split(path)?;
        self.directory(&parent)?
            .current
            .get(&name)
            .copied()
            .ok_or_else(|| not_found("the file", &normalise(path)))
    }

    /// Creates `directory` and its missing ancestors; unless `durable`, each
    /// new one that has a parent stays undurable until the parent is synced.
    fn create_dir_all(&mut self, directory: &Path, durable: bool) {
        for ancestor in directory.ancestors() {
            if ancestor.as_os_str().is_empty() || self.directories.contains_key(ancestor) {
                continue;
            }
            self.directories
                .insert(ancestor.to_path_buf(), Directory::default());
            let has_parent = ancestor
                .parent()
                .is_some_and(|parent| !parent.as_os_str().is_empty());
            if !durable && has_parent {
                self.undurable_directories.insert(ancestor.to_path_buf());
            }
        }
    }

    /// Counts one mutating operation and fails it if fault injection says so.
    fn begin_operation(&mut self) -> io::Result<()> {
        self.operation_count += 1;
        match self.fail_above {
            Some(limit) if self.operation_count > limit => Err(io::Error::other(INJECTED_FAILURE)),
            _ => Ok(()),
        }
    }

    /// Fails unless a handle opened in `generation` is still valid.
    fn check_generation(&self, generation: u64) -> io::Result<()> {
        if generation == self.generation {
            Ok(())
        } else {
            Err(io::Error::other(STALE_HANDLE))
        }
    }

    /// The current bytes of all named files, plus `writing` if it has no name.
    fn used_bytes(&self, writing: InodeId) -> u64 {
        let mut named: BTreeSet<InodeId> = self
            .directories
            .values()
            .flat_map(|directory| directory.current.values().copied())
            .collect();
        named.insert(writing);
        named
            .iter()
            .filter_map(|id| self.inodes.get(id))
            .map(|inode| inode.current.len() as u64)
            .sum()
    }
}

/// A handle for writing to an inode of a [`SimFs`].
struct SimWritableFile {
    state: Arc<Mutex<State>>,
    inode: InodeId,
    generation: u64,
    /// Opened by [`FileSystem::open_append`]: every write goes to the end.
    append: bool,
}

impl Write for SimWritableFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut state = lock_state(&self.state);
        state.check_generation(self.generation)?;
        state.begin_operation()?;
        let inode = state.inode(self.inode)?;
        let start = if self.append {
            inode.current.len()
        } else {
            inode.written
        };
        let end = start + bytes.len();
        // Only bytes past the end take space: an overwrite (of prefilled
        // zeros) takes none.
        let growth = end.saturating_sub(inode.current.len()) as u64;
        if let Some(limit) = state.space_limit_bytes {
            let wanted = state.used_bytes(self.inode) + growth;
            if wanted > limit {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("simulated disk full: {wanted} bytes needed, {limit} available"),
                ));
            }
        }
        let inode = state.inode_mut(self.inode)?;
        if inode.current.len() < end {
            inode.current.resize(end, 0);
        }
        inode.current[start..end].copy_from_slice(bytes);
        inode.written = end;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        lock_state(&self.state).check_generation(self.generation)
    }
}

impl WritableFile for SimWritableFile {
    fn sync(&mut self) -> io::Result<()> {
        let mut state = lock_state(&self.state);
        state.check_generation(self.generation)?;
        state.begin_operation()?;
        state.inode_mut(self.inode)?.sync();
        Ok(())
    }

    /// Counts as one operation (it can fail like a write, and is refused
    /// past the space limit). The zeros are durable once synced; a crash
    /// before that loses them, as it loses any unsynced bytes past the
    /// last write.
    fn prefill_zeros(&mut self, until: u64) -> io::Result<()> {
        if self.append {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a file opened for appending cannot be prefilled",
            ));
        }
        let mut state = lock_state(&self.state);
        state.check_generation(self.generation)?;
        let until = usize::try_from(until).unwrap_or(usize::MAX);
        if state.inode(self.inode)?.current.len() >= until {
            return Ok(());
        }
        state.begin_operation()?;
        if let Some(limit) = state.space_limit_bytes {
            let length = state.inode(self.inode)?.current.len();
            let wanted = state.used_bytes(self.inode) + (until - length) as u64;
            if wanted > limit {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("simulated disk full: {wanted} bytes needed, {limit} available"),
                ));
            }
        }
        state.inode_mut(self.inode)?.current.resize(until, 0);
        Ok(())
    }
}

/// A handle reading a snapshot of a [`SimFs`] file taken at open time.
struct SimReadableFile {
    state: Arc<Mutex<State>>,
    bytes: Vec<u8>,
    generation: u64,
}

impl ReadableFile for SimReadableFile {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        lock_state(&self.state).check_generation(self.generation)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let available = &self.bytes[start..];
        let read = available.len().min(buffer.len());
        buffer[..read].copy_from_slice(&available[..read]);
        Ok(read)
    }

    fn len(&self) -> io::Result<u64> {
        lock_state(&self.state).check_generation(self.generation)?;
        Ok(self.bytes.len() as u64)
    }
}

/// Holds a path in the lock set of a [`SimFs`]; removes it on drop.
struct SimFileLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
}

impl FileLock for SimFileLock {}

impl Drop for SimFileLock {
    fn drop(&mut self) {
        lock_state(&self.state).locks.remove(&self.path);
    }
}

impl FileSystem for SimFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let (parent, name) = split(path)?;
        let mut state = self.lock_state();
        state.directory(&parent)?;
        if state.directories.contains_key(&parent.join(&name)) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", parent.join(&name).display()),
            ));
        }
        state.begin_operation()?;
        let id = state.new_inode(Inode::default());
        state.directory_mut(&parent)?.current.insert(name, id);
        Ok(Box::new(SimWritableFile {
            state: Arc::clone(&self.state),
            inode: id,
            generation: state.generation,
            append: false,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let state = self.lock_state();
        let id = state.current_inode(path)?;
        Ok(Box::new(SimWritableFile {
            state: Arc::clone(&self.state),
            inode: id,
            generation: state.generation,
            append: true,
        }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>> {
        let state = self.lock_state();
        let id = state.current_inode(path)?;
        Ok(Arc::new(SimReadableFile {
            state: Arc::clone(&self.state),
            bytes: state.inode(id)?.current.clone(),
            generation: state.generation,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from_parent, from_name) = split(from)?;
        let (to_parent, to_name) = split(to)?;
        let mut state = self.lock_state();
        let id = state.current_inode(from)?;
        state.directory(&to_parent)?;
        state.begin_operation()?;
        state
            .directory_mut(&from_parent)?
            .current
            .remove(&from_name);
        state.directory_mut(&to_parent)?.current.insert(to_name, id);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let (parent, name) = split(path)?;
        let mut state = self.lock_state();
        state.current_inode(path)?;
        state.begin_operation()?;
        state.directory_mut(&parent)?.current.remove(&name);
        Ok(())
    }

    /// Current file names and subdirectory names, sorted.
    fn list(&self, directory: &Path) -> io::Result<Vec<String>> {
        let directory = normalise(directory);
        let state = self.lock_state();
        let mut names: BTreeSet<String> = state
            .directory(&directory)?
            .current
            .keys()
            .cloned()
            .collect();
        for path in state.directories.keys() {
            if path.parent() == Some(directory.as_path())
                && let Some(name) = path.file_name()
            {
                names.insert(name.to_string_lossy().into_owned());
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Creates the directories (each durable once its parent is synced),
    /// without counting an operation.
    fn create_dir_all(&self, directory: &Path) -> io::Result<()> {
        self.lock_state()
            .create_dir_all(&normalise(directory), false);
        Ok(())
    }

    fn sync_dir(&self, directory: &Path) -> io::Result<()> {
        let directory = normalise(directory);
        let mut state = self.lock_state();
        state.directory(&directory)?;
        state.begin_operation()?;
        let entries = state.directory_mut(&directory)?;
        entries.durable = entries.current.clone();
        state
            .undurable_directories
            .retain(|child| child.parent() != Some(directory.as_path()));
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        let state = self.lock_state();
        state.directories.contains_key(&normalise(path)) || state.current_inode(path).is_ok()
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let (parent, name) = split(path)?;
        let path = parent.join(&name);
        let mut state = self.lock_state();
        if state.locks.contains(&path) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("the lock file {} is held by another holder", path.display()),
            ));
        }
        if state.current_inode(&path).is_err() {
            state.directory(&parent)?;
            let id = state.new_inode(Inode::default());
            state.directory_mut(&parent)?.current.insert(name, id);
        }
        state.locks.insert(path.clone());
        Ok(Box::new(SimFileLock {
            state: Arc::clone(&self.state),
            path,
        }))
    }
}

/// A tiny deterministic generator (Steele, Lea and Flood's SplitMix64), so
/// crashes replay from a seed without a dependency.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` must be positive), by multiply-shift.
    fn below(&mut self, bound: usize) -> usize {
        assert!(bound > 0, "below(0) has no possible value");
        let wide = u128::from(self.next_u64()) * bound as u128;
        // The high 64 bits of the product are below `bound`, so they fit.
        (wide >> 64) as usize
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence_for_seed_zero() {
        let mut random = SplitMix64::new(0);
        assert_eq!(random.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(random.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn below_stays_in_range_and_reaches_both_ends() {
        let mut random = SplitMix64::new(42);
        let draws: Vec<usize> = (0..1000).map(|_| random.below(3)).collect();
        assert!(draws.iter().all(|&draw| draw < 3));
        assert!(draws.contains(&0) && draws.contains(&2));
    }

    /// A file with `head` and zeros to 64 bytes synced, then `tail`
    /// written over the zeros unsynced.
    fn prefilled(fs: &SimFs, path: &Path, head: &[u8], tail: &[u8]) {
        fs.create_dir_all(path.parent().unwrap()).unwrap();
        let mut file = fs.create(path).unwrap();
        file.write_all(head).unwrap();
        file.prefill_zeros(64).unwrap();
        file.sync().unwrap();
        file.write_all(tail).unwrap();
    }

    #[test]
    fn writes_after_a_prefill_overwrite_the_zeros_and_a_crash_keeps_them() {
        let fs = SimFs::new();
        let path = Path::new("/db/000004.log");
        prefilled(&fs, path, b"head", b"tail");
        let mut expected = b"headtail".to_vec();
        expected.resize(64, 0);
        assert_eq!(fs.read_file(path).unwrap(), expected);
        fs.sync_dir(Path::new("/")).unwrap();
        fs.sync_dir(Path::new("/db")).unwrap();

        // "head" and the zeros were synced; "tail" is lost.
        let lost = fs.fork();
        lost.crash(CrashOptions::default());
        let mut durable = b"head".to_vec();
        durable.resize(64, 0);
        assert_eq!(lost.read_file(path).unwrap(), durable);

        // A torn prefix of "tail" lands where it was written, over the
        // zeros; the file keeps its length.
        let mut seen = BTreeSet::new();
        for seed in 0..64 {
            let torn = fs.fork();
            torn.crash(CrashOptions {
                seed,
                keep_torn_prefix: true,
                ..CrashOptions::default()
            });
            let bytes = torn.read_file(path).unwrap();
            assert_eq!(bytes.len(), 64);
            let kept = bytes[4..8].iter().take_while(|&&byte| byte != 0).count();
            assert_eq!(&bytes[..4 + kept], &b"headtail"[..4 + kept]);
            assert!(bytes[4 + kept..].iter().all(|&byte| byte == 0));
            seen.insert(kept);
        }
        assert_eq!(seen, (0..=4).collect(), "every torn length appears");
    }

    #[test]
    fn unsynced_zeros_are_lost_in_a_crash_like_any_unsynced_bytes() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        let path = Path::new("/db/000007.log");
        let mut file = fs.create(path).unwrap();
        file.write_all(b"head").unwrap();
        file.sync().unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        fs.sync_dir(Path::new("/db")).unwrap();
        file.prefill_zeros(64).unwrap();
        file.write_all(b"tail").unwrap();
        assert_eq!(fs.read_file(path).unwrap().len(), 64);
        fs.crash(CrashOptions::default());
        assert_eq!(fs.read_file(path).unwrap(), b"head");
    }

    #[test]
    fn overwriting_prefilled_zeros_takes_no_space() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        let mut file = fs.create(Path::new("/db/000008.log")).unwrap();
        file.write_all(b"head").unwrap();
        file.prefill_zeros(64).unwrap();
        fs.set_space_limit(Some(64));
        file.write_all(&[7; 60]).unwrap();
        let full = file.write_all(b"!").unwrap_err();
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn a_prefill_refuses_an_appending_handle_and_a_full_disk() {
        let fs = SimFs::new();
        let path = Path::new("/db/000005.log");
        prefilled(&fs, path, b"x", b"");
        let mut appending = fs.open_append(path).unwrap();
        assert_eq!(
            appending.prefill_zeros(128).unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
        // An appending handle writes after the zeros.
        appending.write_all(b"end").unwrap();
        assert_eq!(fs.read_file(path).unwrap().len(), 67);

        let mut file = fs.create(Path::new("/db/000006.log")).unwrap();
        fs.set_space_limit(Some(100));
        assert_eq!(
            file.prefill_zeros(64).unwrap_err().kind(),
            io::ErrorKind::StorageFull
        );
        assert!(
            fs.read_file(Path::new("/db/000006.log"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn paths_are_normalised_before_lookup() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/db/")).unwrap();
        fs.create(Path::new("/db/./CURRENT")).unwrap();
        assert!(fs.exists(Path::new("/db//CURRENT")));
        assert_eq!(
            fs.list(Path::new("/db")).unwrap(),
            vec!["CURRENT".to_owned()]
        );
        assert_eq!(fs.list(Path::new("/")).unwrap(), vec!["db".to_owned()]);
    }
}
