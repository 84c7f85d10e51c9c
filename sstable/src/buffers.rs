//! Spare block buffers, kept per thread. Every block read from a file needs
//! a buffer of its stored length, and a buffer of about that length is
//! freed each time the block cache evicts a block (on the thread that
//! inserts the next one, which is about to read another). Reusing freed
//! buffers saves the allocation, the free, and the zeroing of a new buffer
//! that the read then overwrites: a `vec![0; length]` per block read was
//! about 5 % of a random read's time, `malloc` and `free` as much again.
//! Whatever a spare held before is overwritten whole before it is used:
//! a read fills the buffer or fails, and a failed read's buffer is not
//! parsed.

use std::cell::RefCell;

/// Spares kept per thread, at most.
const MAX_SPARES: usize = 16;

/// Larger buffers (index and filter blocks, readahead windows) are not
/// kept: they are rare, and a spare held by an idle thread is memory
/// nobody uses.
const MAX_SPARE_BYTES: usize = 64 << 10;

thread_local! {
    static SPARES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of exactly `length` bytes, to be overwritten whole: it holds
/// the bytes of some earlier block, or zeros.
pub(crate) fn take(length: usize) -> Vec<u8> {
    let spare = SPARES
        .try_with(|spares| spares.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten();
    match spare {
        Some(mut buffer) => {
            if buffer.len() >= length {
                buffer.truncate(length);
            } else {
                // Zeroes only the bytes past the old length.
                buffer.resize(length, 0);
            }
            buffer
        }
        None => vec![0; length],
    }
}

/// Keeps `buffer` for a later [`take`] on this thread, if it is small
/// enough and there is room.
pub(crate) fn give_back(buffer: Vec<u8>) {
    if buffer.capacity() == 0 || buffer.capacity() > MAX_SPARE_BYTES {
        return;
    }
    // During thread exit the spares may be gone: the buffer is just freed.
    let _ = SPARES.try_with(|spares| {
        if let Ok(mut spares) = spares.try_borrow_mut()
            && spares.len() < MAX_SPARES
        {
            spares.push(buffer);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_back_buffer_is_taken_again_at_the_asked_length() {
        let mut buffer = take(4_000);
        assert_eq!(buffer.len(), 4_000);
        buffer.fill(7);
        let address = buffer.as_ptr();
        give_back(buffer);
        // Shorter: the same allocation, truncated.
        let shorter = take(3_000);
        assert_eq!((shorter.as_ptr(), shorter.len()), (address, 3_000));
        give_back(shorter);
        // Longer than its length: grown (zeros past the old bytes).
        let longer = take(3_500);
        assert_eq!(longer.len(), 3_500);
        assert_eq!(&longer[2_990..3_010], &[[7; 10], [0; 10]].concat()[..]);
        // Buffers past the size limit are not kept.
        give_back(vec![1; MAX_SPARE_BYTES + 1]);
        assert!(SPARES.with(|spares| spares.borrow().is_empty()));
        // Nor more than `MAX_SPARES` of them.
        for _ in 0..MAX_SPARES + 3 {
            give_back(vec![1; 10]);
        }
        assert_eq!(SPARES.with(|spares| spares.borrow().len()), MAX_SPARES);
    }
}
