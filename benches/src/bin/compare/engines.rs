//! The two engines behind one trait, opened with matched options.

use std::path::Path;

/// Options set to the same value on both engines.
#[derive(Clone, Debug)]
pub struct Matched {
    /// Bytes a memtable takes before it is flushed.
    pub write_buffer_size: usize,
    /// Target size of a table's data blocks.
    pub block_size: usize,
    /// Bloom filter bits per key.
    pub bloom_bits_per_key: usize,
    /// Capacity of the block cache shared by all tables.
    pub block_cache_size: usize,
    /// Full memtables that may wait for their flush before writes stall.
    pub max_immutable_memtables: usize,
    /// Table blocks compressed with LZ4 (every level, on both engines).
    pub lz4: bool,
    /// How both engines replay their logs at open (RocksDB's
    /// `wal_recovery_mode`).
    pub recovery_mode: strata::RecoveryMode,
    /// Strata's `wal_prefill_bytes` (not matched: RocksDB has no such
    /// option; its nearest is log recycling, below).
    pub wal_prefill_bytes: u64,
    /// RocksDB's `recycle_log_file_num` (default 0, as in RocksDB).
    pub rocksdb_recycle_log_file_num: usize,
}

impl Matched {
    /// Human lines describing the options, as printed before a run.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "write buffer {} KiB, up to {} immutable memtables (rocksdb max_write_buffer_number {})",
                self.write_buffer_size >> 10,
                self.max_immutable_memtables,
                self.max_immutable_memtables + 1
            ),
            format!(
                "block size {} B, bloom filter {} bits/key (rocksdb: full filter), block cache {} KiB LRU on both",
                self.block_size,
                self.bloom_bits_per_key,
                self.block_cache_size >> 10
            ),
            format!(
                "{}; WAL on, uncompressed, replayed in {} on both; index and filter blocks outside the block cache on both",
                if self.lz4 {
                    "LZ4 blocks on both, every level"
                } else {
                    "compression off on both"
                },
                self.recovery_mode
            ),
            format!(
                "synced writes: strata prefills its log {} KiB ahead with zeros ({}); rocksdb recycle_log_file_num {}",
                self.wal_prefill_bytes >> 10,
                if self.wal_prefill_bytes == 0 {
                    "off"
                } else if strata::Options::default()
                    .with_recovery_mode(self.recovery_mode)
                    .with_wal_prefill_bytes(self.wal_prefill_bytes)
                    .wal_prefill_active()
                {
                    "on"
                } else {
                    "off in this recovery mode"
                },
                self.rocksdb_recycle_log_file_num
            ),
            {
                let defaults = strata::Options::default();
                format!(
                    "compaction: leveled on both with RocksDB's defaults (L0 trigger {}, slowdown {}, stop {}, level base {} MiB, multiplier {}, dynamic level sizes {}, target table {} MiB); strata 1 compaction thread, rocksdb 2 background jobs (1 flush, 1 compaction)",
                    defaults.level0_compaction_trigger,
                    defaults.level0_slowdown_writes_trigger,
                    defaults.level0_stop_writes_trigger,
                    defaults.max_bytes_for_level_base >> 20,
                    defaults.max_bytes_for_level_multiplier,
                    if defaults.level_compaction_dynamic_level_bytes {
                        "on"
                    } else {
                        "off"
                    },
                    defaults.target_file_size_base >> 20
                )
            },
        ]
    }
}

/// The operations the workloads use. Implementations panic on an engine
/// error: a benchmark has no use for a failed run.
pub trait Engine: Send + Sync {
    /// Writes one key (synced or not).
    fn put(&self, key: &[u8], value: &[u8], sync: bool);
    /// Whether `key` is present (its value is read, not only located).
    fn get(&self, key: &[u8]) -> bool;
    /// Reads every entry in key order; returns how many.
    fn scan(&self) -> u64;
    /// Seeks to the first key at or after `key` and reads up to `count`
    /// entries from there; returns how many it read.
    fn seek(&self, key: &[u8], count: usize) -> u64;
    /// Flushes the memtable and waits until no flush or compaction is
    /// running or pending.
    fn wait_idle(&self);
    /// Tables in level 0 now.
    fn level0_tables(&self) -> u64;
    /// Per level: tables, bytes, and what compactions into it read and
    /// wrote (lines for a person, in the engine's own terms).
    fn level_stats(&self) -> String;
}

/// The engine names known to this build.
pub fn available() -> &'static [&'static str] {
    if cfg!(feature = "rocksdb") {
        &["strata", "rocksdb"]
    } else {
        &["strata"]
    }
}

