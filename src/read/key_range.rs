//! What [`crate::Db::range`] accepts: any of the standard ranges (or a pair
//! of bounds) over one byte-like key type. A trait of its own rather than
//! `RangeBounds<K>`: a range of references such as `b"a"..b"c"` is both a
//! `RangeBounds<&[u8; 1]>` and a `RangeBounds<[u8; 1]>`, which leaves the key
//! type ambiguous, and `..` would need the key type spelt out.

use std::ops::{
    Bound, Range, RangeBounds, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive,
};

/// A range of keys of type `K`, for [`crate::Db::range`],
/// [`crate::Db::range_at`] and [`crate::Snapshot`] reads: `a..b`, `a..=b`,
/// `a..`, `..b`, `..=b`, `..`, or `(Bound<K>, Bound<K>)`, where `K` is
/// anything that is bytes (`&[u8]`, `&[u8; N]`, `&str`, `Vec<u8>`,
/// `String`, ...).
///
/// Both ends of `a..b` have one type, so `b"a"..b"cc"` (arrays of two
/// lengths) does not compile; write `&b"a"[..]..b"cc"` or `"a".."cc"`.
///
/// Any other `RangeBounds<K>` (a generic parameter, say) passes as its pair
/// of bounds:
///
/// ```
/// use std::ops::RangeBounds;
/// use strata::{Db, DbIterator};
///
/// fn scan(db: &Db, range: impl RangeBounds<Vec<u8>>) -> DbIterator {
///     db.range((range.start_bound().cloned(), range.end_bound().cloned()))
/// }
/// ```
pub trait KeyRange<K> {
    /// The range's bounds, copied out.
    fn into_key_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>);
}

fn owned<K: AsRef<[u8]>>(bound: Bound<&K>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(key) => Bound::Included(key.as_ref().to_vec()),
        Bound::Excluded(key) => Bound::Excluded(key.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

macro_rules! key_range_for_range_bounds {
    ($($range:ty),* $(,)?) => {
        $(
            impl<K: AsRef<[u8]>> KeyRange<K> for $range {
                fn into_key_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
                    (
                        owned(RangeBounds::<K>::start_bound(&self)),
                        owned(RangeBounds::<K>::end_bound(&self)),
                    )
                }
            }
        )*
    };
}

key_range_for_range_bounds!(
    Range<K>,
    RangeInclusive<K>,
    RangeFrom<K>,
    RangeTo<K>,
    RangeToInclusive<K>,
    (Bound<K>, Bound<K>),
);

/// `..`: every key. Implemented for one key type only, so that `db.range(..)`
/// needs no annotation.
impl KeyRange<&'static [u8]> for RangeFull {
    fn into_key_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (Bound::Unbounded, Bound::Unbounded)
    }
}

/// The bounds of the keys that start with `prefix`: from `prefix` up to,
/// not including, the shortest key greater than every key that starts with
/// it (none if `prefix` is empty or all `0xff`).
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_end_at_the_shortest_key_past_the_prefix() {
        let excluded = |end: &[u8]| Bound::Excluded(end.to_vec());
        assert_eq!(prefix_bounds(b"ab").1, excluded(b"ac"));
        assert_eq!(prefix_bounds(b"a\xff").1, excluded(b"b"));
        assert_eq!(prefix_bounds(b"a\xff\xff").1, excluded(b"b"));
        assert_eq!(prefix_bounds(b"\xff\xff").1, Bound::Unbounded);
        assert_eq!(
            prefix_bounds(b""),
            (Bound::Included(Vec::new()), Bound::Unbounded)
        );
    }
}
