//! A MANIFEST edit's sync does not hold the lock writers need: while the
//! flush thread waits for its edit to reach the disk, unsynced writes and
//! reads go on. The MANIFEST's syncs are held at a gate the test opens.
#![allow(clippy::unwrap_used)]

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use strata::fs::{SimFs, WritableFile};
use strata::{Db, Options};

#[path = "support/wrapped_fs.rs"]
mod wrapped_fs;

// A write that waited for the held sync would never finish before the
// gate opens.
use wrapped_fs::{WrappedFs, returns_within_a_minute as finishes_while_the_gate_is_closed};

/// Lets `pass` MANIFEST syncs through, then holds every later one until
/// opened.
#[derive(Debug, Default)]
struct Gate {
    /// `None`: open. `Some(n)`: n more syncs pass, then they wait.
    closes_after: Mutex<Option<u32>>,
    changed: Condvar,
    /// Syncs waiting at the gate now.
    waiting: Mutex<u32>,
    waiting_changed: Condvar,
}

impl Gate {
    fn close_after(&self, pass: u32) {
        *self.closes_after.lock().unwrap() = Some(pass);
    }

    fn open(&self) {
        *self.closes_after.lock().unwrap() = None;
        self.changed.notify_all();
    }

    fn pass(&self) {
        let mut closes_after = self.closes_after.lock().unwrap();
        match closes_after.as_mut() {
            None => return,
            Some(pass) if *pass > 0 => {
                *pass -= 1;
                return;
            }
            Some(_) => {}
        }
        *self.waiting.lock().unwrap() += 1;
        self.waiting_changed.notify_all();
        while closes_after.is_some() {
            closes_after = self.changed.wait(closes_after).unwrap();
        }
        *self.waiting.lock().unwrap() -= 1;
    }

    fn wait_for_a_waiter(&self) {
        let mut waiting = self.waiting.lock().unwrap();
        while *waiting == 0 {
            waiting = self.waiting_changed.wait(waiting).unwrap();
        }
    }
}

struct GatedFile {
    inner: Box<dyn WritableFile>,
    gate: Arc<Gate>,
}

impl Write for GatedFile {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        self.inner.write(buffer)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl WritableFile for GatedFile {
    fn sync(&mut self) -> io::Result<()> {
        self.gate.pass();
        self.inner.sync()
    }
}

#[test]
fn writes_and_reads_go_on_while_a_flush_waits_for_its_manifest_sync() {
    let gate = Arc::new(Gate::default());
    let fs = WrappedFs {
        inner: SimFs::new(),
        wrap: {
            let gate = Arc::clone(&gate);
            Box::new(move |path, file| {
                let manifest = path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("MANIFEST-"));
                if !manifest {
                    return file;
                }
                Box::new(GatedFile {
                    inner: file,
                    gate: Arc::clone(&gate),
                })
            })
        },
    };
    let db =
        Arc::new(Db::open_with_fs(Arc::new(fs), Path::new("/db"), Options::default()).unwrap());
    db.put("before", "1").unwrap();

    // The flush's edit is the first the MANIFEST gets (a memtable switch
    // makes none): it waits.
    gate.close_after(0);
    let flusher = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || db.flush())
    };
    gate.wait_for_a_waiter();

    let written = finishes_while_the_gate_is_closed({
        let db = Arc::clone(&db);
        move || {
            db.put("during", "2").unwrap();
            db.get("before").unwrap()
        }
    });
    gate.open();
    flusher.join().unwrap().unwrap();
    assert_eq!(
        written,
        Some(Some(b"1".to_vec())),
        "a write or a read waited for the flush's MANIFEST sync"
    );
    assert_eq!(db.get("during").unwrap(), Some(b"2".to_vec()));
    // Both edits were logged: the flushed table is in the MANIFEST.
    assert_eq!(db.levels()[0].tables, 1);
}
