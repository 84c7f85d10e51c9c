//! The live tree and what of it is durable.
//!
//! The live tree is mirrored one to one in the backing directory: every
//! operation is applied there at once, so reads see exactly what the
//! writer wrote. Beside it, each node remembers what a power cut would
//! keep:
//!
//! - a file: the length made durable by its last `fsync`/`fdatasync`.
//!   The bytes below that length stay in the backing file as long as the
//!   file is only appended to; a write or truncation that would change
//!   them copies the pages it touches into memory first (`saved_pages`),
//!   each page once per sync interval.
//! - a directory: its entries as of its last `fsync` (`durable_entries`)
//!   and the entry operations since then, in order (`pending`).
//!
//! Each node keeps its backing file open, so a file that was unlinked or
//! replaced can still come back at a power cut if the unlink was not
//! durable.

use std::collections::{BTreeMap, HashMap, btree_map};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, INodeNo};

/// The inode number of the mount's root directory.
pub(crate) const ROOT: u64 = 1;

/// A name in a directory: a file or a directory.
pub(crate) struct Node {
    /// The directory that holds the node in the live tree (the last one,
    /// if it was unlinked since).
    pub(crate) parent: u64,
    /// The node's name in `parent`.
    pub(crate) name: OsString,
    pub(crate) kind: NodeKind,
}

pub(crate) enum NodeKind {
    File(FileNode),
    Directory(DirectoryNode),
}

pub(crate) struct FileNode {
    /// The backing file, open for reading and writing.
    pub(crate) file: File,
    /// Bytes `0..durable_length` are durable.
    pub(crate) durable_length: u64,
    /// Durable bytes that a write or truncation since the last sync
    /// changed in the backing file, by page ([`SAVED_PAGE_BYTES`]): page
    /// index to the page's bytes as of the sync (the last page may be
    /// short). Every other durable byte is still in the backing file.
    pub(crate) saved_pages: BTreeMap<u64, Vec<u8>>,
}

/// The size of the pieces of durable bytes saved before they change: a
/// log overwritten just past its last sync costs a page, not the log.
pub(crate) const SAVED_PAGE_BYTES: u64 = 4096;

impl FileNode {
    /// Whether a write or truncation since the last sync changed durable
    /// bytes.
    pub(crate) fn changed_durable_bytes(&self) -> bool {
        !self.saved_pages.is_empty()
    }

    /// Writes the saved pages back over `output` (the backing file or a
    /// copy of it, at least as long as the durable bytes).
    pub(crate) fn restore_saved_pages(&self, output: &File) -> io::Result<()> {
        for (page, bytes) in &self.saved_pages {
            output.write_all_at(bytes, page * SAVED_PAGE_BYTES)?;
        }
        Ok(())
    }
}

#[derive(Default)]
pub(crate) struct DirectoryNode {
    /// The live entries: name to inode.
    pub(crate) entries: BTreeMap<OsString, u64>,
    /// The entries as of the last `fsync` of the directory.
    pub(crate) durable_entries: BTreeMap<OsString, u64>,
    /// Entry operations since the last `fsync`, oldest first.
    pub(crate) pending: Vec<DirectoryOperation>,
}

/// One change to a directory's entries.
#[derive(Debug, Clone)]
pub(crate) enum DirectoryOperation {
    /// A name now refers to `inode` (a creation, or the arrival end of a
    /// rename from another directory), replacing whatever it named.
    Link { name: OsString, inode: u64 },
    /// A name was removed (an unlink, or the departure end of a rename to
    /// another directory).
    Unlink { name: OsString },
    /// A rename inside this directory: atomic, as journaling file systems
    /// make it.
    Rename {
        from: OsString,
        to: OsString,
        inode: u64,
    },
}

/// The whole file system's state.
pub(crate) struct State {
    pub(crate) backing: PathBuf,
    pub(crate) nodes: HashMap<u64, Node>,
    next_inode: u64,
}

