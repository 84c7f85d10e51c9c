//! A file system that passes every call to a `SimFs` but hands each file
//! it creates to a wrapper first (to hold, fail or panic its writes), and
//! a wait with a timeout for work that must not hang. Included with
//! `#[path]` by the tests that use it.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use strata::fs::{FileLock, FileSystem, ReadableFile, SimFs, WritableFile};

/// Wraps a created file (or returns it as it is), given its path.
pub type Wrap = Box<dyn Fn(&Path, Box<dyn WritableFile>) -> Box<dyn WritableFile> + Send + Sync>;

pub struct WrappedFs {
    pub inner: SimFs,
    pub wrap: Wrap,
}

impl fmt::Debug for WrappedFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedFs")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl FileSystem for WrappedFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok((self.wrap)(path, self.inner.create(path)?))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.inner.open_append(path)
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>> {
        self.inner.open_read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }

    fn list(&self, directory: &Path) -> io::Result<Vec<String>> {
        self.inner.list(directory)
    }

    fn create_dir_all(&self, directory: &Path) -> io::Result<()> {
        self.inner.create_dir_all(directory)
    }

    fn sync_dir(&self, directory: &Path) -> io::Result<()> {
        self.inner.sync_dir(directory)
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
}

/// Runs `work` on a thread and waits up to a minute for it (`None`: it did
/// not return in that time).
pub fn returns_within_a_minute<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    finished.recv_timeout(Duration::from_secs(60)).ok()
}
