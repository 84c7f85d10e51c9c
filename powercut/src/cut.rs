//! The power cut itself: what survives, and rewriting the backing
//! directory to exactly that.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::state::{DirectoryOperation, NodeKind, ROOT, State};

/// What a power cut keeps beyond the durable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutOptions {
    /// Seed of every random choice, so that a failing cut replays.
    pub seed: u64,
    /// Keep a random-length prefix (possibly empty, possibly all) of the
    /// bytes appended to each file since its last sync, as a disk that
    /// wrote some sectors before the power went does.
    pub torn_appends: bool,
    /// Apply a random subset (each one with probability 1/2, in order) of
    /// the directory operations since each directory's last sync, as a
    /// file system that wrote some metadata before the power went does. A
    /// rename whose source is then missing is skipped.
    pub partial_directory_operations: bool,
}

impl CutOptions {
    /// Keeps exactly the durable state: nothing that was not synced.
    #[must_use]
    pub fn strict() -> CutOptions {
        CutOptions {
            seed: 1,
            torn_appends: false,
            partial_directory_operations: false,
        }
    }

    /// Keeps a random part of what was not synced (torn appends and a
    /// subset of directory operations), chosen from `seed`.
    #[must_use]
    pub fn random(seed: u64) -> CutOptions {
        CutOptions {
            seed,
            torn_appends: true,
            partial_directory_operations: true,
        }
    }
}

/// What a power cut kept and discarded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutReport {
    /// Files in the state after the cut.
    pub files: u64,
    /// Bytes of those files that had been synced.
    pub durable_bytes: u64,
    /// Unsynced appended bytes kept as a torn tail.
    pub torn_bytes: u64,
    /// Unsynced bytes discarded (of the files that survived).
    pub discarded_bytes: u64,
    /// Directory operations that had not been synced.
    pub unsynced_directory_operations: u64,
    /// Of those, how many were applied anyway.
    pub applied_directory_operations: u64,
}

impl fmt::Display for CutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} files kept with {} durable bytes and {} torn bytes, {} unsynced bytes discarded, \
             {} of {} unsynced directory operations applied",
            self.files,
            self.durable_bytes,
            self.torn_bytes,
            self.discarded_bytes,
            self.applied_directory_operations,
            self.unsynced_directory_operations
        )
    }
}

/// A small deterministic generator (SplitMix64): the cut must replay from
/// its seed on any machine, and needs nothing better.
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new(seed: u64) -> Random {
        Random(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub(crate) fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// One name of the state after the cut.
enum Survivor {
    /// The first `length` bytes of the file `inode`.
    File {
        inode: u64,
        length: u64,
    },
    Directory(BTreeMap<OsString, Survivor>),
}

struct Planner<'a> {
    state: &'a State,
    options: &'a CutOptions,
    random: Random,
    lengths: HashMap<u64, u64>,
    visited: HashSet<u64>,
    report: CutReport,
}

impl Planner<'_> {
    fn directory(&mut self, inode: u64) -> io::Result<BTreeMap<OsString, Survivor>> {
        if !self.visited.insert(inode) {
            // Only a partial application of renames of directories can
            // produce a cycle; the second visit is empty.
            return Ok(BTreeMap::new());
        }
        let directory = self.state.directory(inode)?;
        let mut entries = directory.durable_entries.clone();
        for operation in &directory.pending {
            self.report.unsynced_directory_operations += 1;
            if !(self.options.partial_directory_operations && self.random.coin()) {
                continue;
            }
            self.report.applied_directory_operations += 1;
            match operation {
                DirectoryOperation::Link { name, inode } => {
                    entries.insert(name.clone(), *inode);
                }
                DirectoryOperation::Unlink { name } => {
                    entries.remove(name);
                }
                DirectoryOperation::Rename { from, to, inode } => {
                    if entries.get(from) == Some(inode) {
                        entries.remove(from);
                        entries.insert(to.clone(), *inode);
                    }
                }
            }
        }
        let mut survivors = BTreeMap::new();
        for (name, child) in entries {
            let survivor = match self.state.nodes.get(&child).map(|node| &node.kind) {
                Some(NodeKind::File(_)) => Survivor::File {
                    inode: child,
                    length: self.file_length(child)?,
                },
                Some(NodeKind::Directory(_)) => Survivor::Directory(self.directory(child)?),
                None => continue,
            };
            survivors.insert(name, survivor);
        }
        Ok(survivors)
    }

    /// How much of a file survives (decided once per file, even if it
    /// ends up under two names).
    fn file_length(&mut self, inode: u64) -> io::Result<u64> {
        if let Some(&length) = self.lengths.get(&inode) {
            return Ok(length);
        }
        let file = self.state.file(inode)?;
        let current = file.file.metadata()?.len();
        let mut length = file.durable_length;
        if self.options.torn_appends && !file.changed_durable_bytes() && current > length {
            let torn = self.random.below(current - length + 1);
            length += torn;
            self.report.torn_bytes += torn;
        }
        self.report.files += 1;
        self.report.durable_bytes += file.durable_length;
        self.report.discarded_bytes += current.saturating_sub(length);
        self.lengths.insert(inode, length);
        Ok(length)
    }
}

