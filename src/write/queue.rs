//! The group-commit queue's data: writers waiting their turn, whether a
//! leader is active, and the outcomes handed to followers.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::batch::WriteBatch;
use crate::error::Result;

#[derive(Default)]
pub(crate) struct WriteQueue {
    pub(crate) next_id: u64,
    pub(crate) waiting: VecDeque<PendingWrite>,
    /// A writer (or a flush) holds the leader role.
    pub(crate) leader_active: bool,
    /// Outcomes for the followers of finished groups, by id.
    pub(crate) finished: HashMap<u64, Result<()>>,
    /// Writers in the last group that synced the log.
    pub(crate) last_synced_group: usize,
    /// How long that group's append and sync took.
    pub(crate) last_sync: Duration,
    /// While a leader waits for writers to join its synced group: how many
    /// writers it waits for. The writer that makes the queue that long
    /// wakes it (`Engine::group_gathered`).
    pub(crate) gathering: Option<usize>,
    /// An empty vector with the capacity of past groups, for the next
    /// leader to collect its group in.
    pub(crate) spare_group: Vec<PendingWrite>,
}

pub(crate) struct PendingWrite {
    pub(crate) id: u64,
    pub(crate) batch: WriteBatch,
    pub(crate) sync: bool,
}
