//! A panic while a writer leads a group (a bug, here a log file whose
//! write panics) poisons the database: later writes, flushes and syncs
//! return that error instead of waiting for ever for the leader role.
#![allow(clippy::unwrap_used)]

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use strata::fs::{FileLock, FileSystem, ReadableFile, SimFs, WritableFile};
use strata::{Db, ErrorKind, Options};

/// The key whose log record makes the write panic.
const PANIC_KEY: &[u8] = b"panic-now";

#[derive(Debug)]
struct PanickyFs {
    inner: SimFs,
}

struct PanickyLog {
    inner: Box<dyn WritableFile>,
}

impl Write for PanickyLog {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        if buffer
            .windows(PANIC_KEY.len())
            .any(|bytes| bytes == PANIC_KEY)
        {
            panic!("a log write panicked");
        }
        self.inner.write(buffer)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl WritableFile for PanickyLog {
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }
}

impl FileSystem for PanickyFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = self.inner.create(path)?;
        if path.extension().is_some_and(|extension| extension == "log") {
            return Ok(Box::new(PanickyLog { inner: file }));
        }
        Ok(file)
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

/// Runs `work` on a thread and waits up to a minute for it (`None`: it
/// did not return).
fn returns<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    finished.recv_timeout(Duration::from_secs(60)).ok()
}

#[test]
fn a_panic_while_leading_a_group_poisons_the_database_instead_of_stalling_every_writer() {
    let fs = PanickyFs {
        inner: SimFs::new(),
    };
    let db =
        Arc::new(Db::open_with_fs(Arc::new(fs), Path::new("/db"), Options::default()).unwrap());
    db.put("before", "1").unwrap();

    let panicked = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || db.put(PANIC_KEY, "x")).join()
    };
    assert!(
        panicked.is_err(),
        "the write whose log append panics panics"
    );

    let later = returns({
        let db = Arc::clone(&db);
        move || db.put("after", "2")
    })
    .expect("a write after the panic returns");
    let error = later.expect_err("the database is poisoned");
    assert_eq!(error.kind(), ErrorKind::Poisoned, "{error}");
    assert!(error.to_string().contains("panicked"), "{error}");

    for (what, result) in [
        ("sync_wal", {
            let db = Arc::clone(&db);
            returns(move || db.sync_wal())
        }),
        ("flush", {
            let db = Arc::clone(&db);
            returns(move || db.flush())
        }),
    ] {
        let result = result.unwrap_or_else(|| panic!("{what} returns"));
        assert!(result.is_err(), "{what} after the panic: {result:?}");
    }
    assert_eq!(db.get("before").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(PANIC_KEY).unwrap(), None);
}
