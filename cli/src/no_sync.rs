//! The negative control of the power-loss test: the real file system with
//! every file and directory sync turned into a no-op. A writer on it
//! acknowledges writes that are not durable, which a kill -9 test cannot
//! see (the page cache survives) and the power-loss test must.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use strata::fs::{FileLock, FileSystem, OsFs, ReadableFile, WritableFile};

/// [`OsFs`] whose `sync` and `sync_dir` do nothing.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoSyncFs;

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
        Ok(Box::new(NoSyncFile(OsFs.create(path)?)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(NoSyncFile(OsFs.open_append(path)?)))
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

    fn sync_dir(&self, _directory: &Path) -> io::Result<()> {
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        OsFs.exists(path)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        OsFs.lock(path)
    }
}
