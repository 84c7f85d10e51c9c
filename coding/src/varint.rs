//! LEB128 variable-length integers, as LevelDB and RocksDB write them: seven
//! bits per byte, least significant group first, the high bit set on every
//! byte but the last.
//!
//! ```text
//! varint := (1xxxxxxx)* 0xxxxxxx        at most 5 bytes for a varint32, 10 for a varint64
//! ```
//!
//! Decoding accepts exactly what those writers accept: a non-minimal
//! encoding (`0x80 0x00` for zero) is read as its value, but an encoding
//! longer than the width allows, one whose bits do not fit the width, or
//! one cut off by the end of the input is a [`VarintError`].

use std::fmt;

/// The longest encoding of a `u32`: `ceil(32 / 7)` bytes.
pub const MAX_VARINT32_BYTES: usize = 5;

/// The longest encoding of a `u64`: `ceil(64 / 7)` bytes.
pub const MAX_VARINT64_BYTES: usize = 10;

const _: () = assert!(MAX_VARINT32_BYTES == 32usize.div_ceil(7));
const _: () = assert!(MAX_VARINT64_BYTES == 64usize.div_ceil(7));

/// The payload bits of each byte.
const PAYLOAD_MASK: u8 = 0x7f;
/// The bit that says another byte follows.
const CONTINUATION_BIT: u8 = 0x80;
/// Payload bits per byte.
const BITS_PER_BYTE: u32 = 7;

/// Why a varint could not be decoded. `width_bits` is 32 for a varint32 and
/// 64 for a varint64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VarintError {
    /// The input ends before the varint's last byte (one without the
    /// continuation bit).
    Truncated {
        /// The width that was being decoded.
        width_bits: u32,
    },
    /// The first `max_bytes` bytes all carry the continuation bit.
    TooLong {
        /// The width that was being decoded.
        width_bits: u32,
        /// The longest encoding of that width.
        max_bytes: usize,
    },
    /// The encoded value has bits set at or above `width_bits`.
    Overflow {
        /// The width that was being decoded.
        width_bits: u32,
    },
}

impl fmt::Display for VarintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarintError::Truncated { width_bits } => {
                write!(f, "the input ends inside a varint{width_bits}")
            }
            VarintError::TooLong {
                width_bits,
                max_bytes,
            } => write!(f, "varint{width_bits} longer than {max_bytes} bytes"),
            VarintError::Overflow { width_bits } => {
                write!(f, "varint{width_bits} overflows {width_bits} bits")
            }
        }
    }
}

impl std::error::Error for VarintError {}

/// Appends the encoding of `value` to `out` (1 to [`MAX_VARINT32_BYTES`]
/// bytes).
pub fn put_varint32(out: &mut Vec<u8>, value: u32) {
    put_varint64(out, u64::from(value));
}

/// Appends the encoding of `value` to `out` (1 to [`MAX_VARINT64_BYTES`]
/// bytes).
pub fn put_varint64(out: &mut Vec<u8>, mut value: u64) {
    while value > u64::from(PAYLOAD_MASK) {
        // Keeps the low seven bits; the cast drops only bits masked off.
        out.push(((value as u8) & PAYLOAD_MASK) | CONTINUATION_BIT);
        value >>= BITS_PER_BYTE;
    }
    out.push(value as u8);
}

/// Decodes a varint32 from the front of `input`; returns the value and the
/// number of bytes it took.
///
/// # Errors
/// [`VarintError`] if `input` ends inside the varint, if it is longer than
/// [`MAX_VARINT32_BYTES`], or if its value does not fit a `u32`.
#[inline]
pub fn get_varint32(input: &[u8]) -> Result<(u32, usize), VarintError> {
    // One byte, the common case in block entry headers: inlined into the
    // caller (block seeks decode three per entry), no loop.
    if let Some(&byte) = input.first()
        && byte & CONTINUATION_BIT == 0
    {
        return Ok((u32::from(byte), 1));
    }
    let (value, length) = decode(input, 32)?;
    let value = u32::try_from(value).map_err(|_| VarintError::Overflow { width_bits: 32 })?;
    Ok((value, length))
}

/// Decodes a varint64 from the front of `input`; returns the value and the
/// number of bytes it took.
///
/// # Errors
/// [`VarintError`] if `input` ends inside the varint, if it is longer than
/// [`MAX_VARINT64_BYTES`], or if its value does not fit a `u64`.
pub fn get_varint64(input: &[u8]) -> Result<(u64, usize), VarintError> {
    decode(input, 64)
}

