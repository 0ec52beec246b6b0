//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] and
//! [`UnixDatagram`], with descriptor passing (`SCM_RIGHTS`), and the
//! stream's owned halves under tokio's names (`tokio::net::unix`).
//!
//! Addresses are `std::os::unix::net::SocketAddr`. Binding a pathname
//! creates a socket file that stays after the socket closes (as with
//! std): remove it yourself when you are done.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::backend::{ops, IoSource};

/// The reading half of a [`UnixStream`] borrowed by [`UnixStream::split`].
///
/// ```
/// fn read_some(rd: &mut weft::net::unix::ReadHalf<'_>) -> std::io::Result<usize> {
///     std::io::Read::read(rd, &mut [0u8; 16])
/// }
/// ```
pub type ReadHalf<'a> = super::ReadHalf<'a, UnixStream>;

/// The writing half of a [`UnixStream`] borrowed by [`UnixStream::split`].
///
/// ```
/// fn greet(wr: &mut weft::net::unix::WriteHalf<'_>) -> std::io::Result<()> {
///     std::io::Write::write_all(wr, b"hi")
/// }
/// ```
pub type WriteHalf<'a> = super::WriteHalf<'a, UnixStream>;

/// The reading half of a [`UnixStream`], from [`UnixStream::into_split`].
///
/// ```
/// fn reader_only(r: weft::net::unix::OwnedReadHalf) -> std::io::Result<std::os::unix::net::SocketAddr> {
///     r.peer_addr()
/// }
/// ```
pub type OwnedReadHalf = super::OwnedReadHalf<UnixStream>;

/// The writing half of a [`UnixStream`], from [`UnixStream::into_split`].
///
/// ```
/// fn writer_only(w: weft::net::unix::OwnedWriteHalf) -> std::io::Result<std::os::unix::net::SocketAddr> {
///     w.local_addr()
/// }
/// ```
pub type OwnedWriteHalf = super::OwnedWriteHalf<UnixStream>;

/// Two halves of different [`UnixStream`]s were given to `reunite`.
///
/// ```
/// weft::run(|_env| {
///     let (a, _) = weft::net::UnixStream::pair().unwrap();
///     let (b, _) = weft::net::UnixStream::pair().unwrap();
///     let (ra, _wa) = a.into_split();
///     let (_rb, wb) = b.into_split();
///     let e: weft::net::unix::ReuniteError = ra.reunite(wb).unwrap_err();
///     assert_eq!(e.to_string(), "tried to reunite halves that are not from the same socket");
/// });
/// ```
pub type ReuniteError = super::ReuniteError<UnixStream>;

/// The accept queue length [`UnixListener::bind`] asks for (the kernel
/// caps it at `net.core.somaxconn`).
const DEFAULT_BACKLOG: i32 = 1024;

fn new_socket(ty: Type) -> io::Result<Socket> {
    Socket::new(Domain::UNIX, ty.nonblocking().cloexec(), None)
}

fn pair(ty: Type) -> io::Result<(IoSource, IoSource)> {
    let (a, b) = Socket::pair(Domain::UNIX, ty.nonblocking().cloexec(), None)?;
    Ok((
        IoSource::new_nonblocking(OwnedFd::from(a)),
        IoSource::new_nonblocking(OwnedFd::from(b)),
    ))
}

/// The process credentials of a Unix socket's peer, as the kernel
/// recorded them when the connection was made (`SO_PEERCRED`).
///
/// ```
/// weft::run(|_env| {
///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
///     let cred = a.peer_cred().unwrap();
///     assert_eq!(cred.pid, Some(std::process::id() as i32));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred {
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
    /// The peer's process id, if the system reports it.
    pub pid: Option<i32>,
}

impl UCred {
    /// The peer's effective user id (tokio's accessor for [`UCred::uid`]).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.peer_cred().unwrap().uid(), unsafe { libc::geteuid() });
    /// });
    /// ```
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The peer's effective group id (tokio's accessor for [`UCred::gid`]).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.peer_cred().unwrap().gid(), unsafe { libc::getegid() });
    /// });
    /// ```
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// The peer's process id, if the system reports it (tokio's accessor
    /// for [`UCred::pid`]).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.peer_cred().unwrap().pid(), Some(std::process::id() as i32));
    /// });
    /// ```
    pub fn pid(&self) -> Option<i32> {
        self.pid
    }
}

