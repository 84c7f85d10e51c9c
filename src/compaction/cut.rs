//! Where a compaction cuts its output into tables: at
//! `target_file_size_base`, and, when the level below the output (the
//! grandparent level) holds tables, at their boundaries, so that an output
//! table later overlaps whole tables below rather than slivers of two more.
//! This is RocksDB's `CompactionOutputs::ShouldStopBefore`
//! (`db/compaction/compaction_outputs.cc`; `level_compaction_dynamic_file_size`
//! from 7.8, always on since 8.11):
//!
//! - with grandparents a table may grow to twice the target (without, to
//!   the target), since it is expected to be cut earlier at a boundary;
//! - at a grandparent boundary, cut once the table holds 50 % of the target
//!   plus 5 % per boundary it already crossed (at most 90 %): the more
//!   boundaries behind, the likelier another comes soon;
//! - cut when the key just stepped over a whole grandparent table and the
//!   bytes it took on are more than an eighth of the target, so that
//!   neither output overlaps the table stepped over and a later compaction
//!   can skip it;
//! - cut when the table and the grandparent bytes it overlaps pass
//!   RocksDB's default `max_compaction_bytes` (25 × the target), so no
//!   later compaction of it grows past that.
//!
//! Cuts happen only between user keys (the merge asks only there), so no
//! user key spans two tables of a level.

use super::pick::KeyRange;

/// Tracks the current output table against the grandparent level's tables
/// as the merge's user keys advance.
pub(crate) struct Cutter<'a, T> {
    grandparents: &'a [T],
    target: u64,
    /// The grandparent table the keys are in or before.
    index: usize,
    /// Whether the last key fell between grandparent tables (or before the
    /// first, or after the last).
    in_gap: bool,
    /// Whether a key was seen at all.
    seen_key: bool,
    /// Grandparent bytes the current output table overlaps.
    overlapped_bytes: u64,
    /// Grandparent boundaries the current output table crossed.
    boundaries_crossed: u64,
}

impl<'a, T: KeyRange> Cutter<'a, T> {
    /// A cutter for outputs of about `target` bytes over `grandparents`
    /// (sorted, disjoint; empty when the output level is the last).
    pub(crate) fn new(grandparents: &'a [T], target: u64) -> Self {
        Cutter {
            grandparents,
            target,
            index: 0,
            in_gap: true,
            seen_key: false,
            overlapped_bytes: 0,
            boundaries_crossed: 0,
        }
    }

    /// Whether to finish the current table (holding `table_bytes`, or none
    /// open: `None`) before `user_key`, the first entry of a new user key.
    /// Call it for every new user key in order, with or without a table
    /// open, so the position among the grandparents stays current.
    pub(crate) fn cut_before(&mut self, user_key: &[u8], table_bytes: Option<u64>) -> bool {
        let before = self.overlapped_bytes;
        let crossed = self.advance(user_key);
        let Some(size) = table_bytes else {
            return false;
        };
        let max_size = if self.grandparents.is_empty() {
            self.target
        } else {
            self.target.saturating_mul(2)
        };
        let cut = size >= max_size || (crossed > 0 && self.cut_at_boundary(size, crossed, before));
        if cut {
            // The new table starts at this key: it overlaps the grandparent
            // table holding the key, if any, and has crossed nothing.
            self.boundaries_crossed = 0;
            self.overlapped_bytes = if self.in_gap {
                0
            } else {
                self.grandparents[self.index].size()
            };
        }
        cut
    }

    /// Whether a table of `size` bytes should end at the boundaries just
    /// crossed (`crossed` of them; `before`: the overlapped bytes before).
    fn cut_at_boundary(&self, size: u64, crossed: u64, before: u64) -> bool {
        let too_much_below =
            self.overlapped_bytes.saturating_add(size) > self.target.saturating_mul(25);
        // A whole table was stepped over: two boundaries to land in a gap
        // after it, three to land inside the next one.
        let stepped_over = crossed >= if self.in_gap { 2 } else { 3 };
        let skippable = stepped_over && self.overlapped_bytes - before > self.target / 8;
        let percent = 50 + (self.boundaries_crossed * 5).min(40);
        let big_enough = size >= self.target.div_ceil(100) * percent;
        too_much_below || skippable || big_enough
    }