/// Decodes a varint of `width_bits` (32 or 64) from the front of `input`.
fn decode(input: &[u8], width_bits: u32) -> Result<(u64, usize), VarintError> {
    let max_bytes = if width_bits == 32 {
        MAX_VARINT32_BYTES
    } else {
        MAX_VARINT64_BYTES
    };
    let mut value: u64 = 0;
    let mut shift: u32 = 0;
    for (index, byte) in input.iter().take(max_bytes).enumerate() {
        let bits = u64::from(byte & PAYLOAD_MASK);
        // Bits that would land at or above `width_bits` make the value too
        // large, whether or not more bytes follow.
        let room = width_bits - shift;
        if room < BITS_PER_BYTE && bits >> room != 0 {
            return Err(VarintError::Overflow { width_bits });
        }
        value |= bits << shift;
        if byte & CONTINUATION_BIT == 0 {
            return Ok((value, index + 1));
        }
        shift += BITS_PER_BYTE;
    }
    if input.len() >= max_bytes {
        Err(VarintError::TooLong {
            width_bits,
            max_bytes,
        })
    } else {
        Err(VarintError::Truncated { width_bits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode32(value: u32) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint32(&mut out, value);
        out
    }

    fn encode64(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint64(&mut out, value);
        out
    }

    #[test]
    fn varint32_round_trips_at_every_width_boundary() {
        for (value, length) in [
            (0, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            ((1 << 21) - 1, 3),
            (1 << 21, 4),
            ((1 << 28) - 1, 4),
            (1 << 28, 5),
            (u32::MAX, 5),
        ] {
            let bytes = encode32(value);
            assert_eq!(bytes.len(), length, "length of {value}");
            assert_eq!(get_varint32(&bytes), Ok((value, length)));
        }
    }

    #[test]
    fn varint64_round_trips_at_every_width_boundary() {
        for shift in (7..64).step_by(7) {
            for value in [(1u64 << shift) - 1, 1u64 << shift] {
                let bytes = encode64(value);
                assert_eq!(get_varint64(&bytes), Ok((value, bytes.len())));
            }
        }
        let bytes = encode64(u64::MAX);
        assert_eq!(bytes.len(), MAX_VARINT64_BYTES);
        assert_eq!(get_varint64(&bytes), Ok((u64::MAX, MAX_VARINT64_BYTES)));
    }

    #[test]
    fn encoding_is_leveldbs_little_endian_base_128() {
        assert_eq!(encode32(300), [0xac, 0x02]);
        assert_eq!(encode32(u32::MAX), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(encode64(1 << 63)[9], 0x01);
    }

    #[test]
    fn decoding_reads_only_the_varint_at_the_front() {
        let mut bytes = encode32(300);
        bytes.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(get_varint32(&bytes), Ok((300, 2)));
        assert_eq!(get_varint32(&[0x80, 0x00]), Ok((0, 2)));
    }

    #[test]
    fn truncated_input_is_rejected() {
        assert_eq!(
            get_varint32(&[]),
            Err(VarintError::Truncated { width_bits: 32 })
        );
        assert_eq!(
            get_varint32(&[0x80, 0x80]),
            Err(VarintError::Truncated { width_bits: 32 })
        );
        let bytes = encode64(u64::MAX);
        assert_eq!(
            get_varint64(&bytes[..9]),
            Err(VarintError::Truncated { width_bits: 64 })
        );
    }

    #[test]
    fn too_long_input_is_rejected() {
        assert_eq!(
            get_varint32(&[0x80; 6]),
            Err(VarintError::TooLong {
                width_bits: 32,
                max_bytes: 5
            })
        );
        assert_eq!(
            get_varint32(&[0x80; 5]),
            Err(VarintError::TooLong {
                width_bits: 32,
                max_bytes: 5
            })
        );
        assert_eq!(
            get_varint64(&[0x80; 11]),
            Err(VarintError::TooLong {
                width_bits: 64,
                max_bytes: 10
            })
        );
    }

    #[test]
    fn values_past_the_width_are_rejected() {
        assert_eq!(
            get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(VarintError::Overflow { width_bits: 32 })
        );
        assert_eq!(
            get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(VarintError::Overflow { width_bits: 32 })
        );
        assert_eq!(
            get_varint64(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            Err(VarintError::Overflow { width_bits: 64 })
        );
        assert_eq!(
            get_varint64(&[0xff; 10]),
            Err(VarintError::Overflow { width_bits: 64 })
        );
    }

    #[test]
    fn errors_read_as_sentences_naming_the_width() {
        assert_eq!(
            VarintError::Overflow { width_bits: 32 }.to_string(),
            "varint32 overflows 32 bits"
        );
        assert_eq!(
            VarintError::TooLong {
                width_bits: 64,
                max_bytes: 10
            }
            .to_string(),
            "varint64 longer than 10 bytes"
        );
        assert_eq!(
            VarintError::Truncated { width_bits: 32 }.to_string(),
            "the input ends inside a varint32"
        );
    }
}
