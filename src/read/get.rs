//! Point reads: the newest version of a key at a sequence, looked up in the
//! memtable, the immutable memtables newest first, the level-0 tables newest
//! first, then in each deeper level the one table whose range holds the key.

use std::sync::Arc;

use crate::engine::Engine;
use crate::error::Result;
use crate::memtable::Lookup;
use crate::state::Sources;

impl Engine {
    pub(crate) fn get(
        &self,
        sources: &Sources,
        key: &[u8],
        sequence: u64,
    ) -> Result<Option<Vec<u8>>> {
        let found = std::iter::once(&sources.mem)
            .chain(sources.immutable.iter().rev())
            .find_map(|table| table.get(key, sequence));
        // Memtables hold only writes newer than every table.
        let found = match found {
            Some(lookup) => Some(lookup),
            None => self.get_from_tables(sources, key, sequence)?,
        };
        Ok(match found {
            Some(Lookup::Value(value)) => Some(value),
            Some(Lookup::Deleted) | None => None,
        })
    }

    /// Level 0 newest first, then one table per deeper level. Normally the
    /// first version found is the newest: every table consulted later holds
    /// only older writes. A table whose largest sequence is above the found
    /// version's is consulted too, because recovery under
    /// SkipAnyCorruptedRecords can write a stale batch (an old sequence
    /// found late in a log) to a newer table; the highest sequence wins, as
    /// in iterators and compaction.
    fn get_from_tables(
        &self,
        sources: &Sources,
        key: &[u8],
        sequence: u64,
    ) -> Result<Option<Lookup>> {
        let tables = &sources.tables;
        let level0 = tables.level(0).iter().rev();
        let deeper = (1..tables.count()).filter_map(|level| tables.find(level, key));
        let mut best: Option<(u64, Lookup)> = None;
        for table in level0.chain(deeper) {
            if let Some((found, _)) = &best
                && table.meta().largest_sequence <= *found
            {
                continue;
            }
            if !table.overlaps(key, key) {
                continue;
            }
            if let Some((found, lookup)) = table.get(key, sequence)?
                && best.as_ref().is_none_or(|(best, _)| found > *best)
            {
                best = Some((found, lookup));
            }
        }
        Ok(best.map(|(_, lookup)| lookup))
    }

    /// The sources readers see now (without the state mutex).
    pub(crate) fn sources(&self) -> Arc<Sources> {
        Arc::clone(&self.published.read())
    }

    /// The latest sequence and the sources to read it from, as one
    /// consistent pair: the same sources were published before and after
    /// the sequence was read, so no change came in between. Then every
    /// write up to the sequence is in these sources (a memtable switch
    /// publishes before any write goes to the new memtable), and a
    /// compaction in them only dropped versions the sequence can no longer
    /// see (it chose what to drop by a sequence read before it was
    /// published, so no larger than this one). Without the state mutex: a
    /// reader retries only if a flush, switch or compaction was published
    /// in the instant between its two looks.
    pub(crate) fn latest(&self) -> (u64, Arc<Sources>) {
        let mut sources = self.sources();
        loop {
            let sequence = self.visible();
            let again = self.sources();
            if Arc::ptr_eq(&sources, &again) {
                return (sequence, sources);
            }
            sources = again;
        }
    }
}
