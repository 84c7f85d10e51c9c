//! The negative control of the power-loss tests: the real file system with
//! file and/or directory syncs turned into no-ops. A database on it
//! acknowledges writes that are not durable, which a kill -9 test cannot
//! see (the page cache survives) and a power-loss test must.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use strata::fs::{FileLock, FileSystem, OsFs, ReadableFile, WritableFile};

/// Which syncs the negative control skips (`all`, `files`, `directories`
/// as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkippedSyncs {
    /// `WritableFile::sync` and `FileSystem::sync_dir`.
    All,
    /// `WritableFile::sync` only.
    Files,
    /// `FileSystem::sync_dir` only.
    Directories,
}

impl SkippedSyncs {
    /// The name [`SkippedSyncs::from_str`](std::str::FromStr) reads.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SkippedSyncs::All => "all",
            SkippedSyncs::Files => "files",
            SkippedSyncs::Directories => "directories",
        }
    }
}

impl std::str::FromStr for SkippedSyncs {
    type Err = String;

    fn from_str(text: &str) -> Result<SkippedSyncs, String> {
        match text {
            "all" => Ok(SkippedSyncs::All),
            "files" => Ok(SkippedSyncs::Files),
            "directories" => Ok(SkippedSyncs::Directories),
            other => Err(format!(
                "unknown sync kind {other:?}: expected all, files or directories"
            )),
        }
    }
}

/// [`OsFs`] whose `WritableFile::sync` and/or `sync_dir` do nothing.
#[derive(Debug, Clone, Copy)]
pub struct NoSyncFs(pub SkippedSyncs);

impl NoSyncFs {
    fn wrap(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        match self.0 {
            SkippedSyncs::All | SkippedSyncs::Files => Box::new(NoSyncFile(file)),
            SkippedSyncs::Directories => file,
        }
    }
}

struct NoSyncFile(Box<dyn WritableFile>);

impl Write for NoSyncFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl WritableFile for NoSyncFile {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FileSystem for NoSyncFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(self.wrap(OsFs.create(path)?))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(self.wrap(OsFs.open_append(path)?))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>> {
        OsFs.open_read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        OsFs.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        OsFs.remove(path)
    }

    fn list(&self, directory: &Path) -> io::Result<Vec<String>> {
        OsFs.list(directory)
    }

    fn create_dir_all(&self, directory: &Path) -> io::Result<()> {
        OsFs.create_dir_all(directory)
    }

    fn sync_dir(&self, directory: &Path) -> io::Result<()> {
        match self.0 {
            SkippedSyncs::All | SkippedSyncs::Directories => Ok(()),
            SkippedSyncs::Files => OsFs.sync_dir(directory),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        OsFs.exists(path)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        OsFs.lock(path)
    }
}
