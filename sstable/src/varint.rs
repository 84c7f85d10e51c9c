//! LEB128 variable-length integers, as LevelDB writes them: seven bits per
//! byte, least significant group first, the high bit set on every byte but
//! the last.

/// The longest encoding of a `u32`.
const MAX_VARINT32_BYTES: usize = 5;
/// The longest encoding of a `u64`.
const MAX_VARINT64_BYTES: usize = 10;

/// Appends `value` to `out`.
pub(crate) fn put_varint64(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `value` to `out`.
pub(crate) fn put_varint32(out: &mut Vec<u8>, value: u32) {
    put_varint64(out, u64::from(value));
}

/// Decodes a varint of at most `max_bytes` bytes from the front of `input`;
/// returns the value and the number of bytes read, or `None` if the input
/// ends inside it, it is too long, or it overflows `limit`.
fn get_varint(input: &[u8], max_bytes: usize, limit: u64) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (index, byte) in input.iter().take(max_bytes).enumerate() {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * index as u32;
        let shifted = bits.checked_shl(shift)?;
        if shifted >> shift != bits {
            return None;
        }
        value |= shifted;
        if byte & 0x80 == 0 {
            return (value <= limit).then_some((value, index + 1));
        }
    }
    None
}

/// Decodes a varint32 from the front of `input`.
pub(crate) fn get_varint32(input: &[u8]) -> Option<(u32, usize)> {
    let (value, length) = get_varint(input, MAX_VARINT32_BYTES, u64::from(u32::MAX))?;
    Some((u32::try_from(value).ok()?, length))
}

/// Decodes a varint64 from the front of `input`.
pub(crate) fn get_varint64(input: &[u8]) -> Option<(u64, usize)> {
    get_varint(input, MAX_VARINT64_BYTES, u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_every_width() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint64(&mut out, value);
            assert_eq!(get_varint64(&out), Some((value, out.len())));
        }
    }

    #[test]
    fn rejects_truncated_overlong_and_overflowing_input() {
        assert_eq!(get_varint64(&[0x80]), None);
        assert_eq!(get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x1f]), None);
        assert_eq!(get_varint32(&[0x80; 6]), None);
        assert_eq!(get_varint64(&[0xff; 10]), None);
        assert_eq!(
            get_varint64(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
                .map(|v| v.0),
            Some(u64::MAX)
        );
    }
}
