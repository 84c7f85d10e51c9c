//! The bloom filter block: one filter over every user key of the table, in
//! one of two layouts ([`FilterLayout`]).
//!
//! ```text
//! local filter  := bits: 64 * ceil(max(keys * bits_per_key, 512) / 512) bytes | probes: u8
//! spread filter := bits: ceil(max(keys * bits_per_key, 64) / 8) bytes | probes: u8
//! ```
//!
//! Both hash a key to `h = fmix64(fnv1a64(key))`. A local filter (what
//! tables are written with, RocksDB's cache-local "fast local bloom" idea)
//! keeps every probe of a key in one 64-byte line: the line is
//! `(low32(h) * lines) >> 32`, and with `g = high32(h)` each probe sets bit
//! `g >> 23` of the line (bit `b` is bit `b % 8` of byte `b / 8`), `g`
//! then multiplied by `0x9e3779b9` (wrapping) for the next. A lookup
//! touches one cache line instead of one per probe. A spread filter (what
//! tables were written with before) sets the bits `(h + i * delta) mod
//! num_bits` for `i` in `0..probes` (wrapping `u64` arithmetic), where
//! `delta = h.rotate_right(32) | 1`.

use crate::format::MAX_BLOOM_BITS_PER_KEY;

/// The fewest bits a filter has, so tiny tables still filter well.
const MIN_FILTER_BITS: usize = 64;
/// Probe counts above this are reserved; a filter claiming more is corrupt.
pub(crate) const MAX_PROBES: u8 = 30;

/// The filter hash of a user key: FNV-1a (64-bit), then MurmurHash3's
/// 64-bit finalizer to spread FNV's weak high bits. Stable across
/// platforms: it is part of the format.
#[must_use]
pub fn filter_hash(user_key: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in user_key {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

fn probe_positions(hash: u64, probes: u8, num_bits: u64) -> impl Iterator<Item = u64> {
    let delta = hash.rotate_right(32) | 1;
    (0..u64::from(probes)).map(move |index| hash.wrapping_add(index.wrapping_mul(delta)) % num_bits)
}

/// The bits of one line of a local filter.
const LINE_BITS: usize = 512;
const LINE_BYTES: usize = LINE_BITS / 8;
/// The multiplier that remixes a local filter's 32-bit probe hash between
/// probes (the golden ratio in 32 bits, as RocksDB's fast local bloom).
const PROBE_REMIX: u32 = 0x9e37_79b9;

/// How a filter lays out its bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterLayout {
    /// Every probe of a key within one 64-byte line: one cache miss per
    /// lookup. Recorded as [`LOCAL_FILTER_META_KEY`](crate::LOCAL_FILTER_META_KEY);
    /// what tables are written with.
    Local,
    /// Probes anywhere in the bit array, one cache miss each. Recorded as
    /// [`FILTER_META_KEY`](crate::FILTER_META_KEY); tables written before
    /// local filters have it, and it is still read.
    Spread,
}

impl FilterLayout {
    /// The meta-index key a filter of this layout is recorded under.
    #[must_use]
    pub fn meta_key(self) -> &'static [u8] {
        match self {
            FilterLayout::Local => crate::format::LOCAL_FILTER_META_KEY,
            FilterLayout::Spread => crate::format::FILTER_META_KEY,
        }
    }

    /// How many probes a key sets at `bits_per_key`. Spread: `round(bits *
    /// ln 2)`, the optimum. Local: `round(bits * 0.6)` (6 at 10 bits per
    /// key), fewer because probes crowd into one line; RocksDB's table for
    /// its cache-local filter gives the same counts from 3 to 19 bits per
    /// key within one.
    fn probes(self, bits_per_key: usize) -> u8 {
        let factor = match self {
            FilterLayout::Local => 0.6,
            FilterLayout::Spread => std::f64::consts::LN_2,
        };
        ((bits_per_key as f64 * factor).round() as u8).clamp(1, MAX_PROBES)
    }
}

/// The line of a local filter of `lines` lines that `hash` probes.
fn line_of(hash: u64, lines: usize) -> usize {
    // `(low32 * lines) >> 32` is below `lines`, which fits a usize.
    (((hash & 0xffff_ffff) * lines as u64) >> 32) as usize
}