/// The error inside the `io::Error` that `recv_with_fds` returns when the
/// descriptors sent with a message did not all arrive (the kernel set
/// `MSG_CTRUNC`: the process ran out of descriptor slots, or the message
/// carried more than fit). The descriptors that did arrive have already
/// been closed, so nothing leaks; the message's data bytes were consumed.
///
/// ```
/// let e = weft::net::TruncatedFds { bytes: 3, arrived: 1 };
/// let io = std::io::Error::other(e);
/// let inner = io.get_ref().unwrap().downcast_ref::<weft::net::TruncatedFds>().unwrap();
/// assert_eq!(inner.arrived, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "descriptors passed with a message were truncated (MSG_CTRUNC): {arrived} arrived and were \
     closed; {bytes} data bytes were consumed"
)]
pub struct TruncatedFds {
    /// Data bytes of the message that were read (and are lost with it).
    pub bytes: usize,
    /// Descriptors that arrived before the truncation (all closed).
    pub arrived: usize,
}

#[track_caller]
fn recv_with_fds(source: &IoSource, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let got = ops::recv_with_fds(source, buf, fds, ops::MAX_FDS_PER_MESSAGE)?;
    match got.truncated {
        None => Ok(got.bytes),
        Some(arrived) => Err(io::Error::other(TruncatedFds {
            bytes: got.bytes,
            arrived,
        })),
    }
}

/// A Unix-domain stream socket server.
///
/// ```
/// use std::io::{Read, Write};
/// use weft::net::{UnixListener, UnixStream};
///
/// weft::run(|_env| {
///     let path = std::env::temp_dir().join(format!("weft-doc-listener-{}", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path).unwrap();
///     weft::Switch::run(|sw| {
///         sw.fork(|| {
///             let (mut conn, _) = listener.accept().unwrap();
///             conn.write_all(b"welcome").unwrap();
///         });
///         let mut client = UnixStream::connect(&path).unwrap();
///         let mut msg = String::new();
///         client.read_to_string(&mut msg).unwrap();
///         assert_eq!(msg, "welcome");
///         Ok(())
///     })
///     .unwrap();
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct UnixListener {
    source: IoSource,
}

impl UnixListener {
    /// Creates a socket file at `path` and listens on it. Fails with
    /// `AddrInUse` if the file exists.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-bind-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Self::bind_with_backlog(path, DEFAULT_BACKLOG)
    }

    /// [`UnixListener::bind`] with an explicit accept queue length.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-backlog-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind_with_backlog(&path, 8).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind_with_backlog(path: impl AsRef<Path>, backlog: i32) -> io::Result<UnixListener> {
        Self::bind_sockaddr(&SockAddr::unix(path)?, backlog)
    }

    /// Listens on a pathname address.
    ///
    /// ```
    /// use std::os::unix::net::SocketAddr;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-bind-addr-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let addr = SocketAddr::from_pathname(&path).unwrap();
    ///     let l = weft::net::UnixListener::bind_addr(&addr).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        Self::bind_sockaddr(&ops::from_unix_addr(addr)?, DEFAULT_BACKLOG)
    }

    fn bind_sockaddr(addr: &SockAddr, backlog: i32) -> io::Result<UnixListener> {
        let socket = new_socket(Type::STREAM)?;
        socket.bind(addr)?;
        socket.listen(backlog)?;
        Ok(UnixListener {
            source: IoSource::new_nonblocking(OwnedFd::from(socket)),
        })
    }

    /// Waits for a connection and returns it with the peer's address
    /// (usually unnamed). A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-accept-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     let _c = weft::net::UnixStream::connect(&path).unwrap();
    ///     let (_s, peer) = l.accept().unwrap();
    ///     assert!(peer.is_unnamed());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (fd, addr) = ops::accept(&self.source)?;
        let stream = UnixStream {
            source: IoSource::new_nonblocking(fd),
        };
        Ok((stream, ops::to_unix_addr(&addr)?))
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-laddr-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     assert!(l.local_addr().unwrap().as_pathname().is_some());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_unix_addr(&SockRef::from(&self.source).local_addr()?)
    }

    /// Wraps a listening `std::os::unix::net::UnixListener` (made
    /// non-blocking).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-lstd-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let std_l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    ///     let l = weft::net::UnixListener::from_std(std_l).unwrap();
    ///     assert!(l.local_addr().is_ok());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            source: IoSource::new(OwnedFd::from(listener))?,
        })
    }
}

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
    source: IoSource,
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
        super::split::into_split(self, UnixStream::shutdown)
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
        super::borrowed_split::split(self)
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
        let sock = SockRef::from(&self.source);
        if let Some(n) = recv {
            sock.set_recv_buffer_size(n)?;
        }
        if let Some(n) = send {
            sock.set_send_buffer_size(n)?;
        }
        Ok(())
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
        let sock = SockRef::from(&self.source);
        Ok((sock.recv_buffer_size()?, sock.send_buffer_size()?))
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
    /// descriptor slots), returns an error wrapping [`TruncatedFds`]; the
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

