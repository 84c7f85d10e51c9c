//! Point reads: the newest version of a key at a sequence, looked up in the
//! memtable, the immutable memtables newest first, then the tables newest
//! first.

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
            for table in sources.tables.iter().rev() {
                if let Some(lookup) = table.get(key, sequence)? {
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
