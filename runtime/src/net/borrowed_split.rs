//! Borrowed halves of a stream socket (tokio's `split`): a reader and a
//! writer over `&mut` of one stream, for two fibers of one scope, such as
//! `fiber::both(|| copy(&mut rd, ..), || copy(.., &mut wr))`. Nothing is
//! allocated and nothing happens on drop; the stream is whole again when
//! both halves are gone.
//!
//! Like the owned halves, one generic pair serves both stream kinds, with
//! aliases in [`tcp`](super::tcp) and [`unix`](super::unix).

use std::io::{self, Read, Write};
use std::net::Shutdown;

use super::{TcpStream, UnixStream};

/// The reading half of a stream borrowed by [`TcpStream::split`] or
/// [`UnixStream::split`]. The stream itself is at hand through
/// [`AsRef`] (addresses, options).
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (mut a, mut b) = weft::net::UnixStream::pair().unwrap();
///     let (mut rd, _wr) = a.split();
///     b.write_all(b"ping").unwrap();
///     let mut got = [0u8; 4];
///     rd.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"ping");
/// });
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a, S = TcpStream> {
    stream: &'a S,
}

/// The writing half of a stream borrowed by [`TcpStream::split`] or
/// [`UnixStream::split`]. Dropping it does not shut anything down (unlike
/// [`OwnedWriteHalf`](super::OwnedWriteHalf)); [`WriteHalf::shutdown`]
/// does.
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (mut a, mut b) = weft::net::UnixStream::pair().unwrap();
///     let (_rd, mut wr) = a.split();
///     wr.write_all(b"pong").unwrap();
///     let mut got = [0u8; 4];
///     b.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"pong");
/// });
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a, S = TcpStream> {
    stream: &'a S,
}

/// The halves of `stream`, both reading and writing through `&S`.
pub(super) fn split<S>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    let stream = &*stream;
    (ReadHalf { stream }, WriteHalf { stream })
}

impl<S> AsRef<S> for ReadHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.stream
    }
}

impl<S> AsRef<S> for WriteHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.stream
    }
}

impl<S> Read for ReadHalf<'_, S>
where
    for<'b> &'b S: Read,
{
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.stream).read(buf)
    }
}

impl<S> Write for WriteHalf<'_, S>
where
    for<'b> &'b S: Write,
{
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.stream).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteHalf<'_, TcpStream> {
    /// Shuts down the borrowed stream (tokio's `AsyncWriteExt::shutdown` on
    /// a write half is `Shutdown::Write`): the peer reads end of stream.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (mut c, (mut s, _)) =
    ///         weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (_rd, wr) = c.split();
    ///     wr.shutdown(Shutdown::Write).unwrap();
    ///     assert_eq!(s.read(&mut [0u8; 8]).unwrap(), 0);
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }
}

impl WriteHalf<'_, UnixStream> {
    /// Shuts down the borrowed stream; `Shutdown::Write` lets the peer
    /// read end of stream and still reply.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// weft::run(|_env| {
    ///     let (mut a, mut b) = weft::net::UnixStream::pair().unwrap();
    ///     let (_rd, wr) = a.split();
    ///     wr.shutdown(Shutdown::Write).unwrap();
    ///     assert_eq!(b.read(&mut [0u8; 8]).unwrap(), 0);
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }
}
