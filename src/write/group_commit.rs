//! Group commit: writers queue; the one at the front leads a group of the
//! writers behind it, appends their batches to the log as one record, syncs
//! once if any of them asked for it, inserts into the memtable, publishes
//! the new sequence, and hands every member the group's outcome.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::MutexGuard;

use super::batch::{WriteBatch, apply_to_memtable};
use super::queue::{PendingWrite, WriteQueue};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::stats::Counters;
use crate::version::filename;
use crate::write::live_log::LiveLog;

/// A group of writes never grows past this many bytes of batches.
const MAX_GROUP_BYTES: usize = 1 << 20;

/// The longest a leader waits for writers to join a synced group
/// ([`Engine::gather`]), however slow the last sync was.
const MAX_GATHER_WAIT: Duration = Duration::from_millis(2);

impl Engine {
    /// Applies `batch` as part of some group; returns once the group is in
    /// the memtable (and durable, if `sync`).
    pub(crate) fn write(&self, batch: WriteBatch, sync: bool) -> Result<()> {
        let mut queue = self.queue.lock();
        let id = queue.next_id;
        queue.next_id += 1;
        queue.waiting.push_back(PendingWrite { id, batch, sync });
        if queue
            .gathering
            .is_some_and(|target| queue.waiting.len() >= target)
        {
            self.group_gathered.notify_one();
        }
        loop {
            if !queue.finished.is_empty()
                && let Some(result) = queue.finished.remove(&id)
            {
                return result;
            }
            if !queue.leader_active && queue.waiting.front().is_some_and(|w| w.id == id) {
                break;
            }
            self.queue_changed.wait(&mut queue);
        }
        // This writer leads a group: itself and whoever queued behind it.
        queue.leader_active = true;
        self.gather(&mut queue);
        let leader = queue
            .waiting
            .pop_front()
            .expect("the leader is at the front of the queue");
        // The last group's vector, so that a group costs no allocation.
        let mut followers = std::mem::take(&mut queue.spare_group);
        let mut group_bytes = leader.batch.builder.encoded_len();
        while let Some(next) = queue.waiting.front() {
            let size = next.batch.builder.encoded_len();
            if group_bytes + size > MAX_GROUP_BYTES {
                break;
            }
            group_bytes += size;
            followers.extend(queue.waiting.pop_front());
        }
        drop(queue);

        let (result, panic) = self.lead(|| self.write_group(leader, &followers));

        let mut queue = self.queue.lock();
        if let Ok(Some(sync)) = result {
            queue.last_synced_group = followers.len() + 1;
            queue.last_sync = sync;
        }
        let result = result.map(|_| ());
        for member in &followers {
            // Every member sees the leader's own error (a full disk stays
            // `StorageFull` for all of them).
            queue.finished.insert(member.id, result.clone());
        }
        followers.clear();
        queue.spare_group = followers;
        queue.leader_active = false;
        self.queue_changed.notify_all();
        drop(queue);
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
        result
    }

