//! Owned halves of a [`TcpStream`] (tokio's `into_split`): a reader and a
//! writer that can live in different fibers, even on different threads.
//! Both share the socket; dropping the writer shuts down the write side, as
//! tokio's does, so the peer sees end of stream.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use super::TcpStream;

/// The reading half of a [`TcpStream`], from [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The writing half of a [`TcpStream`], from [`TcpStream::into_split`].
/// Dropping it shuts down the write direction (unless [`forget`] was
/// called).
///
/// [`forget`]: OwnedWriteHalf::forget
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
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
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}

pub(super) fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let stream = Arc::new(stream);
    (
        OwnedReadHalf {
            stream: stream.clone(),
        },
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        },
    )
}

impl OwnedReadHalf {
    /// Puts the stream back together from its two halves.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (r, w) = s.into_split();
    ///     let s = r.reunite(w).unwrap();
    ///     assert!(s.peer_addr().is_ok());
    /// });
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
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

impl Read for OwnedReadHalf {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.stream).read(buf)
    }
}

impl OwnedWriteHalf {
    /// Drops the half without shutting down the write direction.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (s, _) = weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (_r, w) = s.into_split();
    ///     w.forget();
    /// });
    /// ```
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

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

impl Write for OwnedWriteHalf {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.stream).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already be gone; there is nobody to tell then.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}
