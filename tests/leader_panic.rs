//! A panic while a writer leads a group (a bug, here a log file whose
//! write panics) poisons the database: later writes, flushes and syncs
//! return that error instead of waiting for ever for the leader role.
#![allow(clippy::unwrap_used)]

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use strata::fs::{SimFs, WritableFile};
use strata::{Db, ErrorKind, Options};

#[path = "support/wrapped_fs.rs"]
mod wrapped_fs;

use wrapped_fs::{WrappedFs, returns_within_a_minute as returns};

/// The key whose log record makes the write panic.
const PANIC_KEY: &[u8] = b"panic-now";

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

#[test]
fn a_panic_while_leading_a_group_poisons_the_database_instead_of_stalling_every_writer() {
    let fs = WrappedFs {
        inner: SimFs::new(),
        wrap: Box::new(|path, file| {
            if path.extension().is_some_and(|extension| extension == "log") {
                Box::new(PanickyLog { inner: file })
            } else {
                file
            }
        }),
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
