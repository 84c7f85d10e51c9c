//! The read path: point reads, iterators and snapshots, all at one sequence
//! number over one set of sources.

pub(crate) mod backward;
pub(crate) mod get;
pub(crate) mod iterator;
pub(crate) mod key_range;
pub(crate) mod level_entries;
mod merge;
pub(crate) mod snapshot;
pub(crate) mod snapshot_list;