fn write_directory(
    state: &State,
    survivors: &BTreeMap<OsString, Survivor>,
    path: &Path,
) -> io::Result<()> {
    fs::create_dir(path)?;
    for (name, survivor) in survivors {
        let target = path.join(name);
        match survivor {
            Survivor::Directory(children) => write_directory(state, children, &target)?,
            Survivor::File { inode, length } => {
                let file = state.file(*inode)?;
                // The backing file holds the surviving bytes as a prefix,
                // but for the saved pages of durable bytes changed since
                // the last sync: link it instead of copying a large
                // database every round, cut it to length and put the
                // saved pages back (each file's length is decided once,
                // so a second name of it wants the same, and the pages
                // are the same bytes again).
                let linked = state
                    .live_file_path(*inode)
                    .is_some_and(|live| fs::hard_link(live, &target).is_ok());
                if linked {
                    if file.file.metadata()?.len() != *length {
                        file.file.set_len(*length)?;
                    }
                    file.restore_saved_pages(&file.file)?;
                } else {
                    let mut output = File::create(&target)?;
                    let backed = file.file.metadata()?.len().min(*length);
                    copy_prefix(&file.file, backed, &mut output)?;
                    output.set_len(*length)?;
                    file.restore_saved_pages(&output)?;
                }
            }
        }
    }
    Ok(())
}

fn copy_prefix(source: &File, length: u64, output: &mut File) -> io::Result<()> {
    let mut buffer = vec![0; 1 << 20];
    let mut offset = 0;
    while offset < length {
        let wanted = usize::try_from((length - offset).min(buffer.len() as u64))
            .map_err(|_| io::Error::other("copy chunk does not fit in memory"))?;
        let read = source.read_at(&mut buffer[..wanted], offset)?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("a backing file ended at {offset} before its durable length {length}"),
            ));
        }
        output.write_all(&buffer[..read])?;
        offset += read as u64;
    }
    Ok(())
}

/// Rewrites the backing directory (not mounted) to what the cut keeps:
/// the tree is written into a sibling staging directory, which then
/// replaces the backing directory.
pub(crate) fn cut(state: &State, options: &CutOptions) -> io::Result<CutReport> {
    let mut planner = Planner {
        state,
        options,
        random: Random::new(options.seed),
        lengths: HashMap::new(),
        visited: HashSet::new(),
        report: CutReport::default(),
    };
    let survivors = planner.directory(ROOT)?;
    let backing = &state.backing;
    let mut staging_name = backing
        .file_name()
        .ok_or_else(|| io::Error::other("the backing directory has no name"))?
        .to_os_string();
    staging_name.push(".power-cut");
    let staging = backing.with_file_name(staging_name);
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    write_directory(state, &survivors, &staging)?;
    fs::remove_dir_all(backing)?;
    fs::rename(&staging, backing)?;
    Ok(planner.report)
}
