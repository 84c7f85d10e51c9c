//! Masked checksums, as LevelDB and RocksDB store them.
//!
//! A CRC computed over bytes that themselves contain CRCs (a log record
//! holding a table block, say) is poorly distributed, so the stored value is
//! the CRC rotated right by [`MASK_ROTATION_BITS`] and then increased by
//! [`MASK_DELTA`], wrapping:
//!
//! ```text
//! masked = ((crc >> 15) | (crc << 17)).wrapping_add(0xa282ead8)
//! ```
//!
//! The constants are those of LevelDB's and RocksDB's `crc32c::Mask`, so a
//! masked CRC-32C here equals the one RocksDB writes.

/// Added to the rotated CRC (LevelDB's and RocksDB's `kMaskDelta`).
pub const MASK_DELTA: u32 = 0xa282_ead8;

/// How far the CRC is rotated right before [`MASK_DELTA`] is added.
pub const MASK_ROTATION_BITS: u32 = 15;

/// Masks `crc` for storage: rotates it right by [`MASK_ROTATION_BITS`] and
/// adds [`MASK_DELTA`], wrapping.
#[must_use]
pub const fn mask_checksum(crc: u32) -> u32 {
    crc.rotate_right(MASK_ROTATION_BITS)
        .wrapping_add(MASK_DELTA)
}

/// Inverts [`mask_checksum`]: recovers the CRC from its stored form.
#[must_use]
pub const fn unmask_checksum(masked: u32) -> u32 {
    masked
        .wrapping_sub(MASK_DELTA)
        .rotate_left(MASK_ROTATION_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_round_trips_and_changes_the_value() {
        for crc in [0, 1, 0x8000, 0xdead_beef, 0x5d7d_1527, u32::MAX] {
            assert_eq!(unmask_checksum(mask_checksum(crc)), crc);
            assert_ne!(mask_checksum(crc), crc);
        }
    }

    #[test]
    #[expect(
        clippy::manual_rotate,
        reason = "the formula as the format docs state it"
    )]
    fn mask_matches_the_documented_formula() {
        for crc in [0, 1, 0x1234_5678, 0xdead_beef, u32::MAX] {
            assert_eq!(
                mask_checksum(crc),
                ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8)
            );
        }
    }

    #[test]
    fn mask_rotates_right_not_left() {
        // Bit 0 rotated right by 15 lands on bit 17.
        assert_eq!(mask_checksum(0), 0xa282_ead8);
        assert_eq!(mask_checksum(1), 0xa282_ead8 + (1 << 17));
    }
}
