//! Recovery (DESIGN.md §5): a read-only pass over the MANIFEST and every
//! live log decides what to apply and what to drop (`plan`), or refuses
//! before anything changes; then the plan is applied (`apply`): dropped
//! bytes copied to `quarantine/`, recovered writes flushed, a new log and
//! MANIFEST written, obsolete files removed. `report` says what happened.

pub(crate) mod apply;
mod log_set;
pub(crate) mod plan;
mod quarantine;
mod report;
mod sort_buffer;

pub use log_set::{LogSetOptions, LogSetRecovery, recover_log_set};
pub use report::{DropReason, DroppedRegion, RecoveryReport};
