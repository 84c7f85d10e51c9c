//! Tables written with either filter layout open and use their filter: the
//! cache-local one tables are written with now, and the spread one tables
//! were written with before.

#![allow(clippy::unwrap_used)]

use strata_sstable::key::{InternalKey, ValueKind};
use strata_sstable::{FilterLayout, Table, TableBuilder, TableOptions};

fn table(layout: FilterLayout) -> Table {
    let options = TableOptions {
        filter_layout: layout,
        ..TableOptions::default()
    };
    let mut builder = TableBuilder::new(Vec::new(), options);
    for index in 0..5_000u32 {
        let key = format!("present/{index:06}");
        builder
            .add(
                InternalKey::new(key.as_bytes(), u64::from(index) + 1, ValueKind::Value).as_bytes(),
                &index.to_le_bytes(),
            )
            .unwrap();
    }
    Table::open(builder.finish().unwrap().0, "filters.sst").unwrap()
}

#[test]
fn both_layouts_find_every_key_and_filter_absent_ones() {
    for layout in [FilterLayout::Local, FilterLayout::Spread] {
        let table = table(layout);
        for index in 0..5_000u32 {
            let key = format!("present/{index:06}");
            let entry = table.get(key.as_bytes(), u64::MAX >> 8).unwrap();
            assert_eq!(
                entry.map(|entry| entry.value),
                Some(index.to_le_bytes().to_vec()),
                "{layout:?} {key}"
            );
        }
        // A reader that did not recognize the filter would pass every key.
        let passed = (0..20_000u32)
            .filter(|index| table.may_contain(format!("absent/{index:06}").as_bytes()))
            .count();
        assert!(
            passed < 600,
            "{layout:?}: {passed} of 20,000 absent keys passed"
        );
        assert!(table.verify().is_ok(), "{layout:?}");
    }
}
