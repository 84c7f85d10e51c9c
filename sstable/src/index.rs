//! Shortened separator keys for the index block (LevelDB's
//! `FindShortestSeparator` and `FindShortSuccessor` on the user key part of
//! internal keys). An index key `k` for data block `i` satisfies
//! `last_key(i) <= k < first_key(i + 1)`, so a seek for `target` reads the
//! first block whose index key is at or after `target`.

use std::cmp::Ordering;

use crate::key::{MAX_SEQUENCE, SEEK_KIND, append_internal_key, compare_internal_keys, user_key};

/// A short internal key `k` with `start <= k < limit`; `start < limit`.
#[must_use]
pub fn shortest_separator(start: &[u8], limit: &[u8]) -> Vec<u8> {
    let (user_start, user_limit) = (user_key(start), user_key(limit));
    let common = user_start
        .iter()
        .zip(user_limit)
        .take_while(|(a, b)| a == b)
        .count();
    if common < user_start.len().min(user_limit.len()) {
        let byte = user_start[common];
        if byte < 0xff && byte + 1 < user_limit[common] {
            let mut shortened = user_start[..=common].to_vec();
            shortened[common] += 1;
            if shortened.len() < user_start.len() {
                return with_max_trailer(shortened, start, limit);
            }
        }
    }
    start.to_vec()
}

/// A short internal key `k` with `key <= k`.
#[must_use]
pub fn short_successor(key: &[u8]) -> Vec<u8> {
    let user = user_key(key);
    if let Some(position) = user.iter().position(|&byte| byte != 0xff) {
        let mut successor = user[..=position].to_vec();
        successor[position] += 1;
        if successor.len() < user.len() {
            let mut encoded = Vec::with_capacity(successor.len() + 8);
            append_internal_key(&mut encoded, &successor, MAX_SEQUENCE, SEEK_KIND);
            debug_assert_eq!(compare_internal_keys(key, &encoded), Ordering::Less);
            return encoded;
        }
    }
    key.to_vec()
}

/// The user key `shortened` with the trailer that sorts first among its
/// entries: it is after `start` (a smaller user key) and before `limit`.
fn with_max_trailer(shortened: Vec<u8>, start: &[u8], limit: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(shortened.len() + 8);
    append_internal_key(&mut encoded, &shortened, MAX_SEQUENCE, SEEK_KIND);
    debug_assert_eq!(compare_internal_keys(start, &encoded), Ordering::Less);
    debug_assert_eq!(compare_internal_keys(&encoded, limit), Ordering::Less);
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::encode_internal_key;

    #[test]
    fn separator_is_shortened_between_distinct_user_keys() {
        let start = encode_internal_key(b"abcdefg", 5, 1);
        let limit = encode_internal_key(b"abzz", 9, 1);
        let separator = shortest_separator(&start, &limit);
        assert_eq!(user_key(&separator), b"abd");
        assert_eq!(compare_internal_keys(&start, &separator), Ordering::Less);
        assert_eq!(compare_internal_keys(&separator, &limit), Ordering::Less);
    }

    #[test]
    fn separator_keeps_start_when_nothing_shorter_fits() {
        for (start, limit) in [
            (
                encode_internal_key(b"abc", 5, 1),
                encode_internal_key(b"abc", 4, 1),
            ),
            (
                encode_internal_key(b"abc", 5, 1),
                encode_internal_key(b"abd", 4, 1),
            ),
            (
                encode_internal_key(b"ab", 5, 1),
                encode_internal_key(b"abc", 4, 1),
            ),
        ] {
            assert_eq!(shortest_separator(&start, &limit), start);
        }
    }

    #[test]
    fn successor_is_short_and_not_before_the_key() {
        let key = encode_internal_key(b"\xff\x01zzz", 5, 1);
        let successor = short_successor(&key);
        assert_eq!(user_key(&successor), b"\xff\x02");
        let all_ff = encode_internal_key(b"\xff\xff", 5, 1);
        assert_eq!(short_successor(&all_ff), all_ff);
    }
}
