//! [`UnixStream`]: a connected Unix stream socket, its reads and writes
//! (std's `Read`/`Write`, fiber-blocking) and descriptor passing.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{SockAddr, SockRef, Type};

use super::{
    new_socket, pair, recv_with_fds, OwnedReadHalf, OwnedWriteHalf, ReadHalf, UCred, WriteHalf,
};
use crate::backend::{ops, IoSource};

/// A Unix-domain stream connection. Implements `std::io::Read` and
/// `Write` (also on `&UnixStream`, so one fiber may read while another
/// writes); blocking in them suspends the fiber, never the thread.
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (mut a, mut b) = weft::net::UnixStream::pair().unwrap();
///     a.write_all(b"over the pair").unwrap();
///     drop(a);
///     let mut got = String::new();
///     b.read_to_string(&mut got).unwrap();
///     assert_eq!(got, "over the pair");
/// });
/// ```
#[derive(Debug)]
pub struct UnixStream {
    pub(super) source: IoSource,
}

impl UnixStream {
    /// Connects to the socket at `path`. If the listener's backlog is
    /// full, waits until there is room (Linux refuses such a non-blocking
    /// connect outright, so weft retries after short pauses: 1 ms doubling
    /// to 50 ms). A cancellation point; a cancelled connect closes its
    /// socket.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-none-{}", std::process::id()));
    ///     let err = weft::net::UnixStream::connect(&path).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    #[track_caller]
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        Self::connect_sockaddr(&SockAddr::unix(path)?)
    }

    /// [`UnixStream::connect`] to a pathname address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-caddr-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     let c = weft::net::UnixStream::connect_addr(&l.local_addr().unwrap()).unwrap();
    ///     assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        Self::connect_sockaddr(&ops::from_unix_addr(addr)?)
    }

    #[track_caller]
    fn connect_sockaddr(addr: &SockAddr) -> io::Result<UnixStream> {
        let socket = new_socket(Type::STREAM)?;
        let source = IoSource::new_nonblocking(OwnedFd::from(socket));
        ops::connect_unix(&source, addr)?;
        Ok(UnixStream { source })
    }

    /// A connected pair of unnamed sockets (`socketpair(2)`).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixStream::pair().unwrap();
    ///     (&a).write_all(b"x").unwrap();
    ///     let mut one = [0; 1];
    ///     (&b).read_exact(&mut one).unwrap();
    ///     assert_eq!(&one, b"x");
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = pair(Type::STREAM)?;
        Ok((UnixStream { source: a }, UnixStream { source: b }))
    }

    /// Wraps a connected `std::os::unix::net::UnixStream` (made
    /// non-blocking).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = weft::net::UnixStream::from_std(a).unwrap();
    ///     assert!(a.peer_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            source: IoSource::new(OwnedFd::from(stream))?,
        })
    }

    /// This end's address (unnamed for a connecting client).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_unix_addr(&SockRef::from(&self.source).local_addr()?)
    }

    /// The peer's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert!(a.peer_addr().unwrap().as_pathname().is_none());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ops::to_unix_addr(&SockRef::from(&self.source).peer_addr()?)
    }

    /// The peer's process credentials (`SO_PEERCRED`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.peer_cred().unwrap().uid, unsafe { libc::geteuid() });
    /// });
    /// ```
    pub fn peer_cred(&self) -> io::Result<UCred> {
        let c = ops::peer_cred(&self.source)?;
        Ok(UCred {
            uid: c.uid,
            gid: c.gid,
            pid: (c.pid != 0).then_some(c.pid),
        })
    }

    /// Splits the stream into an owned reader and writer (tokio's
    /// `into_split`), which may go to different fibers. Dropping the
    /// writer shuts down the write direction, so the peer reads end of
    /// stream.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// weft::run(|_env| {
    ///     let (a, mut b) = weft::net::UnixStream::pair().unwrap();
    ///     let (mut r, mut w) = a.into_split();
    ///     let (echoed, ()) = weft::fiber::both(
    ///         || {
    ///             let mut got = String::new();
    ///             r.read_to_string(&mut got).unwrap();
    ///             got
    ///         },
    ///         || {
    ///             w.write_all(b"hi").unwrap();
    ///             drop(w);
    ///             let mut got = Vec::new();
    ///             b.read_to_end(&mut got).unwrap();
    ///             b.write_all(&got).unwrap();
    ///             drop(b);
    ///         },
    ///     );
    ///     assert_eq!(echoed, "hi");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        crate::net::split::into_split(self, UnixStream::shutdown)
    }

    /// Borrowed halves for a reader and a writer in two fibers of one
    /// scope (tokio's `split`): no allocation, nothing shut down on drop.
    /// For halves that must outlive the borrow, use
    /// [`into_split`](UnixStream::into_split).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// weft::run(|_env| {
    ///     let (mut a, mut b) = weft::net::UnixStream::pair().unwrap();
    ///     let (mut rd, mut wr) = a.split();
    ///     let (_, echoed) = weft::fiber::both(
    ///         || std::io::copy(&mut rd, &mut wr).unwrap(),
    ///         || {
    ///             b.write_all(b"hello").unwrap();
    ///             b.shutdown(std::net::Shutdown::Write).unwrap();
    ///             let mut back = [0u8; 5];
    ///             b.read_exact(&mut back).unwrap();
    ///             back
    ///         },
    ///     );
    ///     assert_eq!(&echoed, b"hello");
    /// });
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        crate::net::borrowed_split::split(self)
    }

    /// Shuts down the read, write or both halves; after
    /// `shutdown(Write)` the peer reads end-of-file and can still reply.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// weft::run(|_env| {
    ///     let (a, mut b) = weft::net::UnixStream::pair().unwrap();
    ///     a.shutdown(Shutdown::Write).unwrap();
    ///     let mut rest = vec![];
    ///     assert_eq!(b.read_to_end(&mut rest).unwrap(), 0);
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        ops::shutdown(&self.source, how)
    }

    /// Reads without removing the data from the socket's queue.
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let (mut a, b) = weft::net::UnixStream::pair().unwrap();
    ///     a.write_all(b"peek").unwrap();
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.peek(&mut buf).unwrap(), 4);
    ///     assert_eq!(b.peek(&mut buf).unwrap(), 4);
    /// });
    /// ```
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv(&self.source, buf, libc::MSG_PEEK)
    }

    /// Sends up to `len` bytes of `file`, starting at `offset`, without
    /// copying them through user space; returns how many were sent, fewer
    /// than `len` only at the end of the file. As
    /// [`TcpStream::send_file`](crate::net::TcpStream::send_file).
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-usf-{}", std::process::id()));
    ///     weft::fs::write(&path, "hello, file").unwrap();
    ///     let file = weft::fs::File::open(&path).unwrap();
    ///     let (a, b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.send_file(&file, 0, 5).unwrap(), 5);
    ///     let mut got = [0; 5];
    ///     (&b).read_exact(&mut got).unwrap();
    ///     assert_eq!(&got, b"hello");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn send_file(&self, file: &crate::fs::File, offset: u64, len: u64) -> io::Result<u64> {
        ops::send_file(file.as_fd(), offset, len, &self.source)
    }

    /// Sets the kernel's receive and send buffer sizes (`SO_RCVBUF`,
    /// `SO_SNDBUF`); `None` leaves one unchanged.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     a.set_buffer_sizes(None, Some(64 * 1024)).unwrap();
    ///     assert!(a.buffer_sizes().unwrap().1 >= 64 * 1024);
    /// });
    /// ```
    pub fn set_buffer_sizes(&self, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
        crate::net::buffers::set(SockRef::from(&self.source), recv, send)
    }

    /// The kernel's (receive, send) buffer sizes.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     let (r, s) = a.buffer_sizes().unwrap();
    ///     assert!(r > 0 && s > 0);
    /// });
    /// ```
    pub fn buffer_sizes(&self) -> io::Result<(usize, usize)> {
        crate::net::buffers::get(SockRef::from(&self.source))
    }

    /// Sends `data` with the descriptors `fds` attached (`SCM_RIGHTS`):
    /// the peer receives duplicates of them with
    /// [`UnixStream::recv_with_fds`]; this side keeps its own. Returns how
    /// many bytes were sent. The descriptors travel with the first byte,
    /// so if fewer than `data.len()` bytes were sent, send the rest with
    /// plain writes. At most 253 descriptors per call, and `data` must not
    /// be empty when `fds` is not (a stream cannot carry descriptors
    /// without a byte). Waits while the send buffer is full; a
    /// cancellation point.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsFd;
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixStream::pair().unwrap();
    ///     // Pass one end of another connection across `a`-`b`.
    ///     let (mut kept, passed) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     a.send_with_fds(b"p", &[passed.as_fd()]).unwrap();
    ///     drop(passed); // the peer now holds the only copy
    ///     let mut fds = Vec::new();
    ///     let mut byte = [0; 1];
    ///     b.recv_with_fds(&mut byte, &mut fds).unwrap();
    ///     let mut received = std::os::unix::net::UnixStream::from(fds.pop().unwrap());
    ///     received.write_all(b"through the passed socket").unwrap();
    ///     drop(received);
    ///     let mut s = String::new();
    ///     kept.read_to_string(&mut s).unwrap();
    ///     assert_eq!(s, "through the passed socket");
    /// });
    /// ```
    #[track_caller]
    pub fn send_with_fds(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        if data.is_empty() && !fds.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "send_with_fds on a stream needs at least one data byte to carry the descriptors",
            ));
        }
        ops::send_with_fds(&self.source, data, fds, None)
    }

    /// Reads data like `read`, and appends the descriptors that were sent
    /// with it to `fds` (close-on-exec). Returns the number of bytes read
    /// (0 at end-of-file). A read stops at the bytes of a message that
    /// carried descriptors, so each batch arrives with its own bytes.
    ///
    /// If the descriptors were truncated on the way (the process is out of
    /// descriptor slots), returns an error wrapping [`TruncatedFds`](super::TruncatedFds); the
    /// ones that did arrive are closed, and `fds` is unchanged. A
    /// cancellation point.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixStream::pair().unwrap();
    ///     let (x, y) = weft::net::UnixStream::pair().unwrap();
    ///     a.send_with_fds(b"two", &[x.as_fd(), y.as_fd()]).unwrap();
    ///     let mut fds = Vec::new();
    ///     let mut buf = [0; 8];
    ///     assert_eq!(b.recv_with_fds(&mut buf, &mut fds).unwrap(), 3);
    ///     assert_eq!(fds.len(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn recv_with_fds(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
        recv_with_fds(&self.source, buf, fds)
    }
}

impl Read for &UnixStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv(&self.source, buf, 0)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        ops::read_vectored(&self.source, bufs)
    }
}

impl Write for &UnixStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        ops::send(&self.source, buf)
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        ops::send_vectored(&self.source, bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for UnixStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for UnixStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
