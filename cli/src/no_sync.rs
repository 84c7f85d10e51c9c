//! The negative control of the power-loss test: the real file system with
//! every file and directory sync turned into a no-op. A writer on it
//! acknowledges writes that are not durable, which a kill -9 test cannot
//! see (the page cache survives) and the power-loss test must.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use strata::fs::{FileLock, FileSystem, OsFs, ReadableFile, WritableFile};

/// Which syncs the negative control skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SkippedSyncs {
    /// `WritableFile::sync` and `FileSystem::sync_dir`.
    All,
    /// `WritableFile::sync` only.
    Files,
    /// `FileSystem::sync_dir` only.
    Directories,
}

/// [`OsFs`] whose `WritableFile::sync` and/or `sync_dir` do nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoSyncFs(pub(crate) SkippedSyncs);

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
