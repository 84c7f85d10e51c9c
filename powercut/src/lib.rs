//! Test support: a FUSE file system that forgets, at a simulated power
//! cut, everything the kernel would have lost.
//!
//! Killing a process with SIGKILL keeps the page cache, so it cannot show
//! that a program's `fsync` calls are the right ones: its unsynced writes
//! survive anyway. [`PowerCutFs`] mounts a pass-through view of a backing
//! directory and tracks, per file, how much was made durable by
//! `fsync`/`fdatasync` and, per directory, which entries were made durable
//! by an `fsync` of the directory (creations, renames and unlinks are not
//! durable before it; a file's own `fsync` does not make its name durable).
//! [`PowerCutFs::cut`] unmounts, rewrites the backing directory to the
//! durable state (optionally keeping a torn prefix of unsynced appends and
//! a random subset of unsynced directory operations, from a seed), and
//! mounts again.
//!
//! ```no_run
//! use std::io::Write;
//! use strata_powercut::{CutOptions, PowerCutFs};
//!
//! let backing = tempfile::tempdir()?;
//! let mountpoint = tempfile::tempdir()?;
//! let mut fs = PowerCutFs::mount(backing.path(), mountpoint.path())?;
//! let path = fs.mountpoint().join("file");
//! let mut file = std::fs::File::create(&path)?;
//! file.write_all(b"synced")?;
//! file.sync_all()?;
//! std::fs::File::open(fs.mountpoint())?.sync_all()?; // the name, too
//! file.write_all(b" and lost")?;
//! drop(file);
//! fs.cut(&CutOptions::strict())?;
//! assert_eq!(std::fs::read(&path)?, b"synced");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Mounting needs `/dev/fuse`, and `fusermount3` (package `fuse3`) unless
//! the process is root; [`unavailable_reason`] says what is missing, so
//! tests can skip with a message instead of failing.
//!
//! The model is an ordered, pessimistic one: a synced file is durable up
//! to its length at the sync, and nothing else is, whatever the order of
//! the writes. It does not model a sync that fails, or a disk that
//! reorders or corrupts synced data.

#![forbid(unsafe_code)]

mod cut;
mod filesystem;
mod no_sync;
mod state;

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use fuser::{BackgroundSession, Config, MountOption};
use parking_lot::Mutex;

pub use cut::{CutOptions, CutReport};
pub use no_sync::{NoSyncFs, SkippedSyncs};

use filesystem::PassThrough;
use state::State;

/// How often unmounting is retried while the mount is busy (a killed
/// process's files are closed asynchronously), and how long apart.
const UNMOUNT_ATTEMPTS: u32 = 100;
const UNMOUNT_RETRY_INTERVAL: Duration = Duration::from_millis(50);

/// Why FUSE file systems cannot be mounted here, or `None` if they can
/// (as far as can be told without mounting one).
#[must_use]
pub fn unavailable_reason() -> Option<String> {
    if !Path::new("/dev/fuse").exists() {
        return Some("/dev/fuse does not exist (no FUSE in this kernel or container)".to_owned());
    }
    if find_in_path("fusermount3").is_none() {
        return Some(
            "fusermount3 is not installed (Debian and Ubuntu: apt-get install fuse3)".to_owned(),
        );
    }
    None
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join(program))
        .find(|candidate| candidate.is_file())
}

/// A mounted pass-through file system that can lose power.
///
/// Dropping it unmounts (and keeps the backing directory as it is, with
/// unsynced changes: call [`PowerCutFs::cut`] first to drop them).
pub struct PowerCutFs {
    backing: PathBuf,
    mountpoint: PathBuf,
    state: Arc<Mutex<State>>,
    session: Option<BackgroundSession>,
}

impl std::fmt::Debug for PowerCutFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerCutFs")
            .field("backing", &self.backing)
            .field("mountpoint", &self.mountpoint)
            .field("mounted", &self.session.is_some())
            .finish()
    }
}

impl PowerCutFs {
    /// Mounts a view of `backing` (an existing directory, whose contents
    /// count as durable) at `mountpoint` (an existing empty directory).
    pub fn mount(
        backing: impl AsRef<Path>,
        mountpoint: impl AsRef<Path>,
    ) -> io::Result<PowerCutFs> {
        let backing = backing.as_ref().canonicalize()?;
        let mountpoint = mountpoint.as_ref().canonicalize()?;
        if backing.starts_with(&mountpoint) || mountpoint.starts_with(&backing) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the backing directory {} and the mountpoint {} must not contain each other",
                    backing.display(),
                    mountpoint.display()
                ),
            ));
        }
        let state = Arc::new(Mutex::new(State::scan(&backing)?));
        let session = spawn(&state, &mountpoint)?;
        Ok(PowerCutFs {
            backing,
            mountpoint,
            state,
            session: Some(session),
        })
    }

    /// Where the file system is mounted.
    #[must_use]
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// The backing directory.
    #[must_use]
    pub fn backing(&self) -> &Path {
        &self.backing
    }

    /// Cuts the power: unmounts (every file on the mount must be closed:
    /// kill and reap the processes using it first), rewrites the backing
    /// directory to the durable state plus what `options` keep, and mounts
    /// it again.
    pub fn cut(&mut self, options: &CutOptions) -> io::Result<CutReport> {
        self.unmount_session()?;
        let report = cut::cut(&self.state.lock(), options)?;
        self.state = Arc::new(Mutex::new(State::scan(&self.backing)?));
        self.session = Some(spawn(&self.state, &self.mountpoint)?);
        Ok(report)
    }

    /// Unmounts, leaving the backing directory as it is (unsynced changes
    /// included).
    pub fn unmount(mut self) -> io::Result<()> {
        self.unmount_session()
    }

    fn unmount_session(&mut self) -> io::Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        unmount(&self.mountpoint)?;
        session.join()
    }
}

impl Drop for PowerCutFs {
    fn drop(&mut self) {
        // Nothing useful can be done with an error here; `unmount` reports it.
        let _ = self.unmount_session();
    }
}

fn spawn(state: &Arc<Mutex<State>>, mountpoint: &Path) -> io::Result<BackgroundSession> {
    let mut config = Config::default();
    config
        .mount_options
        .push(MountOption::FSName("strata-powercut".to_owned()));
    let filesystem = PassThrough {
        state: Arc::clone(state),
    };
    fuser::spawn_mount(filesystem, mountpoint, &config).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot mount FUSE at {}: {error}", mountpoint.display()),
        )
    })
}

/// Unmounts with `fusermount3 -u`, retrying while the mount is busy.
fn unmount(mountpoint: &Path) -> io::Result<()> {
    let mut attempt = 0;
    loop {
        let output = Command::new("fusermount3")
            .arg("-u")
            .arg("--")
            .arg(mountpoint)
            .output()?;
        if output.status.success() {
            return Ok(());
        }
        attempt += 1;
        if attempt == UNMOUNT_ATTEMPTS {
            return Err(io::Error::other(format!(
                "cannot unmount {} (is a file on it still open?): {}",
                mountpoint.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        std::thread::sleep(UNMOUNT_RETRY_INTERVAL);
    }
}