fn error(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

impl State {
    /// The state of a backing directory as found: everything in it is
    /// durable (it is what the last power cut left, or what the test put
    /// there before mounting).
    pub(crate) fn scan(backing: &Path) -> io::Result<State> {
        let mut state = State {
            backing: backing.to_path_buf(),
            nodes: HashMap::new(),
            next_inode: ROOT + 1,
        };
        state.nodes.insert(
            ROOT,
            Node {
                parent: ROOT,
                name: OsString::new(),
                kind: NodeKind::Directory(DirectoryNode::default()),
            },
        );
        state.scan_directory(ROOT, backing)?;
        Ok(state)
    }

    fn scan_directory(&mut self, directory: u64, path: &Path) -> io::Result<()> {
        let mut found = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let file_type = entry.file_type()?;
            let name = entry.file_name();
            let inode = if file_type.is_dir() {
                let inode = self.add_node(
                    directory,
                    &name,
                    NodeKind::Directory(DirectoryNode::default()),
                );
                self.scan_directory(inode, &entry.path())?;
                inode
            } else if file_type.is_file() {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(entry.path())?;
                let durable_length = file.metadata()?.len();
                self.add_node(
                    directory,
                    &name,
                    NodeKind::File(FileNode {
                        file,
                        durable_length,
                        saved_pages: BTreeMap::new(),
                    }),
                )
            } else {
                // Symbolic links and special files are not part of the model.
                continue;
            };
            found.push((name, inode));
        }
        let node = self.directory_mut(directory)?;
        for (name, inode) in found {
            node.entries.insert(name.clone(), inode);
            node.durable_entries.insert(name, inode);
        }
        Ok(())
    }

    fn add_node(&mut self, parent: u64, name: &OsStr, kind: NodeKind) -> u64 {
        let inode = self.next_inode;
        self.next_inode += 1;
        self.nodes.insert(
            inode,
            Node {
                parent,
                name: name.to_os_string(),
                kind,
            },
        );
        inode
    }

    fn node(&self, inode: u64) -> io::Result<&Node> {
        self.nodes.get(&inode).ok_or_else(|| error(libc::ENOENT))
    }

    pub(crate) fn file(&self, inode: u64) -> io::Result<&FileNode> {
        match &self.node(inode)?.kind {
            NodeKind::File(file) => Ok(file),
            NodeKind::Directory(_) => Err(error(libc::EISDIR)),
        }
    }

    fn file_mut(&mut self, inode: u64) -> io::Result<&mut FileNode> {
        match self.nodes.get_mut(&inode).map(|node| &mut node.kind) {
            Some(NodeKind::File(file)) => Ok(file),
            Some(NodeKind::Directory(_)) => Err(error(libc::EISDIR)),
            None => Err(error(libc::ENOENT)),
        }
    }

    pub(crate) fn directory(&self, inode: u64) -> io::Result<&DirectoryNode> {
        match &self.node(inode)?.kind {
            NodeKind::Directory(directory) => Ok(directory),
            NodeKind::File(_) => Err(error(libc::ENOTDIR)),
        }
    }

    fn directory_mut(&mut self, inode: u64) -> io::Result<&mut DirectoryNode> {
        match self.nodes.get_mut(&inode).map(|node| &mut node.kind) {
            Some(NodeKind::Directory(directory)) => Ok(directory),
            Some(NodeKind::File(_)) => Err(error(libc::ENOTDIR)),
            None => Err(error(libc::ENOENT)),
        }
    }

    /// The backing path of a directory in the live tree.
    fn directory_path(&self, inode: u64) -> io::Result<PathBuf> {
        let mut names = Vec::new();
        let mut current = inode;
        while current != ROOT {
            let node = self.node(current)?;
            names.push(node.name.clone());
            current = node.parent;
            if names.len() > self.nodes.len() {
                return Err(error(libc::ELOOP));
            }
        }
        let mut path = self.backing.clone();
        for name in names.iter().rev() {
            path.push(name);
        }
        Ok(path)
    }

    /// The backing path of a file that is still linked in the live tree.
    pub(crate) fn live_file_path(&self, inode: u64) -> Option<PathBuf> {
        let node = self.nodes.get(&inode)?;
        let linked = self.directory(node.parent).ok()?.entries.get(&node.name) == Some(&inode);
        if !linked {
            return None;
        }
        Some(self.directory_path(node.parent).ok()?.join(&node.name))
    }

    /// The attributes the kernel sees for `inode`.
    pub(crate) fn attributes(&self, inode: u64) -> io::Result<FileAttr> {
        let (metadata, kind) = match &self.node(inode)?.kind {
            NodeKind::File(file) => (file.file.metadata()?, FileType::RegularFile),
            NodeKind::Directory(_) => (
                fs::metadata(self.directory_path(inode)?)?,
                FileType::Directory,
            ),
        };
        let time = |seconds: i64, nanoseconds: i64| {
            UNIX_EPOCH
                + Duration::new(
                    u64::try_from(seconds).unwrap_or(0),
                    u32::try_from(nanoseconds).unwrap_or(0),
                )
        };
        Ok(FileAttr {
            ino: INodeNo(inode),
            size: metadata.len(),
            blocks: metadata.blocks(),
            atime: time(metadata.atime(), metadata.atime_nsec()),
            mtime: time(metadata.mtime(), metadata.mtime_nsec()),
            ctime: time(metadata.ctime(), metadata.ctime_nsec()),
            crtime: SystemTime::UNIX_EPOCH,
            kind,
            perm: (metadata.mode() & 0o7777) as u16,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: metadata.uid(),
            gid: metadata.gid(),
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    pub(crate) fn lookup(&self, parent: u64, name: &OsStr) -> io::Result<FileAttr> {
        let inode = *self
            .directory(parent)?
            .entries
            .get(name)
            .ok_or_else(|| error(libc::ENOENT))?;
        self.attributes(inode)
    }

    /// Records a new name in `parent` (its creation is not durable until
    /// `parent` is synced).
    fn link(&mut self, parent: u64, name: &OsStr, inode: u64) -> io::Result<()> {
        let directory = self.directory_mut(parent)?;
        directory.entries.insert(name.to_os_string(), inode);
        directory.pending.push(DirectoryOperation::Link {
            name: name.to_os_string(),
            inode,
        });
        Ok(())
    }

    /// Creates a file, or opens an existing one as `open(2)` with
    /// `O_CREAT` and `flags` would (`O_EXCL` fails, `O_TRUNC` truncates);
    /// returns its inode.
    pub(crate) fn create_file(&mut self, parent: u64, name: &OsStr, flags: i32) -> io::Result<u64> {
        if let Some(&existing) = self.directory(parent)?.entries.get(name) {
            if flags & libc::O_EXCL != 0 {
                return Err(error(libc::EEXIST));
            }
            self.file(existing)?;
            if flags & libc::O_TRUNC != 0 {
                self.set_length(existing, 0)?;
            }
            return Ok(existing);
        }
        let path = self.directory_path(parent)?.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        let inode = self.add_node(
            parent,
            name,
            NodeKind::File(FileNode {
                file,
                durable_length: 0,
                saved_pages: BTreeMap::new(),
            }),
        );
        self.link(parent, name, inode)?;
        Ok(inode)
    }

    pub(crate) fn make_directory(&mut self, parent: u64, name: &OsStr) -> io::Result<u64> {
        if self.directory(parent)?.entries.contains_key(name) {
            return Err(error(libc::EEXIST));
        }
        fs::create_dir(self.directory_path(parent)?.join(name))?;
        let inode = self.add_node(parent, name, NodeKind::Directory(DirectoryNode::default()));
        self.link(parent, name, inode)?;
        Ok(inode)
    }

    pub(crate) fn read(&self, inode: u64, offset: u64, size: u32) -> io::Result<Vec<u8>> {
        let file = &self.file(inode)?.file;
        let mut bytes = vec![0; size as usize];
        let mut filled = 0;
        while filled < bytes.len() {
            match file.read_at(&mut bytes[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        bytes.truncate(filled);
        Ok(bytes)
    }

    /// Saves the durable bytes of the pages that `start..end` touches
    /// before the backing file's bytes there change (each page once per
    /// sync interval; bytes at or past the durable length need no saving).
    fn save_durable_bytes(file: &mut FileNode, start: u64, end: u64) -> io::Result<()> {
        let end = end.min(file.durable_length);
        if start >= end {
            return Ok(());
        }
        for page in start / SAVED_PAGE_BYTES..end.div_ceil(SAVED_PAGE_BYTES) {
            if let btree_map::Entry::Vacant(vacant) = file.saved_pages.entry(page) {
                let from = page * SAVED_PAGE_BYTES;
                let to = (from + SAVED_PAGE_BYTES).min(file.durable_length);
                let length = usize::try_from(to - from).map_err(|_| error(libc::EFBIG))?;
                let mut bytes = vec![0; length];
                // Unsaved pages still hold their durable bytes: a
                // truncation saved every page past its new length first.
                file.file.read_exact_at(&mut bytes, from)?;
                vacant.insert(bytes);
            }
        }
        Ok(())
    }

    pub(crate) fn write(&mut self, inode: u64, offset: u64, bytes: &[u8]) -> io::Result<u32> {
        let file = self.file_mut(inode)?;
        Self::save_durable_bytes(file, offset, offset.saturating_add(bytes.len() as u64))?;
        file.file.write_all_at(bytes, offset)?;
        u32::try_from(bytes.len()).map_err(|_| error(libc::EINVAL))
    }

    pub(crate) fn set_length(&mut self, inode: u64, length: u64) -> io::Result<()> {
        let file = self.file_mut(inode)?;
        Self::save_durable_bytes(file, length, u64::MAX)?;
        file.file.set_len(length)
    }

    /// `fsync` or `fdatasync` of a file: its bytes (not its name) are durable.
    pub(crate) fn sync_file(&mut self, inode: u64) -> io::Result<()> {
        // The backing file itself need not reach its disk: the durable
        // state is this model, and the backing directory only has to
        // survive the test process, not a real power cut.
        let file = self.file_mut(inode)?;
        file.durable_length = file.file.metadata()?.len();
        file.saved_pages.clear();
        Ok(())
    }

    /// `fsync` of a directory: its entries, as they are now, are durable.
    pub(crate) fn sync_directory(&mut self, inode: u64) -> io::Result<()> {
        let directory = self.directory_mut(inode)?;
        directory.durable_entries = directory.entries.clone();
        directory.pending.clear();
        Ok(())
    }

    /// Removes a name: a file (`directory == false`) or an empty directory.
    pub(crate) fn remove(&mut self, parent: u64, name: &OsStr, directory: bool) -> io::Result<()> {
        let inode = *self
            .directory(parent)?
            .entries
            .get(name)
            .ok_or_else(|| error(libc::ENOENT))?;
        let path = self.directory_path(parent)?.join(name);
        match (&self.node(inode)?.kind, directory) {
            (NodeKind::File(_), false) => fs::remove_file(path)?,
            (NodeKind::Directory(node), true) => {
                if !node.entries.is_empty() {
                    return Err(error(libc::ENOTEMPTY));
                }
                fs::remove_dir(path)?;
            }
            (NodeKind::File(_), true) => return Err(error(libc::ENOTDIR)),
            (NodeKind::Directory(_), false) => return Err(error(libc::EISDIR)),
        }
        let parent_node = self.directory_mut(parent)?;
        parent_node.entries.remove(name);
        parent_node.pending.push(DirectoryOperation::Unlink {
            name: name.to_os_string(),
        });
        Ok(())
    }

    pub(crate) fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        new_parent: u64,
        new_name: &OsStr,
        no_replace: bool,
    ) -> io::Result<()> {
        let inode = *self
            .directory(parent)?
            .entries
            .get(name)
            .ok_or_else(|| error(libc::ENOENT))?;
        let replaced = self.directory(new_parent)?.entries.get(new_name).copied();
        if replaced.is_some() && no_replace {
            return Err(error(libc::EEXIST));
        }
        if replaced == Some(inode) {
            return Ok(());
        }
        fs::rename(
            self.directory_path(parent)?.join(name),
            self.directory_path(new_parent)?.join(new_name),
        )?;
        if parent == new_parent {
            let directory = self.directory_mut(parent)?;
            directory.entries.remove(name);
            directory.entries.insert(new_name.to_os_string(), inode);
            directory.pending.push(DirectoryOperation::Rename {
                from: name.to_os_string(),
                to: new_name.to_os_string(),
                inode,
            });
        } else {
            let from = self.directory_mut(parent)?;
            from.entries.remove(name);
            from.pending.push(DirectoryOperation::Unlink {
                name: name.to_os_string(),
            });
            self.link(new_parent, new_name, inode)?;
        }
        if let Some(node) = self.nodes.get_mut(&inode) {
            node.parent = new_parent;
            node.name = new_name.to_os_string();
        }
        Ok(())
    }

    /// The live entries of a directory with their inodes and kinds.
    pub(crate) fn list(&self, inode: u64) -> io::Result<Vec<(u64, FileType, OsString)>> {
        let directory = self.directory(inode)?;
        let parent = self.node(inode)?.parent;
        let mut listed = vec![
            (inode, FileType::Directory, OsString::from(".")),
            (parent, FileType::Directory, OsString::from("..")),
        ];
        for (name, &child) in &directory.entries {
            let kind = match self.node(child)?.kind {
                NodeKind::File(_) => FileType::RegularFile,
                NodeKind::Directory(_) => FileType::Directory,
            };
            listed.push((child, kind, name.clone()));
        }
        Ok(listed)
    }
}
