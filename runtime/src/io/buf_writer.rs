//! `BufWriter` with tokio's meaning: writes are buffered, reads (and
//! buffered reads) pass through to the wrapped stream, and buffered data
//! that was never flushed is dropped with the writer.

use std::io::{self, BufRead, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::mem::ManuallyDrop;

/// Buffers the writes to a stream, as tokio's `io::BufWriter` does; the
/// counterpart of `tokio::io::BufWriter` for weft's blocking-style streams.
///
/// Unlike `std::io::BufWriter`, it also implements [`Read`] and
/// [`BufRead`] when the stream does, by passing them through to the stream
/// (the buffer holds only written data), so a connection type can keep one
/// `BufWriter<TcpStream>` for both directions. Pending writes are not
/// flushed before a read. Like tokio's (and unlike std's), dropping it does
/// not flush: call [`flush`](Write::flush) before dropping, as tokio
/// requires.
///
/// ```
/// use std::io::{Read, Write};
///
/// weft::run(|_env| {
///     let (a, mut b) = weft::io::duplex(64);
///     let mut w = weft::io::BufWriter::new(a);
///     w.write_all(b"ping").unwrap();
///     assert_eq!(w.buffer(), b"ping"); // not sent yet
///     w.flush().unwrap();
///     let mut got = [0; 4];
///     b.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"ping");
///     b.write_all(b"pong").unwrap();
///     w.read_exact(&mut got).unwrap(); // reads pass through
///     assert_eq!(&got, b"pong");
/// });
/// ```
pub struct BufWriter<W: Write> {
    inner: ManuallyDrop<io::BufWriter<W>>,
}

impl<W: Write> BufWriter<W> {
    /// Wraps `inner` with an 8 KiB buffer (tokio's default).
    ///
    /// ```
    /// let w = weft::io::BufWriter::new(Vec::<u8>::new());
    /// assert_eq!(w.capacity(), 8 * 1024);
    /// ```
    pub fn new(inner: W) -> Self {
        Self::with_capacity(8 * 1024, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes.
    ///
    /// ```
    /// let w = weft::io::BufWriter::with_capacity(16, Vec::<u8>::new());
    /// assert_eq!(w.capacity(), 16);
    /// ```
    pub fn with_capacity(capacity: usize, inner: W) -> Self {
        BufWriter {
            inner: ManuallyDrop::new(io::BufWriter::with_capacity(capacity, inner)),
        }
    }

    /// The wrapped stream.
    ///
    /// ```
    /// let w = weft::io::BufWriter::new(vec![1u8]);
    /// assert_eq!(w.get_ref(), &[1]);
    /// ```
    pub fn get_ref(&self) -> &W {
        self.inner.get_ref()
    }

    /// The wrapped stream, mutably. Writing to it directly bypasses (and
    /// may reorder with) the buffered data.
    ///
    /// ```
    /// let mut w = weft::io::BufWriter::new(Vec::<u8>::new());
    /// w.get_mut().push(7);
    /// assert_eq!(w.get_ref(), &[7]);
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        self.inner.get_mut()
    }

    /// The wrapped stream; data still in the buffer is lost, as with
    /// tokio's `into_inner` (flush first to keep it).
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// let mut w = weft::io::BufWriter::new(Vec::<u8>::new());
    /// w.write_all(b"kept").unwrap();
    /// w.flush().unwrap();
    /// w.write_all(b"lost").unwrap();
    /// assert_eq!(w.into_inner(), b"kept");
    /// ```
    pub fn into_inner(mut self) -> W {
        // SAFETY: `inner` is taken once, here, and `self` is forgotten
        // right after, so Drop never sees the emptied slot.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        std::mem::forget(self);
        inner.into_parts().0
    }

    /// The data written but not yet flushed.
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// let mut w = weft::io::BufWriter::new(Vec::<u8>::new());
    /// w.write_all(b"ab").unwrap();
    /// assert_eq!(w.buffer(), b"ab");
    /// ```
    pub fn buffer(&self) -> &[u8] {
        self.inner.buffer()
    }

    /// The buffer's capacity.
    ///
    /// ```
    /// let w = weft::io::BufWriter::with_capacity(100, Vec::<u8>::new());
    /// assert_eq!(w.capacity(), 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl<W: Write> Drop for BufWriter<W> {
    fn drop(&mut self) {
        // SAFETY: taken once, in drop; `inner` is not used afterwards.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        // Unflushed data goes, as with tokio's BufWriter (std's would
        // write it here, which may block on a slow peer).
        drop(inner.into_parts());
    }
}

impl<W: Write> Write for BufWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write + Read> Read for BufWriter<W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.get_mut().read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.get_mut().read_vectored(bufs)
    }
}

impl<W: Write + BufRead> BufRead for BufWriter<W> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.get_mut().fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.get_mut().consume(amt)
    }
}

/// Seeking flushes the buffer first, as tokio's and std's do.
impl<W: Write + Seek> Seek for BufWriter<W> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl<W: Write + std::fmt::Debug> std::fmt::Debug for BufWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufWriter")
            .field("inner", self.get_ref())
            .field("buffered", &self.buffer().len())
            .field("capacity", &self.capacity())
            .finish()
    }
}
