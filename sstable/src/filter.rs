//! The bloom filter block: one filter over every user key of the table.
//!
//! ```text
//! filter := bits: ceil(max(keys * bits_per_key, 64) / 8) bytes | probes: u8
//! ```
//!
//! A key sets the bits `(h + i * delta) mod num_bits` for `i` in
//! `0..probes` (wrapping `u64` arithmetic), where `h = fmix64(fnv1a64(key))`
//! and `delta = h.rotate_right(32) | 1`. Bit `b` is bit `b % 8` of byte `b / 8`.

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

    /// The filter block contents.
    #[must_use]
    pub fn finish(&self) -> Vec<u8> {
        // ln(2) * bits per key minimises the false-positive rate.
        let probes = ((self.bits_per_key as f64 * std::f64::consts::LN_2).round() as u8)
            .clamp(1, MAX_PROBES);
        let num_bytes = (self.hashes.len().saturating_mul(self.bits_per_key))
            .max(MIN_FILTER_BITS)
            .div_ceil(8);
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

/// A filter read from a table.
#[derive(Debug, Clone)]
pub struct BloomFilter {
    bits: Vec<u8>,
    probes: u8,
}

impl BloomFilter {
    /// Parses filter block contents; `None` if they are not a filter this
    /// crate writes (no bit array, or a reserved probe count).
    #[must_use]
    pub fn new(mut contents: Vec<u8>) -> Option<BloomFilter> {
        let probes = contents.pop()?;
        if contents.is_empty() || probes == 0 || probes > MAX_PROBES {
            return None;
        }
        Some(BloomFilter {
            bits: contents,
            probes,
        })
    }

    /// Whether `user_key` may be in the table; `false` means it is not.
    #[must_use]
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        let num_bits = self.bits.len() as u64 * 8;
        probe_positions(filter_hash(user_key), self.probes, num_bits).all(|bit| {
            self.bits
                .get((bit / 8) as usize)
                .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn filter_of(keys: impl Iterator<Item = Vec<u8>>, bits_per_key: usize) -> BloomFilter {
        let mut builder = BloomFilterBuilder::new(bits_per_key);
        keys.for_each(|key| builder.add_key(&key));
        BloomFilter::new(builder.finish()).unwrap()
    }

    #[test]
    fn every_added_key_matches() {
        let keys = || (0..10_000u32).map(|index| format!("key{index}").into_bytes());
        let filter = filter_of(keys(), 10);
        assert!(keys().all(|key| filter.may_contain(&key)));
    }

    #[test]
    fn empty_filter_matches_nothing() {
        let filter = filter_of(std::iter::empty(), 10);
        assert!(!filter.may_contain(b"anything"));
    }

    /// The claim: at 10 bits per key, at most 2 % of absent keys pass.
    #[test]
    fn false_positive_rate_at_ten_bits_per_key_is_at_most_two_percent() {
        const PRESENT: u32 = 20_000;
        const ABSENT: u32 = 200_000;
        let filter = filter_of(
            (0..PRESENT).map(|index| format!("user-key-{index:08}").into_bytes()),
            10,
        );
        let false_positives = (0..ABSENT)
            .filter(|index| filter.may_contain(format!("absent-{index:08}").as_bytes()))
            .count();
        let rate = false_positives as f64 / f64::from(ABSENT);
        println!(
            "bloom false-positive rate at 10 bits/key: {false_positives}/{ABSENT} = {:.3} %",
            rate * 100.0
        );
        assert!(rate <= 0.02, "false-positive rate {rate} exceeds 2 %");
    }

    #[test]
    fn reserved_probe_counts_and_empty_contents_are_refused() {
        assert!(BloomFilter::new(vec![]).is_none());
        assert!(BloomFilter::new(vec![7]).is_none());
        assert!(BloomFilter::new(vec![0xff; 9]).is_none());
        assert!(BloomFilter::new(vec![0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none());
    }
}
