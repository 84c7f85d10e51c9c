//! The live write-ahead log, its sync on demand, and its rotation: when the
//! memtable is full, the log is synced and closed, a new log and a new
//! memtable take over, and the full memtable waits for the flush thread.
//!
//! A new log is listed in the MANIFEST lazily, before the first sync of it
//! is acknowledged (a synced write, `sync_wal`, `close`), not when it is
//! created: a switch then waits for one sync (the old log's) instead of
//! three (the old log's, the directory's and the MANIFEST's). Until it is
//! listed a log holds no write acknowledged as durable, so a power cut that
//! loses it whole, directory entry and all, loses only what a power cut
//! may lose. Recovery replays every log on disk at or above the MANIFEST's
//! log number, listed or not, and checks the sequence across them; the
//! listing is what lets it tell that a log with durable writes went
//! missing (DESIGN §5). RocksDB syncs its WAL directory the same way, only
//! before the first synced write to a new log.

use std::time::{Duration, Instant};

use parking_lot::MutexGuard;
use strata_wal::{Writer, WriterOptions};

use crate::directory::sync_dir;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::memtable::MemTable;
use crate::state::State;
use crate::stats::Counters;
use crate::trace::event;
use crate::version::VersionEdit;
use crate::version::filename;

/// Bytes per second that writes are slowed to past
/// `level0_slowdown_writes_trigger` or `soft_pending_compaction_bytes_limit`:
/// RocksDB's `delayed_write_rate` when neither it nor a rate limiter is set
/// (16 MiB/s). RocksDB also lowers and raises the rate as compaction falls
/// further behind or catches up; Strata keeps it fixed.
pub(crate) const DELAYED_WRITE_RATE: u64 = 16 << 20;

/// Adds a write group's `bytes` to those owed past a slowdown trigger;
/// once they take a millisecond or more at [`DELAYED_WRITE_RATE`], the time
/// to sleep for all of them (and nothing is owed any more). Owing bytes,
/// not microseconds, keeps writes of a few dozen bytes from rounding
/// their delay away.
fn slowdown(owed_bytes: &mut u64, bytes: u64) -> Option<Duration> {
    *owed_bytes = owed_bytes.saturating_add(bytes);
    if *owed_bytes < DELAYED_WRITE_RATE / 1_000 {
        return None;
    }
    let micros = std::mem::take(owed_bytes).saturating_mul(1_000_000) / DELAYED_WRITE_RATE;
    Some(Duration::from_micros(micros))
}

impl Engine {
    /// Makes every write acknowledged so far durable. Earlier logs were
    /// synced when they were switched out, so syncing the live one (and
    /// listing it, if it is not yet) is enough. Runs as the group-commit
    /// leader, so no group is half-way through its append meanwhile. A
    /// failed sync poisons the database (a retried fsync can report
    /// success for data the kernel dropped).
    pub(crate) fn sync_wal(&self) -> Result<()> {
        self.exclusively(|| {
            self.state.lock().check_healthy()?;
            self.make_live_log_durable()
        })
    }

    /// Lists the logs the MANIFEST does not list yet ([`Engine::list_logs`])
    /// and flushes and syncs the live log. The caller holds the leader
    /// role (or is closing the database), so no switch runs meanwhile. A
    /// failure poisons the database.
    pub(crate) fn make_live_log_durable(&self) -> Result<()> {
        let result = self.list_logs().and_then(|()| self.sync_live_log());
        if let Err(error) = &result {
            self.poison(error);
        }
        result
    }

    /// Once per log: syncs the directory, so that the logs created since
    /// the last listing are durably named, then records them in the
    /// MANIFEST (a listed log missing after a crash is a problem recovery
    /// reports). A poisoned database only syncs the directory: its log may
    /// still hold acknowledged writes, but its MANIFEST takes no edits. The
    /// caller holds the leader role, so `unlisted` cannot grow meanwhile,
    /// and poisons the database on failure.
    pub(crate) fn list_logs(&self) -> Result<()> {
        let unlisted = self.log.lock().unlisted.clone();
        if unlisted.is_empty() {
            return Ok(());
        }
        // Before the MANIFEST's lock, which a flush or compaction may hold
        // through its own sync: the logs exist already.
        sync_dir(self.fs.as_ref(), &self.directory)?;
        let mut manifest = self.manifest.lock();
        let edit = {
            let state = self.state.lock();
            // Durably named is what a poisoned database's log needs; the
            // next open replays it and lists its own new log.
            let healthy = state.check_healthy().is_ok();
            let live = state.version.log_number;
            VersionEdit {
                // A log flushed meanwhile is obsolete, not missing.
                new_logs: unlisted
                    .iter()
                    .copied()
                    .filter(|&number| healthy && number >= live)
                    .collect(),
                ..VersionEdit::default()
            }
        };
        if !edit.new_logs.is_empty() {
            self.log_edit(&mut manifest, &edit)?;
            let mut state = self.state.lock();
            self.apply_logged(&mut manifest, &mut state, &edit)?;
        }
        self.log.lock().unlisted.clear();
        Ok(())
    }