/// The bit positions within its line that `hash` probes in a local filter.
fn line_bits(hash: u64, probes: u8) -> impl Iterator<Item = usize> {
    let mut remixed = (hash >> 32) as u32;
    (0..probes).map(move |_| {
        let bit = (remixed >> 23) as usize;
        remixed = remixed.wrapping_mul(PROBE_REMIX);
        bit
    })
}

/// Collects the hashes of a table's user keys and builds its filter.
#[derive(Debug)]
pub struct BloomFilterBuilder {
    bits_per_key: usize,
    hashes: Vec<u64>,
}

impl BloomFilterBuilder {
    /// A builder spending `bits_per_key` bits per key (at least 1, at most
    /// [`MAX_BLOOM_BITS_PER_KEY`]).
    #[must_use]
    pub fn new(bits_per_key: usize) -> BloomFilterBuilder {
        BloomFilterBuilder {
            bits_per_key: bits_per_key.clamp(1, MAX_BLOOM_BITS_PER_KEY),
            hashes: Vec::new(),
        }
    }

    /// Adds a user key. The table builder adds each distinct user key once.
    pub fn add_key(&mut self, user_key: &[u8]) {
        self.hashes.push(filter_hash(user_key));
    }

    /// The filter block contents, in the layout tables are written with
    /// ([`FilterLayout::Local`]).
    #[must_use]
    pub fn finish(&self) -> Vec<u8> {
        self.finish_layout(FilterLayout::Local)
    }

    /// The filter block contents in `layout`.
    #[must_use]
    pub fn finish_layout(&self, layout: FilterLayout) -> Vec<u8> {
        let probes = layout.probes(self.bits_per_key);
        let wanted_bits = self.hashes.len().saturating_mul(self.bits_per_key);
        match layout {
            FilterLayout::Local => {
                let lines = wanted_bits.max(LINE_BITS).div_ceil(LINE_BITS);
                let mut filter = vec![0u8; lines * LINE_BYTES + 1];
                for &hash in &self.hashes {
                    let line = line_of(hash, lines) * LINE_BYTES;
                    for bit in line_bits(hash, probes) {
                        filter[line + bit / 8] |= 1 << (bit % 8);
                    }
                }
                filter[lines * LINE_BYTES] = probes;
                filter
            }
            FilterLayout::Spread => {
                let num_bytes = wanted_bits.max(MIN_FILTER_BITS).div_ceil(8);
                let num_bits = num_bytes as u64 * 8;
                let mut filter = vec![0u8; num_bytes + 1];
                for &hash in &self.hashes {
                    for bit in probe_positions(hash, probes, num_bits) {
                        filter[(bit / 8) as usize] |= 1 << (bit % 8);
                    }
                }
                filter[num_bytes] = probes;
                filter
            }
        }
    }
}

/// A filter read from a table.
#[derive(Debug, Clone)]
pub struct BloomFilter {
    bits: Vec<u8>,
    probes: u8,
    layout: FilterLayout,
}

impl BloomFilter {
    /// Parses filter block contents of `layout`; `None` if they are not a
    /// filter this crate writes (no bit array, a reserved probe count, or
    /// for a local filter a bit array that is not whole 64-byte lines).
    #[must_use]
    pub fn new(mut contents: Vec<u8>, layout: FilterLayout) -> Option<BloomFilter> {
        let probes = contents.pop()?;
        if contents.is_empty() || probes == 0 || probes > MAX_PROBES {
            return None;
        }
        if layout == FilterLayout::Local && !contents.len().is_multiple_of(LINE_BYTES) {
            return None;
        }
        Some(BloomFilter {
            bits: contents,
            probes,
            layout,
        })
    }

