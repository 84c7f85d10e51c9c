//! The write path: a batch joins the group-commit queue, its leader appends
//! one log record for the group and syncs once, then inserts into the
//! memtable; a full memtable switches to a new log and memtable.

pub(crate) mod batch;
pub(crate) mod group_commit;
pub(crate) mod live_log;
pub(crate) mod log;
pub(crate) mod queue;