    /// Flushes and syncs the live log.
    fn sync_live_log(&self) -> Result<()> {
        let mut log = self.log.lock();
        let path = self.directory.join(filename::log(log.number));
        log.writer
            .sync()
            .map_err(|source| Error::io(path, "sync", source))
    }

    /// Switches to a new memtable and log when the current one is full,
    /// stalling while too many full memtables wait for their flush, too
    /// many level-0 tables wait for compaction (RocksDB's stop trigger) or
    /// too many bytes do (the hard pending-compaction limit), and slowing
    /// writes down to [`DELAYED_WRITE_RATE`] past the slowdown trigger or
    /// the soft limit. It runs once per write group (by its leader, with
    /// the group's `bytes`), so a group's writes are held up together.
    pub(crate) fn make_room(&self, state: &mut MutexGuard<'_, State>, bytes: usize) -> Result<()> {
        let mut delayed = false;
        // A stall is announced once per write, not at every wake-up.
        let mut announced = false;
        let mut announced_pending = false;
        let mut counted_pending_stall = false;
        let count_pending_stall = |counted: &mut bool| {
            if !std::mem::replace(counted, true) {
                Counters::add(&self.counters.pending_compaction_stalls, 1);
            }
        };
        loop {
            state.check_healthy()?;
            let level0 = state.tables.level(0).len();
            if level0 >= self.options.level0_stop_writes_trigger {
                let started = Instant::now();
                if !announced {
                    announced = true;
                    event!(
                        warn,
                        target: "strata::write",
                        level0_tables = level0,
                        trigger = self.options.level0_stop_writes_trigger,
                        "writes stop until compaction catches up"
                    );
                }
                self.state_changed.wait(state);
                Counters::add(&self.counters.stall_micros, micros(started));
                continue;
            }
            let pending = state.tables.pending_compaction_bytes(&self.options);
            let hard_limit = self.options.hard_pending_compaction_bytes_limit;
            if hard_limit != 0 && pending >= hard_limit {
                let started = Instant::now();
                count_pending_stall(&mut counted_pending_stall);
                if !announced_pending {
                    announced_pending = true;
                    event!(
                        warn,
                        target: "strata::write",
                        pending_compaction_bytes = pending,
                        limit = hard_limit,
                        "writes stop until compaction catches up"
                    );
                }
                self.state_changed.wait(state);
                Counters::add(&self.counters.stall_micros, micros(started));
                continue;
            }
            let soft_limit = self.options.soft_pending_compaction_bytes_limit;
            let over_soft_limit = soft_limit != 0 && pending >= soft_limit;
            if !delayed
                && (level0 >= self.options.level0_slowdown_writes_trigger || over_soft_limit)
            {
                delayed = true;
                // RocksDB's write controller: each write past the trigger
                // owes the time its bytes take at the delayed rate, slept
                // once a millisecond is owed (LevelDB slept a millisecond
                // per write, which at about 130 bytes a write is a hundred
                // times slower than RocksDB's rate and all but stops
                // writers well before the stop trigger).
                if over_soft_limit {
                    count_pending_stall(&mut counted_pending_stall);
                }
                let Some(pause) = slowdown(&mut state.slowdown_owed_bytes, bytes as u64) else {
                    continue;
                };
                event!(
                    debug,
                    target: "strata::write",
                    level0_tables = level0,
                    trigger = self.options.level0_slowdown_writes_trigger,
                    pending_compaction_bytes = pending,
                    soft_limit = soft_limit,
                    "a write is slowed down while compaction catches up"
                );
                let started = Instant::now();
                MutexGuard::unlocked(state, || {
                    std::thread::sleep(pause);
                });
                Counters::add(&self.counters.stall_micros, micros(started));
                continue;
            }
            if state.mem.approximate_bytes() < self.options.write_buffer_size {
                return Ok(());
            }
            if state.immutable.len() >= self.options.max_immutable_memtables {
                let started = Instant::now();
                if !announced {
                    announced = true;
                    event!(
                        warn,
                        target: "strata::write",
                        full_memtables = state.immutable.len(),
                        "writes stop until a flush finishes"
                    );
                }
                self.state_changed.wait(state);
                let waited = micros(started);
                Counters::add(&self.counters.stall_micros, waited);
                Counters::add(&self.counters.memtable_stall_micros, waited);
                continue;
            }
            // The switch syncs the old log without the state lock; the
            // loop looks again once it is done.
            MutexGuard::unlocked(state, || self.switch_memtable())?;
        }
    }

