//! The full verification pass behind [`Table::verify`](crate::Table::verify).

use std::sync::Arc;

use crate::error::Result;
use crate::footer::BlockHandle;
use crate::format::{BLOCK_TRAILER_SIZE, FOOTER_SIZE};
use crate::key::{ValueKind, is_before, parse_internal_key};
use crate::table_inner::TableInner;

/// What [`Table::verify`](crate::Table::verify) read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read, all in order and all passing the filter.
    pub entry_count: u64,
    /// Data blocks read, all with good checksums.
    pub data_block_count: u64,
}

/// Reads every block of `inner` and checks what can be checked.
pub(crate) fn verify(inner: &TableInner) -> Result<VerifyReport> {
    let mut expected_offset = 0u64;
    let mut check_position = |handle: BlockHandle, what: &str| {
        if handle.offset != expected_offset {
            return Err(inner.corruption(
                handle.offset.min(expected_offset),
                format!(
                    "the {what} block starts at {} but the previous block ends at \
                     {expected_offset}: the blocks do not tile the file",
                    handle.offset
                ),
            ));
        }
        expected_offset = handle
            .offset
            .checked_add(handle.size)
            .and_then(|end| end.checked_add(BLOCK_TRAILER_SIZE as u64))
            .ok_or_else(|| {
                inner.corruption(
                    handle.offset,
                    format!(
                        "the {what} block's size {} overflows the file offsets",
                        handle.size
                    ),
                )
            })?;
        Ok(())
    };

    let mut index = inner.index.iter();
    index.seek_to_first()?;
    let mut previous_key: Option<Vec<u8>> = None;
    let mut previous_separator: Option<Vec<u8>> = None;
    let mut report = VerifyReport {
        entry_count: 0,
        data_block_count: 0,
    };
    while index.valid() {
        let index_offset = index.entry_file_offset();
        let separator = index.key().to_vec();
        if previous_separator
            .as_deref()
            .is_some_and(|previous| !is_before(previous, &separator))
        {
            return Err(inner.corruption(index_offset, "index keys are out of order".into()));
        }
        let handle = BlockHandle::decode(index.value()).ok_or_else(|| {
            inner.corruption(
                index_offset,
                "an index entry's block handle is malformed".into(),
            )
        })?;
        check_position(handle, "data")?;
        let block = Arc::new(inner.read_data_block_from_file(handle)?);
        let mut data = block.iter();
        data.seek_to_first()?;
        if !data.valid() {
            return Err(inner.corruption(handle.offset, "a data block holds no entries".into()));
        }
        while data.valid() {
            let offset = data.entry_file_offset();
            let key = data.key();
            let corruption = |reason: &str| inner.corruption(offset, reason.to_string());
            let parsed =
                parse_internal_key(key).ok_or_else(|| corruption("a key has no trailer"))?;
            if ValueKind::from_byte(parsed.kind).is_none() {
                return Err(corruption("an entry has an unknown kind byte"));
            }
            if previous_key
                .as_deref()
                .is_some_and(|previous| !is_before(previous, key))
            {
                return Err(corruption("keys are out of order"));
            }
            if previous_separator
                .as_deref()
                .is_some_and(|previous| !is_before(previous, key))
            {
                return Err(corruption(
                    "a key is not after the previous block's separator",
                ));
            }
            if is_before(&separator, key) {
                return Err(corruption("a key is after its block's separator"));
            }
            if !inner.may_contain(parsed.user_key) {
                return Err(corruption(
                    "the bloom filter does not hold a key of the table",
                ));
            }
            previous_key = Some(key.to_vec());
            report.entry_count += 1;
            data.next()?;
        }
        report.data_block_count += 1;
        previous_separator = Some(separator);
        index.next()?;
    }
    for handle in inner.metadata_handles() {
        check_position(handle, "metadata")?;
    }
    if expected_offset != inner.footer_offset() {
        return Err(inner.corruption(
            expected_offset,
            format!(
                "{} bytes lie between the index block and the {FOOTER_SIZE}-byte footer",
                inner.footer_offset().saturating_sub(expected_offset)
            ),
        ));
    }
    Ok(report)
}
