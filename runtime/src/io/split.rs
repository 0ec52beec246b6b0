//! [`split`]: a reading and a writing half of one stream, to hand to two
//! fibers (tokio's `io::split`), for any stream that reads and writes
//! through a shared reference, as every weft stream does.

use std::io::{self, Read, Write};
use std::sync::Arc;

/// The reading half from [`split`].
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (a, mut b) = weft::io::duplex(16);
///     let (mut r, _w) = weft::io::split(a);
///     b.write_all(b"hi").unwrap();
///     let mut got = [0u8; 2];
///     r.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"hi");
/// });
/// ```
#[derive(Debug)]
pub struct ReadHalf<T> {
    stream: Arc<T>,
}

/// The writing half from [`split`]. Dropping it does not close anything;
/// the stream closes when both halves are gone.
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (a, mut b) = weft::io::duplex(16);
///     let (_r, mut w) = weft::io::split(a);
///     w.write_all(b"yo").unwrap();
///     let mut got = [0u8; 2];
///     b.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"yo");
/// });
/// ```
#[derive(Debug)]
pub struct WriteHalf<T> {
    stream: Arc<T>,
}

/// Splits `stream` into halves that can go to different fibers: one may
/// wait to read while the other writes. Unlike a lock-based split, the
/// halves never wait for each other, because the stream itself reads and
/// writes through `&T`.
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (a, b) = weft::io::duplex(64);
///     let (mut r, mut w) = weft::io::split(b);
///     // Echo on b's side, driven from a.
///     let (echoed, ()) = weft::fiber::both(
///         move || {
///             (&a).write_all(b"abc").unwrap();
///             let mut got = [0u8; 3];
///             (&a).read_exact(&mut got).unwrap();
///             got
///         },
///         move || {
///             let mut buf = [0u8; 3];
///             r.read_exact(&mut buf).unwrap();
///             w.write_all(&buf).unwrap();
///         },
///     );
///     assert_eq!(&echoed, b"abc");
/// });
/// ```
pub fn split<T>(stream: T) -> (ReadHalf<T>, WriteHalf<T>)
where
    for<'a> &'a T: Read + Write,
{
    let stream = Arc::new(stream);
    (
        ReadHalf {
            stream: stream.clone(),
        },
        WriteHalf { stream },
    )
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the writing half of the same stream.
    ///
    /// ```
    /// let (r, w) = weft::io::split(weft::io::duplex(1).0);
    /// assert!(r.is_pair_of(&w));
    /// ```
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Arc::ptr_eq(&self.stream, &other.stream)
    }

    /// Puts the stream back together.
    ///
    /// # Panics
    ///
    /// If the halves come from different streams (as tokio's does).
    ///
    /// ```
    /// let (r, w) = weft::io::split(weft::io::duplex(1).0);
    /// let _stream = r.unsplit(w);
    /// ```
    pub fn unsplit(self, other: WriteHalf<T>) -> T {
        assert!(
            self.is_pair_of(&other),
            "weft::io::ReadHalf::unsplit: the halves are not from the same stream"
        );
        drop(other);
        Arc::into_inner(self.stream).expect("both halves were just given up")
    }
}

impl<T> WriteHalf<T> {
    /// Whether `other` is the reading half of the same stream.
    ///
    /// ```
    /// let (r, w) = weft::io::split(weft::io::duplex(1).0);
    /// assert!(w.is_pair_of(&r));
    /// ```
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        Arc::ptr_eq(&self.stream, &other.stream)
    }
}

impl<T> Read for ReadHalf<T>
where
    for<'a> &'a T: Read,
{
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.stream).read(buf)
    }
}

impl<T> Write for WriteHalf<T>
where
    for<'a> &'a T: Write,
{
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.stream).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.stream).flush()
    }
}
