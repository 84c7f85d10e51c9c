//! Point reads: the newest version of a key at a sequence, looked up in the
//! memtable, the immutable memtables newest first, the level-0 tables newest
//! first, then in each deeper level the one table whose range holds the key.

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
        let mut found = std::iter::once(&sources.mem)
            .chain(sources.immutable.iter().rev())
            .find_map(|table| table.get(key, sequence));
        if found.is_none() {
            for table in sources.tables.level(0).iter().rev() {
                if !table.overlaps(key, key) {
                    continue;
                }
                if let Some(lookup) = table.get(key, sequence)? {
                    found = Some(lookup);
                    break;
                }
            }
        }
        if found.is_none() {
            for level in 1..sources.tables.count() {
                if let Some(table) = sources.tables.find(level, key)
                    && let Some(lookup) = table.get(key, sequence)?
                {
                    found = Some(lookup);
                    break;
                }
            }
        }
        Ok(match found {
            Some(Lookup::Value(value)) => Some(value),
            Some(Lookup::Deleted) | None => None,
        })
    }

    pub(crate) fn sources(&self) -> Sources {
        self.state.lock().sources()
    }

    /// The latest sequence and the sources to read it from, taken together:
    /// a compaction installed after this point only dropped versions that
    /// the sequence can no longer see (it is at least the compaction's
    /// smallest readable sequence), and one installed before is not in
    /// these sources.
    pub(crate) fn latest(&self) -> (u64, Sources) {
        let state = self.state.lock();
        (self.visible(), state.sources())
    }
}
