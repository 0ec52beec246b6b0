//! I/O adapters between the two worlds.
//!
//! - [`FuturesBridge`]: the same for `futures-io`'s `AsyncRead`/`AsyncWrite`.
//! - [`SyncBridge`]: a tokio `AsyncRead`/`AsyncWrite` as `std::io::Read`,
//!   `BufRead` and `Write` that block only the calling fiber, so blocking-
//!   style code (`serde_json::from_reader`, `BufRead::lines`) can consume
//!   async streams inside fibers.
//! - [`AsyncBridge`]: a weft socket as tokio `AsyncRead`/`AsyncWrite`, so
//!   async libraries (hyper, tokio-rustls, h2) can run over weft sockets.
//!   Readiness comes from tokio's reactor (`AsyncFd`), so it works on both
//!   weft backends and on any thread with a tokio context.

use std::io::{self, BufRead, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::await_future;

/// A tokio async stream used as blocking-style `Read`/`BufRead`/`Write`
/// from a fiber (only the fiber waits).
///
/// ```
/// use std::io::BufRead;
/// weft_compat::tokio::run(|_env| {
///     let (client, server) = tokio::io::duplex(64);
///     let _writer = weft_compat::tokio::spawn(async move {
///         use tokio::io::AsyncWriteExt;
///         let mut server = server;
///         server.write_all(b"one\ntwo\n").await.unwrap();
///     });
///     let lines: Vec<String> = weft_compat::io::SyncBridge::new(client).lines().map(Result::unwrap).collect();
///     assert_eq!(lines, ["one", "two"]);
/// });
/// ```
#[derive(Debug)]
pub struct SyncBridge<T> {
    inner: tokio::io::BufReader<T>,
}

impl<T> SyncBridge<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let b = weft_compat::io::SyncBridge::new(tokio::io::empty());
    /// ```
    pub fn new(inner: T) -> Self
    where
        T: AsyncRead,
    {
        SyncBridge {
            inner: tokio::io::BufReader::new(inner),
        }
    }

    /// The wrapped stream (unread buffered data is lost).
    ///
    /// ```
    /// let b = weft_compat::io::SyncBridge::new(tokio::io::empty());
    /// let _inner: tokio::io::Empty = b.into_inner();
    /// ```
    pub fn into_inner(self) -> T
    where
        T: AsyncRead,
    {
        self.inner.into_inner()
    }
}

impl<T: AsyncRead + Unpin> Read for SyncBridge<T> {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        await_future(self.inner.read(buf))
    }
}

impl<T: AsyncRead + Unpin> BufRead for SyncBridge<T> {
    #[track_caller]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        await_future(self.inner.fill_buf())
    }

    fn consume(&mut self, amt: usize) {
        Pin::new(&mut self.inner).consume(amt)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Write for SyncBridge<T> {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        await_future(self.inner.get_mut().write(buf))
    }

    #[track_caller]
    fn flush(&mut self) -> io::Result<()> {
        await_future(self.inner.get_mut().flush())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for weft::net::TcpStream {}
}

/// A weft socket that can be read and written without blocking. Sealed:
/// implemented for weft's own socket types, whose descriptor is owned and
/// stays the same for the socket's life (what `AsyncFd` requires).
pub trait NonBlockingIo: AsRawFd + sealed::Sealed {
    /// Reads what is there now, or `WouldBlock`.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes what fits now, or `WouldBlock`.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Closes the write half.
    fn shutdown_write(&self) -> io::Result<()>;
}

impl NonBlockingIo for weft::net::TcpStream {
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        weft::net::TcpStream::try_read(self, buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        weft::net::TcpStream::try_write(self, buf)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

struct Fd<T>(T);

impl<T: AsRawFd> AsRawFd for Fd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// A weft socket as tokio `AsyncRead` + `AsyncWrite`.
///
/// Needs a tokio context where it is created (inside
/// `weft_compat::tokio::run`, or on a tokio thread).
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// weft_compat::tokio::run(|_env| {
///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
///     let (s, _) = l.accept().unwrap();
///     let mut a = weft_compat::io::AsyncBridge::new(c).unwrap();
///     let mut b = weft_compat::io::AsyncBridge::new(s).unwrap();
///     weft_compat::await_future(async {
///         a.write_all(b"ping").await.unwrap();
///         let mut buf = [0; 4];
///         b.read_exact(&mut buf).await.unwrap();
///         assert_eq!(&buf, b"ping");
///     });
/// });
/// ```
pub struct AsyncBridge<T: NonBlockingIo> {
    fd: AsyncFd<Fd<T>>,
}

impl<T: NonBlockingIo> AsyncBridge<T> {
    /// Registers `io` with tokio's reactor.
    ///
    /// ```
    /// weft_compat::tokio::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert!(weft_compat::io::AsyncBridge::new(c).is_ok());
    /// });
    /// ```
    pub fn new(io: T) -> io::Result<Self> {
        // SAFETY: `NonBlockingIo` is sealed to weft's socket types, which
        // own their descriptor (closed only when they drop) and always
        // return the same one from as_raw_fd; the AsyncFd owns the socket.
        let fd = unsafe { AsyncFd::register(Fd(io)) }?;
        Ok(AsyncBridge { fd })
    }

    /// The wrapped socket.
    ///
    /// ```
    /// weft_compat::tokio::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let b = weft_compat::io::AsyncBridge::new(c).unwrap();
    ///     assert!(b.get_ref().peer_addr().is_ok());
    /// });
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.fd.get_ref().0
    }
}

impl<T: NonBlockingIo> std::fmt::Debug for AsyncBridge<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncBridge")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl<T: NonBlockingIo> AsyncRead for AsyncBridge<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|inner| inner.get_ref().0.try_read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl<T: NonBlockingIo> AsyncWrite for AsyncBridge<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|inner| inner.get_ref().0.try_write(buf)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.fd.get_ref().0.shutdown_write())
    }
}

/// A `futures::io::AsyncRead`/`AsyncWrite` (the `futures-io` traits, as
/// used by async-std, smol and many protocol crates) as blocking-style
/// `std::io::Read`/`Write` in a fiber.
///
/// ```
/// use std::io::Read;
/// weft::run(|_env| {
///     // `&[u8]` implements futures-io's AsyncRead.
///     let mut r = weft_compat::io::FuturesBridge::new(&b"hello"[..]);
///     let mut s = String::new();
///     r.read_to_string(&mut s).unwrap();
///     assert_eq!(s, "hello");
/// });
/// ```
#[derive(Debug)]
pub struct FuturesBridge<T> {
    inner: T,
}

impl<T> FuturesBridge<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let b = weft_compat::io::FuturesBridge::new(&b""[..]);
    /// ```
    pub fn new(inner: T) -> Self {
        FuturesBridge { inner }
    }

    /// The wrapped stream.
    ///
    /// ```
    /// let b = weft_compat::io::FuturesBridge::new(5u8);
    /// assert_eq!(b.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: futures_io::AsyncRead + Unpin> Read for FuturesBridge<T> {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        await_future(std::future::poll_fn(|cx| {
            Pin::new(&mut *inner).poll_read(cx, buf)
        }))
    }
}

impl<T: futures_io::AsyncWrite + Unpin> Write for FuturesBridge<T> {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        await_future(std::future::poll_fn(|cx| {
            Pin::new(&mut *inner).poll_write(cx, buf)
        }))
    }

    #[track_caller]
    fn flush(&mut self) -> io::Result<()> {
        let inner = &mut self.inner;
        await_future(std::future::poll_fn(|cx| {
            Pin::new(&mut *inner).poll_flush(cx)
        }))
    }
}
