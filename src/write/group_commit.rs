//! Group commit: writers queue; the one at the front leads a group of the
//! writers behind it, appends their batches to the log as one record, syncs
//! once if any of them asked for it, inserts into the memtable, publishes
//! the new sequence, and hands every member the group's outcome.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::batch::{WriteBatch, apply_to_memtable};
use super::queue::PendingWrite;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::stats::Counters;
use crate::version::filename;

/// A group of writes never grows past this many bytes of batches.
const MAX_GROUP_BYTES: usize = 1 << 20;

impl Engine {
    /// Applies `batch` as part of some group; returns once the group is in
    /// the memtable (and durable, if `sync`).
    pub(crate) fn write(&self, batch: WriteBatch, sync: bool) -> Result<()> {
        let mut queue = self.queue.lock();
        let id = queue.next_id;
        queue.next_id += 1;
        queue.waiting.push_back(PendingWrite { id, batch, sync });
        loop {
            if let Some(result) = queue.finished.remove(&id) {
                return result;
            }
            if !queue.leader_active && queue.waiting.front().is_some_and(|w| w.id == id) {
                break;
            }
            self.queue_changed.wait(&mut queue);
        }
        // This writer leads a group: itself and whoever queued behind it.
        queue.leader_active = true;
        let mut group = Vec::new();
        let mut group_bytes = 0;
        while let Some(next) = queue.waiting.front() {
            let size = next.batch.builder.encoded_len();
            if !group.is_empty() && group_bytes + size > MAX_GROUP_BYTES {
                break;
            }
            group_bytes += size;
            group.extend(queue.waiting.pop_front());
        }
        drop(queue);

        let result = self.write_group(&mut group);

        let mut queue = self.queue.lock();
        for member in group.iter().filter(|member| member.id != id) {
            // Every member sees the leader's own error (a full disk stays
            // `StorageFull` for all of them).
            queue.finished.insert(member.id, result.clone());
        }
        queue.leader_active = false;
        self.queue_changed.notify_all();
        result
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
        let result = work();
        let mut queue = self.queue.lock();
        queue.leader_active = false;
        self.queue_changed.notify_all();
        result
    }

    fn write_group(&self, group: &mut [PendingWrite]) -> Result<()> {
        // The leader's own batch becomes the group's: no copy for a group of
        // one, one append per follower otherwise.
        let (first, followers) = group
            .split_first_mut()
            .expect("a group holds at least its leader");
        let mut merged = std::mem::take(&mut first.batch.builder);
        for member in followers.iter() {
            merged.append_encoded(&member.batch.builder);
        }
        let sync = group.iter().any(|member| member.sync);

        let (mem, sequence) = {
            let mut state = self.state.lock();
            state.check_healthy()?;
            self.make_room(&mut state, merged.encoded_len())?;
            (Arc::clone(&state.mem), state.last_sequence + 1)
        };
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
        {
            // The log is written before the memtable.
            let mut log = self.log.lock();
            let written = log
                .writer
                .add_record(&payload)
                .and_then(|()| if sync { log.writer.sync() } else { Ok(()) });
            if let Err(source) = written {
                let path = self.directory.join(filename::log(log.number));
                let error = Error::io(path, "append to", source);
                self.poison(&error);
                return Err(error);
            }
        }
        Counters::add(&self.counters.wal_bytes, payload.len() as u64);
        Counters::add(&self.counters.write_groups, 1);
        Counters::add(&self.counters.writes, group.len() as u64);
        if sync {
            Counters::add(&self.counters.wal_syncs, 1);
        }
        apply_to_memtable(&mem, &payload)?;
        let last = sequence + u64::from(count) - 1;
        // `last_sequence` is the state's; readers look only at the atomic
        // (`Engine::latest` pairs it with the published sources).
        let mut state = self.state.lock();
        state.last_sequence = last;
        self.visible_sequence.store(last, Ordering::Release);
        Ok(())
    }
}