    /// Runs `work` for the holder of the leader role. A panic in it (a
    /// bug) would leave the role held and every other writer waiting for
    /// ever, with a group maybe half logged: it poisons the database
    /// instead, the leader hands that error to its followers and gives up
    /// the role, and only then goes on panicking (the returned payload).
    fn lead<T>(
        &self,
        work: impl FnOnce() -> Result<T>,
    ) -> (Result<T>, Option<Box<dyn std::any::Any + Send>>) {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
            Ok(result) => (result, None),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|message| (*message).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let path = self.directory.join(filename::log(self.log.lock().number));
                let error = Error::io(
                    path,
                    "write a group to",
                    io::Error::other(format!("the group's leader panicked: {message}")),
                );
                self.poison(&error);
                (Err(error), Some(panic))
            }
        }
    }

    /// Before a group that syncs the log, waits a little for more writers
    /// when the last synced group had more members than the queue holds
    /// now. Concurrent synced writers otherwise alternate between a group
    /// of one (the first writer back from the last group leads at once)
    /// and a group of all the others, two syncs where one would do. The
    /// wait ends when the queue is as long as the last synced group, or
    /// after half the time that group's append and sync took (at most
    /// [`MAX_GATHER_WAIT`]): if nobody comes, this group is delayed by
    /// half a sync, once, and the next one waits for no one. A single
    /// writer never waits, nor does a group without a synced write.
    /// (Neither LevelDB nor RocksDB waits; PostgreSQL's `commit_delay` and
    /// MySQL's `binlog_group_commit_sync_delay` do, for the same reason.)
    fn gather(&self, queue: &mut MutexGuard<'_, WriteQueue>) {
        let syncs = queue.waiting.iter().any(|member| member.sync);
        let Some((target, wait)) = gather_for(
            queue.waiting.len(),
            syncs,
            queue.last_synced_group,
            queue.last_sync,
        ) else {
            return;
        };
        let started = Instant::now();
        let deadline = started + wait;
        queue.gathering = Some(target);
        while queue.waiting.len() < target {
            if self.group_gathered.wait_until(queue, deadline).timed_out() {
                break;
            }
        }
        queue.gathering = None;
        Counters::add(
            &self.counters.group_gather_micros,
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        );
    }

    /// Runs `work` while holding the leader role, so that no write is
    /// between sequence assignment and memtable insertion meanwhile.
    pub(crate) fn exclusively<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut queue = self.queue.lock();
        while queue.leader_active {
            self.queue_changed.wait(&mut queue);
        }
        queue.leader_active = true;
        drop(queue);
        let (result, panic) = self.lead(work);
        let mut queue = self.queue.lock();
        queue.leader_active = false;
        self.queue_changed.notify_all();
        drop(queue);
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
        result
    }

    /// Commits the group; for a group that synced the log, how long its
    /// append and sync took.
    fn write_group(
        &self,
        leader: PendingWrite,
        followers: &[PendingWrite],
    ) -> Result<Option<Duration>> {
        // The leader's own batch becomes the group's: no copy for a group of
        // one, one append per follower otherwise.
        let mut merged = leader.batch.builder;
        for member in followers {
            merged.append_encoded(&member.batch.builder);
        }
        let sync = leader.sync || followers.iter().any(|member| member.sync);

        let mem = {
            let mut state = self.state.lock();
            state.check_healthy()?;
            self.make_room(&mut state, merged.encoded_len())?;
            Arc::clone(&state.mem)
        };
        // Only the leader publishes sequences, so the last one published
        // is the last one assigned.
        let sequence = self.visible() + 1;
        if sync {
            // Once per log: its directory entry and its MANIFEST listing
            // are durable before its first sync is acknowledged.
            if let Err(error) = self.list_logs() {
                self.poison(&error);
                return Err(error);
            }
        }
        let count = merged.count();
        let payload = merged.into_payload(sequence);
        // Timed only when it syncs (the gathering needs it): a non-synced
        // write does not pay for reading the clock.
        let appending = sync.then(Instant::now);
        {
            // The log is written before the memtable.
            let mut log = self.log.lock();
            let prefilled = if sync {
                self.prefill(&mut log, payload.len())
            } else {
                Ok(())
            };
            let written = prefilled
                .and_then(|()| log.writer.add_record(&payload))
                .and_then(|()| if sync { log.writer.sync() } else { Ok(()) });
            if let Err(source) = written {
                let path = self.directory.join(filename::log(log.number));
                let error = Error::io(path, "append to", source);
                self.poison(&error);
                return Err(error);
            }
        }
        let synced = appending.map(|started| started.elapsed());
        // Only the leader counts these.
        Counters::add_alone(&self.counters.wal_bytes, payload.len() as u64);
        Counters::add_alone(&self.counters.write_groups, 1);
        Counters::add_alone(&self.counters.writes, followers.len() as u64 + 1);
        if sync {
            Counters::add_alone(&self.counters.wal_syncs, 1);
        }
        if let Err(error) = apply_to_memtable(&mem, &payload) {
            // The record is in the log and maybe part of it in the
            // memtable, its sequences unpublished: the next group would
            // number its writes again. Not expected (the batches are
            // `WriteBatch`es), but no later write may follow it.
            self.poison(&error);
            return Err(error);
        }
        // Readers pair the sequence with the published sources
        // (`Engine::latest`).
        self.visible_sequence
            .store(sequence + u64::from(count) - 1, Ordering::Release);
        Ok(synced)
    }
}