    /// Moves to `user_key`; returns how many grandparent boundaries (starts
    /// and ends of tables) lie between the previous key and this one.
    fn advance(&mut self, user_key: &[u8]) -> u64 {
        let mut crossed = 0;
        while let Some(table) = self.grandparents.get(self.index) {
            if self.in_gap {
                if user_key < table.smallest() {
                    break;
                }
                // Entering the table.
                if self.seen_key {
                    crossed += 1;
                    self.boundaries_crossed += 1;
                    self.overlapped_bytes += table.size();
                }
                self.in_gap = false;
            } else {
                if user_key <= table.largest() {
                    break;
                }
                // Leaving it.
                if self.seen_key {
                    crossed += 1;
                    self.boundaries_crossed += 1;
                }
                self.in_gap = true;
                self.index += 1;
            }
        }
        if !self.seen_key {
            // The first key inside a table overlaps it.
            self.overlapped_bytes = if self.in_gap {
                0
            } else {
                self.grandparents[self.index].size()
            };
            self.seen_key = true;
        }
        crossed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `keys` (each with the table size it would have reached) and
    /// returns the keys a table was cut before.
    fn cuts(grandparents: &[(&str, &str, u64)], target: u64, keys: &[(&str, u64)]) -> Vec<String> {
        let mut cutter = Cutter::new(grandparents, target);
        keys.iter()
            .filter(|(key, size)| cutter.cut_before(key.as_bytes(), Some(*size)))
            .map(|(key, _)| (*key).to_owned())
            .collect()
    }

    #[test]
    fn without_grandparents_only_the_target_size_cuts() {
        let keys = [("a", 0), ("b", 60), ("c", 99), ("d", 100), ("e", 10)];
        assert_eq!(cuts(&[], 100, &keys), ["d"]);
    }

    #[test]
    fn with_grandparents_a_table_grows_to_twice_the_target_between_boundaries() {
        let grandparents = [("a", "z", 10)];
        let keys = [("b", 0), ("c", 150), ("d", 199), ("e", 200), ("f", 10)];
        assert_eq!(cuts(&grandparents, 100, &keys), ["e"]);
    }

    #[test]
    fn a_boundary_cuts_from_half_the_target_plus_five_percent_per_boundary_crossed() {
        let grandparents = [("a", "f", 10), ("g", "m", 10), ("n", "z", 10)];
        // "fz" leaves the first table: one boundary, so 55 % cuts and 54 %
        // does not.
        assert_eq!(cuts(&grandparents, 100, &[("b", 0), ("fz", 55)]), ["fz"]);
        assert!(cuts(&grandparents, 100, &[("b", 0), ("fz", 54)]).is_empty());
        // "h" crosses two boundaries (leaving a table, entering the next) at
        // 40 %: no cut. "o" crosses two more, four in all: 70 % cuts there,
        // 69 % does not, and "p" crosses none.
        let keys = [("b", 0), ("h", 40), ("i", 55), ("o", 69), ("p", 80)];
        assert!(cuts(&grandparents, 100, &keys).is_empty());
        let keys = [("b", 0), ("h", 40), ("i", 55), ("o", 70), ("p", 80)];
        assert_eq!(cuts(&grandparents, 100, &keys), ["o"]);
    }

    #[test]
    fn stepping_over_a_large_grandparent_table_cuts_so_it_can_be_skipped() {
        let grandparents = [("a", "b", 10), ("d", "e", 13), ("g", "h", 10)];
        // From "c" (between tables) to "f" (between tables) the keys step
        // over "d".."e", 13 bytes, more than 100 / 8: cut, though small.
        let keys = [("c", 0), ("f", 5)];
        assert_eq!(cuts(&grandparents, 100, &keys), ["f"]);
        // A table of 12 bytes (not over 100 / 8, 12) is not worth a small
        // output.
        let grandparents = [("a", "b", 10), ("d", "e", 12), ("g", "h", 10)];
        assert!(cuts(&grandparents, 100, &keys).is_empty());
        // Landing inside the next table after stepping over one (three
        // boundaries) counts both tables' bytes: 12 + 10.
        let keys = [("c", 0), ("g", 5)];
        assert_eq!(cuts(&grandparents, 100, &keys), ["g"]);
        // Entering one table from a gap (one boundary) is no step over, even
        // with a large table.
        let grandparents = [("a", "b", 10), ("d", "e", 90)];
        assert!(cuts(&grandparents, 100, &[("c", 0), ("d", 5)]).is_empty());
    }

    #[test]
    fn a_table_overlapping_too_many_grandparent_bytes_is_cut() {
        // Each grandparent table is 1,000 bytes against a target of 100:
        // the table's overlap passes 25 × 100 at the third one.
        let grandparents = [("b", "c", 1_000), ("e", "f", 1_000), ("h", "i", 1_000)];
        let keys = [("a", 0), ("b", 1), ("d", 2), ("e", 3), ("g", 4), ("h", 5)];
        assert_eq!(cuts(&grandparents, 100, &keys), ["h"]);
    }

    #[test]
    fn a_new_table_starts_with_the_grandparent_table_it_is_in() {
        let grandparents = [
            ("a", "m", 2_000),
            ("n", "p", 1_000),
            ("r", "s", 1_000),
            ("t", "u", 600),
        ];
        // Cut at "n" for size: the new table starts inside "n".."p" with
        // its 1,000 bytes, so entering "t".."u" takes it to 2,600 (past
        // 25 × 100) and cuts again. Starting from nothing it would not; not
        // starting afresh (3,000 already) it would cut at "q".
        let keys = [("b", 0), ("n", 100), ("q", 10), ("r", 20), ("t", 30)];
        assert_eq!(cuts(&grandparents, 100, &keys), ["n", "t"]);
    }
}
