//! The positional-read seam: a table reads its bytes through [`ReadAt`], so
//! tests and the engine's simulated file system can serve them from memory.

use std::io;

/// A read-only byte source with positional reads.
///
/// Implemented for every `AsRef<[u8]>` (`Vec<u8>`, `Arc<[u8]>`, `Box<[u8]>`,
/// `&'static [u8]`, ...) and by [`MmapFile`](crate::MmapFile).
pub trait ReadAt: Send + Sync {
    /// The number of bytes in the source.
    ///
    /// # Errors
    /// Whatever the underlying storage reports.
    fn size_bytes(&self) -> io::Result<u64>;

    /// Fills `buffer` with the bytes at `offset..offset + buffer.len()`.
    ///
    /// # Errors
    /// `UnexpectedEof` if the range is not inside the source, or whatever
    /// the underlying storage reports.
    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> io::Result<()>;
}

impl<T: AsRef<[u8]> + Send + Sync + ?Sized> ReadAt for T {
    fn size_bytes(&self) -> io::Result<u64> {
        Ok(self.as_ref().len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
        let bytes = self.as_ref();
        let source = usize::try_from(offset)
            .ok()
            .and_then(|start| bytes.get(start..start.checked_add(buffer.len())?))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "a read of {} bytes at offset {offset} ends past the {}-byte source",
                        buffer.len(),
                        bytes.len()
                    ),
                )
            })?;
        buffer.copy_from_slice(source);
        Ok(())
    }
}