/// A Unix-domain datagram socket: message boundaries are kept, and
/// delivery on one host is reliable and ordered. Sending waits while the
/// receiver's queue is full (for a connected socket); receiving waits for
/// a message. All methods take `&self`.
///
/// ```
/// weft::run(|_env| {
///     let (a, b) = weft::net::UnixDatagram::pair().unwrap();
///     a.send(b"one").unwrap();
///     a.send(b"two").unwrap();
///     let mut buf = [0; 16];
///     assert_eq!(b.recv(&mut buf).unwrap(), 3);
///     assert_eq!(&buf[..3], b"one");
/// });
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    source: IoSource,
}

impl UnixDatagram {
    /// A datagram socket bound to `path` (creates the socket file).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-dgram-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let s = weft::net::UnixDatagram::bind(&path).unwrap();
    ///     assert_eq!(s.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let socket = new_socket(Type::DGRAM)?;
        socket.bind(&SockAddr::unix(path)?)?;
        Ok(UnixDatagram {
            source: IoSource::new_nonblocking(OwnedFd::from(socket)),
        })
    }

    /// A datagram socket bound to no address (it can send, and receive
    /// replies only once connected or bound).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UnixDatagram::unbound().unwrap();
    ///     assert!(s.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        let socket = new_socket(Type::DGRAM)?;
        Ok(UnixDatagram {
            source: IoSource::new_nonblocking(OwnedFd::from(socket)),
        })
    }

    /// A connected pair of unnamed datagram sockets.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixDatagram::pair().unwrap();
    ///     b.send(b"back").unwrap();
    ///     let mut buf = [0; 4];
    ///     assert_eq!(a.recv(&mut buf).unwrap(), 4);
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = pair(Type::DGRAM)?;
        Ok((UnixDatagram { source: a }, UnixDatagram { source: b }))
    }

    /// Wraps a `std::os::unix::net::UnixDatagram` (made non-blocking).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = std::os::unix::net::UnixDatagram::unbound().unwrap();
    ///     let s = weft::net::UnixDatagram::from_std(s).unwrap();
    ///     assert!(s.peer_addr().is_err());
    /// });
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            source: IoSource::new(OwnedFd::from(socket))?,
        })
    }

    /// Sets the default destination for [`UnixDatagram::send`] and
    /// accepts messages only from it.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-dconn-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let server = weft::net::UnixDatagram::bind(&path).unwrap();
    ///     let client = weft::net::UnixDatagram::unbound().unwrap();
    ///     client.connect(&path).unwrap();
    ///     client.send(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     assert_eq!(server.recv(&mut buf).unwrap(), 2);
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        ops::connect_unix(&self.source, &SockAddr::unix(path)?)
    }

    /// This socket's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixDatagram::pair().unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_unix_addr(&SockRef::from(&self.source).local_addr()?)
    }

    /// The connected peer's address (`NotConnected` if none).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UnixDatagram::unbound().unwrap();
    ///     assert_eq!(s.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ops::to_unix_addr(&SockRef::from(&self.source).peer_addr()?)
    }

    /// Sends one message to the connected peer. A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixDatagram::pair().unwrap();
    ///     assert_eq!(a.send(b"msg").unwrap(), 3);
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        ops::send(&self.source, buf)
    }

    /// Receives one message (bytes beyond `buf.len()` are discarded). A
    /// cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixDatagram::pair().unwrap();
    ///     a.send(b"").unwrap(); // an empty message is still a message
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.recv(&mut buf).unwrap(), 0);
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv(&self.source, buf, 0)
    }

    /// Like [`UnixDatagram::recv`], leaving the message queued.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixDatagram::pair().unwrap();
    ///     a.send(b"x").unwrap();
    ///     let mut buf = [0; 1];
    ///     assert_eq!(b.peek(&mut buf).unwrap(), 1);
    ///     assert_eq!(b.recv(&mut buf).unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv(&self.source, buf, libc::MSG_PEEK)
    }

    /// Sends one message to the socket bound at `path`. A cancellation
    /// point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-sendto-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let server = weft::net::UnixDatagram::bind(&path).unwrap();
    ///     let client = weft::net::UnixDatagram::unbound().unwrap();
    ///     assert_eq!(client.send_to(b"to you", &path).unwrap(), 6);
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        ops::send_to(&self.source, buf, &SockAddr::unix(path)?)
    }

    /// Sends one message to a pathname address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-sendtoaddr-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let server = weft::net::UnixDatagram::bind(&path).unwrap();
    ///     let client = weft::net::UnixDatagram::unbound().unwrap();
    ///     client.send_to_addr(b"x", &server.local_addr().unwrap()).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        ops::send_to(&self.source, buf, &ops::from_unix_addr(addr)?)
    }

    /// Receives one message and the sender's address. A cancellation
    /// point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let dir = std::env::temp_dir();
    ///     let pid = std::process::id();
    ///     let (pa, pb) = (dir.join(format!("weft-doc-rf-a-{pid}")), dir.join(format!("weft-doc-rf-b-{pid}")));
    ///     let _ = (std::fs::remove_file(&pa), std::fs::remove_file(&pb));
    ///     let a = weft::net::UnixDatagram::bind(&pa).unwrap();
    ///     let b = weft::net::UnixDatagram::bind(&pb).unwrap();
    ///     a.send_to(b"hey", &pb).unwrap();
    ///     let mut buf = [0; 8];
    ///     let (n, from) = b.recv_from(&mut buf).unwrap();
    ///     assert_eq!((n, from.as_pathname()), (3, Some(pa.as_path())));
    ///     std::fs::remove_file(&pa).unwrap();
    ///     std::fs::remove_file(&pb).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = ops::recv_from(&self.source, buf, 0)?;
        Ok((n, ops::to_unix_addr(&addr)?))
    }

    /// Shuts down reading, writing or both.
    ///
    /// ```
    /// use std::net::Shutdown;
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixDatagram::pair().unwrap();
    ///     a.shutdown(Shutdown::Write).unwrap();
    ///     assert!(a.send(b"x").is_err());
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        ops::shutdown(&self.source, how)
    }

    /// Sends one message to the connected peer with the descriptors
    /// `fds` attached (`SCM_RIGHTS`; at most 253). The peer gets
    /// duplicates; this side keeps its own. A cancellation point.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixDatagram::pair().unwrap();
    ///     let (x, _y) = weft::net::UnixStream::pair().unwrap();
    ///     a.send_with_fds(b"", &[x.as_fd()]).unwrap(); // datagrams may be empty
    ///     let mut fds = Vec::new();
    ///     assert_eq!(b.recv_with_fds(&mut [0; 4], &mut fds).unwrap(), 0);
    ///     assert_eq!(fds.len(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn send_with_fds(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        ops::send_with_fds(&self.source, data, fds, None)
    }

    /// Like [`UnixDatagram::send_with_fds`], to the socket bound at
    /// `path`.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-sendfdsto-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let server = weft::net::UnixDatagram::bind(&path).unwrap();
    ///     let client = weft::net::UnixDatagram::unbound().unwrap();
    ///     let (x, _y) = weft::net::UnixStream::pair().unwrap();
    ///     client.send_to_with_fds(b"fd", &[x.as_fd()], &path).unwrap();
    ///     let mut fds = Vec::new();
    ///     server.recv_with_fds(&mut [0; 2], &mut fds).unwrap();
    ///     assert_eq!(fds.len(), 1);
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn send_to_with_fds(
        &self,
        data: &[u8],
        fds: &[BorrowedFd<'_>],
        path: impl AsRef<Path>,
    ) -> io::Result<usize> {
        ops::send_with_fds(&self.source, data, fds, Some(&SockAddr::unix(path)?))
    }

    /// Receives one message into `buf` and appends the descriptors sent
    /// with it to `fds` (close-on-exec). Returns the message length read.
    /// A truncated batch of descriptors is an error wrapping
    /// [`TruncatedFds`], with the ones that arrived closed. A cancellation
    /// point.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// weft::run(|_env| {
    ///     let (a, b) = weft::net::UnixDatagram::pair().unwrap();
    ///     let (x, _y) = weft::net::UnixStream::pair().unwrap();
    ///     a.send_with_fds(b"with fd", &[x.as_fd()]).unwrap();
    ///     a.send(b"without").unwrap();
    ///     let mut fds = Vec::new();
    ///     let mut buf = [0; 16];
    ///     assert_eq!(b.recv_with_fds(&mut buf, &mut fds).unwrap(), 7);
    ///     assert_eq!(fds.len(), 1);
    ///     assert_eq!(b.recv_with_fds(&mut buf, &mut fds).unwrap(), 7);
    ///     assert_eq!(fds.len(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn recv_with_fds(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
        recv_with_fds(&self.source, buf, fds)
    }
}

macro_rules! fd_impls {
    ($($t:ty),*) => {$(
        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.source.as_fd()
            }
        }

        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.source.as_raw_fd()
            }
        }
    )*};
}

fd_impls!(UnixListener, UnixStream, UnixDatagram);