/// Opens (creating) the engine `name` in `path`.
pub fn open(name: &str, path: &Path, matched: &Matched) -> Box<dyn Engine> {
    match name {
        "strata" => Box::new(StrataEngine::open(path, matched)),
        #[cfg(feature = "rocksdb")]
        "rocksdb" => Box::new(rocks::RocksEngine::open(path, matched)),
        other => panic!(
            "unknown engine {other:?} (this build has {:?})",
            available()
        ),
    }
}

struct StrataEngine(strata::Db);

impl StrataEngine {
    fn open(path: &Path, matched: &Matched) -> Self {
        let options = strata::Options {
            write_buffer_size: matched.write_buffer_size,
            table_block_size: matched.block_size,
            bloom_bits_per_key: matched.bloom_bits_per_key,
            block_cache_size: matched.block_cache_size,
            max_immutable_memtables: matched.max_immutable_memtables,
            compression: if matched.lz4 {
                strata::Compression::Lz4
            } else {
                strata::Compression::None
            },
            recovery_mode: matched.recovery_mode,
            wal_prefill_bytes: matched.wal_prefill_bytes,
            ..strata::Options::default()
        };
        StrataEngine(strata::Db::open(path, options).expect("open strata"))
    }
}

impl Engine for StrataEngine {
    fn put(&self, key: &[u8], value: &[u8], sync: bool) {
        // Sized for the one update (a tag and two varint lengths), as
        // `Db::put` does: no growth on the way.
        let mut batch = strata::WriteBatch::with_capacity(key.len() + value.len() + 11);
        batch.put(key, value);
        self.0
            .write(batch, &strata::WriteOptions { sync })
            .expect("strata write");
    }

    fn get(&self, key: &[u8]) -> bool {
        self.0.get(key).expect("strata get").is_some()
    }

    fn scan(&self) -> u64 {
        // Entries lent, not copied, as RocksDB's raw iterator lends them.
        let mut count = 0;
        let mut entries = self.0.iter();
        while let Some(entry) = entries.next_ref() {
            let (key, value) = entry.expect("strata scan");
            std::hint::black_box((key.len(), value.len()));
            count += 1;
        }
        count
    }

    fn seek(&self, key: &[u8], count: usize) -> u64 {
        let mut read = 0;
        let mut entries = self.0.range(key..);
        while read < count as u64 {
            let Some(entry) = entries.next_ref() else {
                break;
            };
            let (key, value) = entry.expect("strata seek");
            std::hint::black_box((key.len(), value.len()));
            read += 1;
        }
        read
    }

    fn level0_tables(&self) -> u64 {
        self.0
            .levels()
            .first()
            .map_or(0, |level| level.tables as u64)
    }

    fn level_stats(&self) -> String {
        const MIB: f64 = (1 << 20) as f64;
        let mut lines = vec![
            "level  tables   size MiB  compactions  read MiB  (from above)  written MiB  seconds"
                .to_owned(),
        ];
        for level in self.0.levels() {
            lines.push(format!(
                "L{:<5} {:>6} {:>10.1} {:>12} {:>9.1} {:>13.1} {:>12.1} {:>8.1}",
                level.level,
                level.tables,
                level.bytes as f64 / MIB,
                level.compactions,
                level.compaction_bytes_read as f64 / MIB,
                level.compaction_bytes_read_above as f64 / MIB,
                level.compaction_bytes_written as f64 / MIB,
                level.compaction_micros as f64 / 1e6
            ));
        }
        let stats = self.0.stats();
        lines.push(format!(
            "flushes {} ({:.1} MiB), trivial moves {}, WAL {:.1} MiB, \
             writers stalled {:.1} s (for a flush {:.1} s; {} write groups for \
             pending bytes), memtable switches {:.1} s, {} write groups \
             (mean {:.1} writes), {} WAL syncs, gathering {:.2} s",
            stats.flushes,
            stats.flush_bytes as f64 / MIB,
            stats.trivial_moves,
            stats.wal_bytes as f64 / MIB,
            stats.stall_micros as f64 / 1e6,
            stats.memtable_stall_micros as f64 / 1e6,
            stats.pending_compaction_stalls,
            stats.memtable_switch_micros as f64 / 1e6,
            stats.write_groups,
            stats.writes as f64 / stats.write_groups.max(1) as f64,
            stats.wal_syncs,
            stats.group_gather_micros as f64 / 1e6
        ));
        lines.join("\n")
    }

    fn wait_idle(&self) {
        self.0.flush().expect("strata flush");
        self.0
            .wait_for_background_idle()
            .expect("strata background work");
    }
}

#[cfg(feature = "rocksdb")]
mod rocks {
    use super::{Engine, Matched};
    use std::path::Path;
    use std::time::Duration;

    pub struct RocksEngine {
        db: rocksdb::DB,
        plain: rocksdb::WriteOptions,
        synced: rocksdb::WriteOptions,
    }

