//! Owned halves of a stream socket (tokio's `into_split`): a reader and a
//! writer that can live in different fibers, even on different threads.
//! Both share the socket; dropping the writer shuts down the write side, as
//! tokio's does, so the peer sees end of stream.
//!
//! One generic pair serves both stream kinds. The type parameter defaults
//! to [`TcpStream`], so `weft::net::OwnedReadHalf` is the TCP half; the
//! aliases in [`tcp`](super::tcp) and [`unix`](super::unix) name each kind
//! the way tokio's `tokio::net::tcp` and `tokio::net::unix` do.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::sync::Arc;

use super::{TcpStream, UnixStream};

/// The reading half of a stream, from [`TcpStream::into_split`] or
/// [`UnixStream::into_split`].
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (a, mut b) = weft::net::UnixStream::pair().unwrap();
///     let (mut r, _w) = a.into_split();
///     b.write_all(b"ping").unwrap();
///     let mut got = [0u8; 4];
///     r.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"ping");
/// });
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf<S = TcpStream> {
    stream: Arc<S>,
}

/// The writing half of a stream, from [`TcpStream::into_split`] or
/// [`UnixStream::into_split`]. Dropping it shuts down the write direction
/// (unless [`forget`] was called).
///
/// [`forget`]: OwnedWriteHalf::forget
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (a, mut b) = weft::net::UnixStream::pair().unwrap();
///     let (_r, mut w) = a.into_split();
///     w.write_all(b"last words").unwrap();
///     drop(w); // the peer now reads end of stream
///     let mut got = String::new();
///     b.read_to_string(&mut got).unwrap();
///     assert_eq!(got, "last words");
/// });
/// ```
pub struct OwnedWriteHalf<S = TcpStream> {
    stream: Arc<S>,
    /// The stream's own `shutdown`.
    shutdown: fn(&S, Shutdown) -> io::Result<()>,
    /// True until [`OwnedWriteHalf::forget`] or a reunion: shut down the
    /// write direction when the half is dropped.
    shutdown_on_drop: bool,
}

/// The two halves given to [`OwnedReadHalf::reunite`] came from different
/// streams; they are handed back.
///
/// ```
/// weft::run(|_env| {
///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     let (a, b) = weft::fiber::both(
///         || weft::net::TcpStream::connect(addr).unwrap(),
///         || weft::net::TcpStream::connect(addr).unwrap(),
///     );
///     let (ra, _wa) = a.into_split();
///     let (_rb, wb) = b.into_split();
///     let err = ra.reunite(wb).unwrap_err();
///     assert_eq!(err.to_string(), "tried to reunite halves that are not from the same socket");
/// });
/// ```
pub struct ReuniteError<S = TcpStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl<S> std::error::Error for ReuniteError<S> {}

impl<S: fmt::Debug> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("stream", &self.stream)
            .field("shutdown_on_drop", &self.shutdown_on_drop)
            .finish()
    }
}

/// Splits `stream`; `shutdown` is the stream's own, which the writer uses
/// for [`OwnedWriteHalf::shutdown`] and when dropped.
pub(super) fn into_split<S>(
    stream: S,
    shutdown: fn(&S, Shutdown) -> io::Result<()>,
) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Arc::new(stream);
    (
        OwnedReadHalf {
            stream: stream.clone(),
        },
        OwnedWriteHalf {
            stream,
            shutdown,
            shutdown_on_drop: true,
        },
    )
}

impl<S> OwnedReadHalf<S> {
    /// Puts the stream back together from its two halves.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     let (r, w) = a.into_split();
    ///     let a = r.reunite(w).unwrap();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        let mut other = other;
        other.shutdown_on_drop = false;
        let stream = other.stream.clone();
        drop(other);
        drop(self);
        Ok(Arc::into_inner(stream).expect("both halves were just dropped"))
    }
}

impl<S> OwnedWriteHalf<S> {
    /// Drops the half without shutting down the write direction.
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixStream::pair().unwrap();
    ///     let (_r, w) = a.into_split();
    ///     w.forget();
    ///     // The other direction still works, and so would this one.
    ///     (&b).write_all(b"still open").unwrap();
    /// });
    /// ```
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Shuts down the shared socket now (tokio's `AsyncWriteExt::shutdown`
    /// on a write half is `Shutdown::Write`): the peer reads end of stream
    /// while this side can still read through its [`OwnedReadHalf`].
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// weft::run(|_env| {
    ///     let (a, mut b) = weft::net::UnixStream::pair().unwrap();
    ///     let (mut r, mut w) = a.into_split();
    ///     w.write_all(b"question").unwrap();
    ///     w.shutdown(Shutdown::Write).unwrap();
    ///     let mut q = String::new();
    ///     b.read_to_string(&mut q).unwrap(); // ends: the write side is shut
    ///     b.write_all(b"answer").unwrap();
    ///     drop(b);
    ///     let mut a = String::new();
    ///     r.read_to_string(&mut a).unwrap();
    ///     assert_eq!((q.as_str(), a.as_str()), ("question", "answer"));
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        (self.shutdown)(&self.stream, how)
    }
}

impl OwnedReadHalf<TcpStream> {
    /// The peer's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (r, _w) = s.into_split();
    ///     assert_eq!(r.peer_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// This end's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (r, _w) = s.into_split();
    ///     assert!(r.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedWriteHalf<TcpStream> {
    /// The peer's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (_r, w) = s.into_split();
    ///     assert_eq!(w.peer_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// This end's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (_r, w) = s.into_split();
    ///     assert!(w.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedReadHalf<UnixStream> {
    /// The peer's address (the listener's path).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-half-{}-{}", std::process::id(), line!()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::UnixStream::connect(&path).unwrap(), || l.accept().unwrap());
    ///     std::fs::remove_file(&path).unwrap();
    ///     let (r, _w) = s.into_split();
    ///     assert_eq!(r.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<UnixSocketAddr> {
        self.stream.peer_addr()
    }

    /// This end's address (unnamed for a connecting client).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-half-{}-{}", std::process::id(), line!()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::UnixStream::connect(&path).unwrap(), || l.accept().unwrap());
    ///     std::fs::remove_file(&path).unwrap();
    ///     let (r, _w) = s.into_split();
    ///     assert!(r.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedWriteHalf<UnixStream> {
    /// The peer's address (the listener's path).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-half-{}-{}", std::process::id(), line!()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::UnixStream::connect(&path).unwrap(), || l.accept().unwrap());
    ///     std::fs::remove_file(&path).unwrap();
    ///     let (_r, w) = s.into_split();
    ///     assert_eq!(w.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<UnixSocketAddr> {
        self.stream.peer_addr()
    }

    /// This end's address (unnamed for a connecting client).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-half-{}-{}", std::process::id(), line!()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::UnixStream::connect(&path).unwrap(), || l.accept().unwrap());
    ///     std::fs::remove_file(&path).unwrap();
    ///     let (_r, w) = s.into_split();
    ///     assert!(w.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        self.stream.local_addr()
    }
}

impl<S> Read for OwnedReadHalf<S>
where
    for<'a> &'a S: Read,
{
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.stream).read(buf)
    }
}

impl<S> Write for OwnedWriteHalf<S>
where
    for<'a> &'a S: Write,
{
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.stream).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already be gone; there is nobody to tell then.
            let _ = (self.shutdown)(&self.stream, Shutdown::Write);
        }
    }
}