    /// Syncs and closes the current log, starts a new one and a new
    /// memtable. The new log is not listed in the MANIFEST nor its
    /// directory entry synced yet: the first sync of it does both
    /// ([`Engine::list_logs`]). The old log is synced before any write
    /// reaches the new one, so that a crash never leaves a newer log's
    /// writes durable behind an older log's torn tail. The caller holds
    /// the leader role and not the state lock: the sync runs with only the
    /// log's lock held, so the flush thread, compaction and readers go on
    /// meanwhile. A failure poisons the database: a failed sync leaves the
    /// old log in an unknown state.
    pub(crate) fn switch_memtable(&self) -> Result<()> {
        let started = Instant::now();
        let result = self.try_switch_memtable();
        Counters::add(&self.counters.memtable_switch_micros, micros(started));
        if let Err(error) = &result {
            self.poison(error);
        }
        result
    }

    fn try_switch_memtable(&self) -> Result<()> {
        let fs = self.fs.as_ref();
        let (number, live) = {
            let mut state = self.state.lock();
            state.check_healthy()?;
            let number = state.version.next_file_number;
            state.version.next_file_number += 1;
            (number, state.version.log_number)
        };
        let path = self.directory.join(filename::log(number));
        let file = fs
            .create(&path)
            .map_err(|source| Error::io(&path, "create", source))?;
        let mut log = self.log.lock();
        let old_path = self.directory.join(filename::log(log.number));
        log.writer
            .sync()
            .map_err(|source| Error::io(old_path, "sync", source))?;
        log.writer = Writer::new(file, WriterOptions::default());
        log.number = number;
        log.prefilled = 0;
        // Logs flushed meanwhile are obsolete: without a sync to list
        // them, the list would grow by one number per switch.
        log.unlisted.retain(|&unlisted| unlisted >= live);
        log.unlisted.push(number);
        drop(log);
        let mut state = self.state.lock();
        state.switch_memtable(MemTable::new(number));
        self.state_changed.notify_all();
        Ok(())
    }
}

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowed_writes_sleep_their_bytes_at_the_delayed_rate_a_millisecond_at_a_time() {
        let mut owed = 0;
        // 132-byte writes: nothing is slept until a millisecond's worth
        // (16,777 bytes) is owed, at the 128th write.
        for _ in 0..127 {
            assert_eq!(slowdown(&mut owed, 132), None);
        }
        assert_eq!(
            slowdown(&mut owed, 132),
            Some(Duration::from_micros(
                128 * 132 * 1_000_000 / DELAYED_WRITE_RATE
            ))
        );
        assert_eq!(owed, 0);
        // 16 MiB of small writes sleep a second in all, counting what is
        // still owed at the end, less at most a microsecond per pause lost
        // to rounding.
        let mut slept = Duration::ZERO;
        for _ in 0..(16 << 20) / 128 {
            slept += slowdown(&mut owed, 128).unwrap_or_default();
        }
        slept += Duration::from_micros(owed * 1_000_000 / DELAYED_WRITE_RATE);
        assert!(
            slept <= Duration::from_secs(1) && slept >= Duration::from_millis(998),
            "{slept:?}"
        );
        // A large group sleeps its whole time at once.
        owed = 0;
        assert_eq!(
            slowdown(&mut owed, 4 << 20),
            Some(Duration::from_micros(250_000))
        );
    }
}
