//! One block from arbitrary bytes: opening it, scanning both ways and seeking
//! never panic or hang, and a backward scan sees what a forward scan saw.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use strata_sstable::{Block, KeyOrder};

/// Far more entries than a fuzz input can hold: a guard against hangs.
const MAX_STEPS: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let (order, rest) = match data.split_first() {
        Some((selector, rest)) if selector & 1 == 0 => (KeyOrder::Internal, rest),
        Some((_, rest)) => (KeyOrder::Bytewise, rest),
        None => return,
    };
    let target_length = usize::from(rest.first().copied().unwrap_or(0) % 16).min(rest.len());
    let (target, contents) = rest.split_at(target_length);
    let Ok(block) = Block::new(contents.to_vec(), order, Arc::from(Path::new("fuzz")), 0) else {
        return;
    };
    let block = Arc::new(block);

    let mut iterator = block.iter();
    let mut forward = Vec::new();
    let mut forward_complete = iterator.seek_to_first().is_ok();
    while forward_complete && iterator.valid() {
        assert!(forward.len() < MAX_STEPS, "forward scan does not end");
        forward.push((iterator.key().to_vec(), iterator.value().to_vec()));
        forward_complete = iterator.next().is_ok();
    }

    let mut backward = Vec::new();
    let mut backward_complete = iterator.seek_to_last().is_ok();
    while backward_complete && iterator.valid() {
        assert!(backward.len() < MAX_STEPS, "backward scan does not end");
        backward.push((iterator.key().to_vec(), iterator.value().to_vec()));
        backward_complete = iterator.prev().is_ok();
    }
    backward.reverse();
    if forward_complete && backward_complete {
        assert_eq!(forward, backward, "the two directions disagree");
    }

    for probe in [target, &[][..], b"\xff\xff\xff\xff\xff\xff\xff\xff\xff"] {
        let _ = iterator.seek(probe);
        let _ = iterator.seek_for_prev(probe);
        for _ in 0..4 {
            let _ = iterator.prev();
        }
        for _ in 0..8 {
            let _ = iterator.next();
        }
    }
});