    /// Whether `user_key` may be in the table; `false` means it is not.
    #[must_use]
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        let hash = filter_hash(user_key);
        match self.layout {
            FilterLayout::Local => {
                let start = line_of(hash, self.bits.len() / LINE_BYTES) * LINE_BYTES;
                let Some(line) = self.bits.get(start..start + LINE_BYTES) else {
                    return true;
                };
                line_bits(hash, self.probes).all(|bit| {
                    line.get(bit / 8)
                        .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
                })
            }
            FilterLayout::Spread => {
                let num_bits = self.bits.len() as u64 * 8;
                probe_positions(hash, self.probes, num_bits).all(|bit| {
                    self.bits
                        .get((bit / 8) as usize)
                        .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LAYOUTS: [FilterLayout; 2] = [FilterLayout::Local, FilterLayout::Spread];

    fn filter_of(
        keys: impl Iterator<Item = Vec<u8>>,
        bits_per_key: usize,
        layout: FilterLayout,
    ) -> BloomFilter {
        let mut builder = BloomFilterBuilder::new(bits_per_key);
        keys.for_each(|key| builder.add_key(&key));
        BloomFilter::new(builder.finish_layout(layout), layout).unwrap()
    }

    #[test]
    fn every_added_key_matches() {
        for layout in LAYOUTS {
            for count in [1u32, 7, 10_000] {
                let keys = || (0..count).map(|index| format!("key{index}").into_bytes());
                let filter = filter_of(keys(), 10, layout);
                assert!(keys().all(|key| filter.may_contain(&key)), "{layout:?}");
            }
        }
    }

    #[test]
    fn empty_filter_matches_nothing() {
        for layout in LAYOUTS {
            let filter = filter_of(std::iter::empty(), 10, layout);
            assert!(!filter.may_contain(b"anything"), "{layout:?}");
        }
    }

    /// The claim: at 10 bits per key, at most 2 % of absent keys pass, in
    /// either layout (a local filter gives up a little: about 1 % against
    /// 0.8 %).
    #[test]
    fn false_positive_rate_at_ten_bits_per_key_is_at_most_two_percent() {
        const PRESENT: u32 = 20_000;
        const ABSENT: u32 = 200_000;
        for layout in LAYOUTS {
            let filter = filter_of(
                (0..PRESENT).map(|index| format!("user-key-{index:08}").into_bytes()),
                10,
                layout,
            );
            let false_positives = (0..ABSENT)
                .filter(|index| filter.may_contain(format!("absent-{index:08}").as_bytes()))
                .count();
            let rate = false_positives as f64 / f64::from(ABSENT);
            println!(
                "{layout:?} bloom false-positive rate at 10 bits/key: {false_positives}/{ABSENT} = {:.3} %",
                rate * 100.0
            );
            assert!(
                rate <= 0.02,
                "{layout:?}: false-positive rate {rate} exceeds 2 %"
            );
        }
    }

    #[test]
    fn a_local_filter_probes_one_line_per_key() {
        let mut builder = BloomFilterBuilder::new(10);
        builder.add_key(b"one key");
        // 1 key at 10 bits: one line; 6 probes set at most 6 bits of it.
        let contents = builder.finish();
        assert_eq!(contents.len(), LINE_BYTES + 1);
        assert_eq!(contents[LINE_BYTES], 6);
        let set: u32 = contents[..LINE_BYTES]
            .iter()
            .map(|byte| byte.count_ones())
            .sum();
        assert!((1..=6).contains(&set), "{set} bits set");
        // 1,000 keys: 10,000 bits in 20 lines; each key's bits in its line.
        let mut builder = BloomFilterBuilder::new(10);
        for index in 0..1_000u32 {
            builder.add_key(&index.to_le_bytes());
        }
        let contents = builder.finish();
        assert_eq!(contents.len(), 20 * LINE_BYTES + 1);
        let lonely = 77u32.to_le_bytes();
        let hash = filter_hash(&lonely);
        let line = line_of(hash, 20);
        let mut alone = BloomFilterBuilder::new(10);
        alone.add_key(&lonely);
        alone.hashes.resize(1_000, hash);
        let only = alone.finish();
        for (index, byte) in only[..20 * LINE_BYTES].iter().enumerate() {
            if index / LINE_BYTES != line {
                assert_eq!(*byte, 0, "byte {index} outside line {line}");
            }
        }
    }

    #[test]
    fn reserved_probe_counts_and_empty_contents_are_refused() {
        for layout in LAYOUTS {
            assert!(BloomFilter::new(vec![], layout).is_none());
            assert!(BloomFilter::new(vec![7], layout).is_none());
            assert!(BloomFilter::new(vec![0xff; 65], layout).is_none());
            let mut zero_probes = vec![0; 65];
            zero_probes[64] = 0;
            assert!(BloomFilter::new(zero_probes, layout).is_none());
        }
        // A local filter's bits are whole lines.
        assert!(BloomFilter::new(vec![0, 0, 0, 0, 0, 0, 0, 0, 6], FilterLayout::Local).is_none());
        assert!(BloomFilter::new(vec![0, 0, 0, 0, 0, 0, 0, 0, 6], FilterLayout::Spread).is_some());
    }
}