    impl RocksEngine {
        pub fn open(path: &Path, matched: &Matched) -> Self {
            let mut table = rocksdb::BlockBasedOptions::default();
            table.set_block_size(matched.block_size);
            table.set_bloom_filter(matched.bloom_bits_per_key as f64, false);
            table.set_block_cache(&rocksdb::Cache::new_lru_cache(matched.block_cache_size));
            let mut options = rocksdb::Options::default();
            options.create_if_missing(true);
            options.set_write_buffer_size(matched.write_buffer_size);
            options.set_max_write_buffer_number(
                i32::try_from(matched.max_immutable_memtables + 1).unwrap_or(i32::MAX),
            );
            let compression = if matched.lz4 {
                rocksdb::DBCompressionType::Lz4
            } else {
                rocksdb::DBCompressionType::None
            };
            options.set_compression_type(compression);
            options.set_bottommost_compression_type(compression);
            options.set_block_based_table_factory(&table);
            // RocksDB's default, stated so that the two engines stay matched
            // if either default changes.
            options.set_level_compaction_dynamic_level_bytes(
                strata::Options::default().level_compaction_dynamic_level_bytes,
            );
            options.set_wal_recovery_mode(match matched.recovery_mode {
                strata::RecoveryMode::AbsoluteConsistency => {
                    rocksdb::DBRecoveryMode::AbsoluteConsistency
                }
                strata::RecoveryMode::TolerateCorruptedTailRecords => {
                    rocksdb::DBRecoveryMode::TolerateCorruptedTailRecords
                }
                strata::RecoveryMode::PointInTimeRecovery => rocksdb::DBRecoveryMode::PointInTime,
                strata::RecoveryMode::SkipAnyCorruptedRecords => {
                    rocksdb::DBRecoveryMode::SkipAnyCorruptedRecord
                }
            });
            // RocksDB turns recycling off itself under AbsoluteConsistency
            // and TolerateCorruptedTailRecords.
            options.set_recycle_log_file_num(matched.rocksdb_recycle_log_file_num);
            let mut synced = rocksdb::WriteOptions::default();
            synced.set_sync(true);
            RocksEngine {
                db: rocksdb::DB::open(&options, path).expect("open rocksdb"),
                plain: rocksdb::WriteOptions::default(),
                synced,
            }
        }

        fn property(&self, name: &str) -> u64 {
            self.db
                .property_int_value(name)
                .expect("rocksdb property")
                .unwrap_or(0)
        }

        fn busy(&self) -> bool {
            [
                "rocksdb.num-running-compactions",
                "rocksdb.compaction-pending",
                "rocksdb.num-running-flushes",
                "rocksdb.mem-table-flush-pending",
            ]
            .iter()
            .any(|name| self.property(name) != 0)
        }
    }

    impl Engine for RocksEngine {
        fn put(&self, key: &[u8], value: &[u8], sync: bool) {
            let options = if sync { &self.synced } else { &self.plain };
            self.db.put_opt(key, value, options).expect("rocksdb write");
        }

        fn get(&self, key: &[u8]) -> bool {
            self.db
                .get_pinned(key)
                .expect("rocksdb get")
                .map(|value| std::hint::black_box(value.len()))
                .is_some()
        }

        fn scan(&self) -> u64 {
            let mut iterator = self.db.raw_iterator();
            iterator.seek_to_first();
            let mut count = 0;
            while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
                std::hint::black_box((key.len(), value.len()));
                count += 1;
                iterator.next();
            }
            iterator.status().expect("rocksdb scan");
            count
        }

        fn seek(&self, key: &[u8], count: usize) -> u64 {
            let mut iterator = self.db.raw_iterator();
            iterator.seek(key);
            let mut read = 0;
            while read < count as u64 {
                let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                    break;
                };
                std::hint::black_box((key.len(), value.len()));
                read += 1;
                iterator.next();
            }
            iterator.status().expect("rocksdb seek");
            read
        }

        fn level0_tables(&self) -> u64 {
            self.property("rocksdb.num-files-at-level0")
        }

        fn level_stats(&self) -> String {
            // The per-level table of RocksDB's compaction statistics (it
            // counts flushes in level 0's write column).
            let text = self
                .db
                .property_value("rocksdb.cfstats-no-file-histogram")
                .expect("rocksdb property")
                .unwrap_or_default();
            text.lines()
                .skip_while(|line| !line.contains("Compaction Stats"))
                .take_while(|line| !line.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        }

        fn wait_idle(&self) {
            self.db.flush().expect("rocksdb flush");
            // Idle only after two quiet polls in a row: a finished flush may
            // schedule a compaction a moment later.
            let mut quiet = 0;
            while quiet < 2 {
                if self.busy() {
                    quiet = 0;
                } else {
                    quiet += 1;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}
