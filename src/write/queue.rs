//! The group-commit queue's data: writers waiting their turn, whether a
//! leader is active, and what each waiting writer is woken by.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::batch::WriteBatch;
use crate::error::Result;

#[derive(Default)]
pub(crate) struct WriteQueue {
    pub(crate) waiting: VecDeque<PendingWrite>,
    /// A writer (or a flush) holds the leader role.
    pub(crate) leader_active: bool,
    /// Callers of `Engine::exclusively` waiting for the leader role: while
    /// there are any, a finishing leader frees the role for them instead of
    /// passing it to the next writer, so that writers cannot starve them.
    pub(crate) exclusive_waiting: usize,
    /// Writers in the last group that synced the log.
    pub(crate) last_synced_group: usize,
    /// How long that group's append and sync took.
    pub(crate) last_sync: Duration,
    /// While a leader waits for writers to join its synced group: how many
    /// writers it waits for. The writer that makes the queue that long
    /// wakes it (`Engine::group_gathered`).
    pub(crate) gathering: Option<usize>,
}

pub(crate) struct PendingWrite {
    pub(crate) batch: WriteBatch,
    pub(crate) sync: bool,
    /// Where the writer sleeps until its group is done or it is to lead.
    pub(crate) waiter: Arc<Waiter>,
}

/// What a waiting writer is woken for.
pub(crate) enum Turn {
    Waiting,
    /// The role of leader passed to this writer, at the front of the queue.
    Lead,
    /// Its group is committed (or failed): the outcome.
    Done(Result<()>),
}

/// One writer thread's place to sleep. Each writer has its own, so a
/// leader wakes exactly the members of its group, each at once, instead of
/// waking every waiter to contend for the queue's lock one after another
/// (RocksDB's `WriteThread` keeps a state per writer for the same reason).
pub(crate) struct Waiter {
    turn: Mutex<Turn>,
    woken: Condvar,
}

thread_local! {
    /// A thread has one write in flight at a time, so its waiter is reused.
    static WAITER: Arc<Waiter> = Arc::new(Waiter {
        turn: Mutex::new(Turn::Waiting),
        woken: Condvar::new(),
    });
}

impl Waiter {
    /// This thread's waiter. Its turn is `Waiting`: each wake-up is taken
    /// by [`Waiter::wait`] before the thread queues again.
    pub(crate) fn for_this_thread() -> Arc<Waiter> {
        WAITER.with(Arc::clone)
    }

    /// Sleeps until [`Waiter::wake`], and takes the turn it was given.
    pub(crate) fn wait(&self) -> Turn {
        let mut turn = self.turn.lock();
        while matches!(*turn, Turn::Waiting) {
            self.woken.wait(&mut turn);
        }
        std::mem::replace(&mut *turn, Turn::Waiting)
    }

    pub(crate) fn wake(&self, turn: Turn) {
        *self.turn.lock() = turn;
        self.woken.notify_one();
    }
}