impl Engine {
    /// Before a synced record of `payload_bytes` that would go past the
    /// live log's prefilled zeros, writes more of them
    /// (`Options::wal_prefill_bytes`), made durable by the group's own
    /// sync. Only synced groups do: their sync is what the zeros make
    /// cheaper.
    fn prefill(&self, log: &mut LiveLog, payload_bytes: usize) -> io::Result<()> {
        let Some(step) = self.options.wal_prefill_step() else {
            return Ok(());
        };
        let end = record_end(log.writer.file_offset(), payload_bytes);
        if end <= log.prefilled {
            return Ok(());
        }
        let until = end.next_multiple_of(step).saturating_add(step);
        let from = log.prefilled.max(log.writer.file_offset());
        match log.writer.get_mut().prefill_zeros(until) {
            Ok(()) => {
                log.prefilled = until;
                Counters::add(&self.counters.wal_prefill_bytes, until - from);
                Ok(())
            }
            // The zeros only make syncs cheaper: without room for them (or
            // a file system that cannot write them) the log is appended to
            // as it would be without the prefill (no more zeros for it),
            // and the write fails only if its own bytes do not fit. Zeros
            // written before the disk filled up are overwritten by the
            // record or stay as padding; nothing was synced, so no earlier
            // write's durability is in question.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::StorageFull
                        | io::ErrorKind::QuotaExceeded
                        | io::ErrorKind::FileTooLarge
                        | io::ErrorKind::Unsupported
                ) =>
            {
                log.prefilled = u64::MAX;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

/// Where a record of `payload_bytes` appended at `offset` ends at most:
/// each block it touches adds a header, and the block before it a trailer
/// of fewer than a header's bytes.
fn record_end(offset: u64, payload_bytes: usize) -> u64 {
    let payload = payload_bytes as u64;
    let block = strata_wal::DEFAULT_BLOCK_SIZE as u64;
    let header = strata_wal::LEGACY_HEADER_SIZE as u64;
    let blocks = payload / (block - 2 * header) + 2;
    offset + payload + blocks * 2 * header
}

/// Whether a leader with `queued` writers in the queue (itself included)
/// waits for more before its group ([`Engine::gather`]): for how many in
/// all, and how long at most.
fn gather_for(
    queued: usize,
    syncs: bool,
    last_synced_group: usize,
    last_sync: Duration,
) -> Option<(usize, Duration)> {
    if !syncs || queued >= last_synced_group {
        return None;
    }
    Some((last_synced_group, (last_sync / 2).min(MAX_GATHER_WAIT)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_ends_before_its_bound_wherever_it_starts() {
        use strata_wal::{Writer, WriterOptions};
        let block = strata_wal::DEFAULT_BLOCK_SIZE;
        for start in [0, 1, 100, block - 7, block - 6, block - 1, block] {
            for payload_bytes in [0, 1, 100, block - 14, block, 3 * block + 5, 100_000] {
                let mut writer = Writer::new(Vec::new(), WriterOptions::default());
                let filler = start.saturating_sub(7);
                if start > 0 {
                    writer.add_record(&vec![1; filler]).expect("to memory");
                }
                let offset = writer.file_offset();
                writer
                    .add_record(&vec![2; payload_bytes])
                    .expect("to memory");
                assert!(
                    writer.file_offset() <= record_end(offset, payload_bytes),
                    "{payload_bytes} bytes from {offset}"
                );
            }
        }
    }

    #[test]
    fn a_leader_waits_only_for_a_synced_group_smaller_than_the_last_one() {
        let sync = Duration::from_micros(240);
        // A single synced writer: its last group was itself.
        assert_eq!(gather_for(1, true, 1, sync), None);
        // No synced write in the queue: nothing to share.
        assert_eq!(gather_for(1, false, 16, sync), None);
        // As many writers queued as last time, or more.
        assert_eq!(gather_for(16, true, 16, sync), None);
        assert_eq!(gather_for(20, true, 16, sync), None);
        // Fewer: wait for the last group's size, half a sync at most.
        assert_eq!(
            gather_for(1, true, 16, sync),
            Some((16, Duration::from_micros(120)))
        );
        // However slow the last sync, the wait is bounded.
        assert_eq!(
            gather_for(3, true, 8, Duration::from_secs(1)),
            Some((8, MAX_GATHER_WAIT))
        );
    }
}
