//! The group-commit queue's data: writers waiting their turn, whether a
//! leader is active, and the outcomes handed to followers.

use std::collections::{HashMap, VecDeque};

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
}

pub(crate) struct PendingWrite {
    pub(crate) id: u64,
    pub(crate) batch: WriteBatch,
    pub(crate) sync: bool,
}
