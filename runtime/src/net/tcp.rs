//! TCP: [`TcpListener`] and [`TcpStream`], blocking-style on fibers, and
//! the stream's owned halves under tokio's names (`tokio::net::tcp`).

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use super::addr::{each_addr, ToSocketAddrs};
use crate::backend::{ops, IoSource};

/// The reading half of a [`TcpStream`] borrowed by [`TcpStream::split`].
///
/// ```
/// fn read_some(rd: &mut weft::net::tcp::ReadHalf<'_>) -> std::io::Result<usize> {
///     std::io::Read::read(rd, &mut [0u8; 16])
/// }
/// ```
pub type ReadHalf<'a> = super::ReadHalf<'a, TcpStream>;

/// The writing half of a [`TcpStream`] borrowed by [`TcpStream::split`].
///
/// ```
/// fn greet(wr: &mut weft::net::tcp::WriteHalf<'_>) -> std::io::Result<()> {
///     std::io::Write::write_all(wr, b"hi")
/// }
/// ```
pub type WriteHalf<'a> = super::WriteHalf<'a, TcpStream>;

/// The reading half of a [`TcpStream`], from [`TcpStream::into_split`].
///
/// ```
/// fn reader_only(r: weft::net::tcp::OwnedReadHalf) -> std::io::Result<std::net::SocketAddr> {
///     r.peer_addr()
/// }
/// ```
pub type OwnedReadHalf = super::OwnedReadHalf<TcpStream>;

/// The writing half of a [`TcpStream`], from [`TcpStream::into_split`].
///
/// ```
/// fn writer_only(w: weft::net::tcp::OwnedWriteHalf) -> std::io::Result<std::net::SocketAddr> {
///     w.local_addr()
/// }
/// ```
pub type OwnedWriteHalf = super::OwnedWriteHalf<TcpStream>;

/// Two halves of different [`TcpStream`]s were given to `reunite`.
///
/// ```
/// fn halves(e: weft::net::tcp::ReuniteError) -> (weft::net::tcp::OwnedReadHalf, weft::net::tcp::OwnedWriteHalf) {
///     (e.0, e.1)
/// }
/// ```
pub type ReuniteError = super::ReuniteError<TcpStream>;

/// A TCP socket server, listening for connections.
///
/// `accept` suspends the calling fiber (not the thread) until a client
/// connects.
///
/// ```
/// use std::io::{Read, Write};
/// use weft::net::{TcpListener, TcpStream};
///
/// weft::run(|_env| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     weft::Switch::run(|sw| {
///         sw.fork(|| {
///             let (mut conn, _) = listener.accept().unwrap();
///             let mut buf = [0; 5];
///             conn.read_exact(&mut buf).unwrap();
///             conn.write_all(&buf).unwrap();
///         });
///         let mut client = TcpStream::connect(addr).unwrap();
///         client.write_all(b"hello").unwrap();
///         let mut echo = [0; 5];
///         client.read_exact(&mut echo).unwrap();
///         assert_eq!(&echo, b"hello");
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct TcpListener {
    source: IoSource,
}

/// Options for [`TcpListener::bind_with`].
///
/// ```
/// let opts = weft::net::ListenOptions::default().reuse_port(true).backlog(512);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ListenOptions {
    reuse_addr: bool,
    reuse_port: bool,
    backlog: i32,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            reuse_addr: true,
            reuse_port: false,
            backlog: 1024,
        }
    }
}

impl ListenOptions {
    /// `SO_REUSEADDR` (default on, as std and tokio do on Unix).
    ///
    /// ```
    /// let o = weft::net::ListenOptions::default().reuse_addr(false);
    /// ```
    pub fn reuse_addr(mut self, on: bool) -> Self {
        self.reuse_addr = on;
        self
    }

    /// `SO_REUSEPORT`: several sockets (one per core) may bind the same
    /// port and the kernel spreads connections between them.
    ///
    /// ```
    /// let o = weft::net::ListenOptions::default().reuse_port(true);
    /// ```
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// The accept queue length passed to `listen(2)` (default 1024).
    ///
    /// ```
    /// let o = weft::net::ListenOptions::default().backlog(16);
    /// ```
    pub fn backlog(mut self, n: i32) -> Self {
        self.backlog = n;
        self
    }
}

impl TcpListener {
    /// Binds to `addr` and listens (tries each resolved address in turn).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    ///     assert_ne!(l.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with(addr, ListenOptions::default())
    }

    /// Binds with explicit [`ListenOptions`].
    ///
    /// ```
    /// use weft::net::{ListenOptions, TcpListener};
    /// weft::run(|_env| {
    ///     let opts = ListenOptions::default().reuse_port(true);
    ///     let a = TcpListener::bind_with("127.0.0.1:0", opts).unwrap();
    ///     let port = a.local_addr().unwrap().port();
    ///     let b = TcpListener::bind_with(("127.0.0.1", port), opts).unwrap();
    ///     assert_eq!(b.local_addr().unwrap().port(), port);
    /// });
    /// ```
    #[track_caller]
    pub fn bind_with(addr: impl ToSocketAddrs, options: ListenOptions) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            let socket = new_socket(a)?;
            socket.set_reuse_address(options.reuse_addr)?;
            if options.reuse_port {
                socket.set_reuse_port(true)?;
            }
            socket.bind(&SockAddr::from(*a))?;
            socket.listen(options.backlog)?;
            Ok(TcpListener::from_listening(socket))
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    /// A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (a, b) = weft::fiber::both(
    ///         || l.accept().unwrap(),
    ///         || weft::net::TcpStream::connect(addr).unwrap(),
    ///     );
    ///     assert_eq!(a.1, b.local_addr().unwrap());
    /// });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = ops::accept(&self.source)?;
        Ok((
            TcpStream {
                source: IoSource::new_nonblocking(fd),
            },
            ops::to_std_addr(&addr)?,
        ))
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     assert!(l.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_std_addr(&SockRef::from(&self.source).local_addr()?)
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     l.set_ttl(64).unwrap();
    ///     assert_eq!(l.ttl().unwrap(), 64);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        SockRef::from(&self.source).set_ttl_v4(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     assert!(l.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        SockRef::from(&self.source).ttl_v4()
    }

    /// Wraps a listening `std::net::TcpListener` (made non-blocking).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let l = weft::net::TcpListener::from_std(std_listener).unwrap();
    ///     let _ = l.local_addr().unwrap();
    /// });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            source: IoSource::new(OwnedFd::from(listener))?,
        })
    }

    /// Gives the socket back as a `std::net::TcpListener`, still in
    /// non-blocking mode (as tokio's `into_std` does): call
    /// `set_nonblocking(false)` before blocking on it.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let std_listener = l.into_std().unwrap();
    ///     assert_eq!(std_listener.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(std::net::TcpListener::from(self.source.into_fd()))
    }
}

impl TcpListener {
    /// Wraps a listening socket that is already non-blocking.
    pub(super) fn from_listening(socket: Socket) -> TcpListener {
        TcpListener {
            source: IoSource::new_nonblocking(OwnedFd::from(socket)),
        }
    }
}

impl TcpStream {
    /// Connects a socket that is already non-blocking (and maybe bound).
    #[track_caller]
    pub(super) fn connect_socket(socket: Socket, addr: SocketAddr) -> io::Result<TcpStream> {
        let source = IoSource::new_nonblocking(OwnedFd::from(socket));
        ops::connect(&source, &SockAddr::from(addr))?;
        Ok(TcpStream { source })
    }
}

fn new_socket(addr: &SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    Ok(socket)
}

/// A TCP connection. Implements `std::io::Read` and `Write` (also on
/// `&TcpStream`, so one fiber may read while another writes); blocking in
/// them suspends the fiber, never the thread.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use weft::net::{TcpListener, TcpStream};
///
/// weft::run(|_env| {
///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     weft::Switch::run(|sw| {
///         sw.fork(|| {
///             let (conn, _) = l.accept().unwrap();
///             let mut line = String::new();
///             BufReader::new(&conn).read_line(&mut line).unwrap();
///             (&conn).write_all(line.to_uppercase().as_bytes()).unwrap();
///         });
///         let c = TcpStream::connect(addr).unwrap();
///         (&c).write_all(b"shout\n").unwrap();
///         let mut reply = String::new();
///         BufReader::new(&c).read_line(&mut reply).unwrap();
///         assert_eq!(reply, "SHOUT\n");
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct TcpStream {
    source: IoSource,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn. A
    /// cancellation point (a cancelled connect closes the socket).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     // Nothing listens on port 1 of the loopback: refused.
    ///     let err = weft::net::TcpStream::connect("127.0.0.1:1").unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    #[track_caller]
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, |a| TcpStream::connect_socket(new_socket(a)?, *a))
    }

    /// Like [`TcpStream::connect`] for one address, giving up after
    /// `timeout` with `ErrorKind::TimedOut`.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = weft::net::TcpStream::connect_timeout(&l.local_addr().unwrap(), Duration::from_secs(5));
    ///     assert!(s.is_ok());
    /// });
    /// ```
    #[track_caller]
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        crate::time::timeout(timeout, || TcpStream::connect(*addr))
            .map_err(io::Error::from)
            .and_then(|r| r)
    }

    /// The peer's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let c = weft::net::TcpStream::connect(addr).unwrap();
    ///     assert_eq!(c.peer_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ops::to_std_addr(&SockRef::from(&self.source).peer_addr()?)
    }

    /// This end's address.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert!(c.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_std_addr(&SockRef::from(&self.source).local_addr()?)
    }

    /// Splits the stream into an owned reader and writer (tokio's
    /// `into_split`), which may go to different fibers or threads.
    /// Dropping the writer shuts down the write direction.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (s, (mut peer, _)) = weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (_r, mut w) = s.into_split();
    ///     w.write_all(b"hi").unwrap();
    ///     drop(w);
    ///     let mut got = String::new();
    ///     peer.read_to_string(&mut got).unwrap();
    ///     assert_eq!(got, "hi");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::into_split(self, TcpStream::shutdown)
    }

    /// Borrowed halves for a reader and a writer in two fibers of one
    /// scope (tokio's `split`): no allocation, nothing shut down on drop.
    /// For halves that must outlive the borrow, use
    /// [`into_split`](TcpStream::into_split).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let (mut c, (mut s, _)) =
    ///         weft::fiber::both(|| weft::net::TcpStream::connect(addr).unwrap(), || l.accept().unwrap());
    ///     let (mut rd, mut wr) = s.split();
    ///     // An echo in one fiber, the client in another.
    ///     let (_, echoed) = weft::fiber::both(
    ///         || {
    ///             std::io::copy(&mut rd, &mut wr).unwrap();
    ///             wr.shutdown(std::net::Shutdown::Write).unwrap();
    ///         },
    ///         || {
    ///             c.write_all(b"hello").unwrap();
    ///             c.shutdown(std::net::Shutdown::Write).unwrap();
    ///             let mut back = String::new();
    ///             c.read_to_string(&mut back).unwrap();
    ///             back
    ///         },
    ///     );
    ///     assert_eq!(echoed, "hello");
    /// });
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        super::borrowed_split::split(self)
    }

    /// Shuts down the read, write or both halves (`shutdown(Write)` sends
    /// FIN: the peer reads end-of-file).
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (mut s, _) = l.accept().unwrap();
    ///     c.shutdown(Shutdown::Write).unwrap();
    ///     let mut rest = vec![];
    ///     assert_eq!(s.read_to_end(&mut rest).unwrap(), 0);
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        ops::shutdown(&self.source, how)
    }

    /// `TCP_NODELAY`: send small writes at once (no Nagle delay).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     c.set_nodelay(true).unwrap();
    ///     assert!(c.nodelay().unwrap());
    /// });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        SockRef::from(&self.source).set_tcp_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert!(!c.nodelay().unwrap());
    /// });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        SockRef::from(&self.source).tcp_nodelay()
    }

    /// `SO_KEEPALIVE` with the idle time before the first probe (`None`
    /// turns keep-alive off).
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     c.set_keepalive(Some(Duration::from_secs(60))).unwrap();
    ///     assert!(c.keepalive().unwrap());
    /// });
    /// ```
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let sock = SockRef::from(&self.source);
        match idle {
            None => sock.set_keepalive(false),
            Some(t) => sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(t)),
        }
    }

    /// Whether `SO_KEEPALIVE` is on.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert!(!c.keepalive().unwrap());
    /// });
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(&self.source).keepalive()
    }

    /// `SO_LINGER`: `Some(Duration::ZERO)` makes close send a reset.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     c.set_linger(Some(Duration::ZERO)).unwrap();
    ///     assert_eq!(c.linger().unwrap(), Some(Duration::ZERO));
    /// });
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(&self.source).set_linger(linger)
    }

    /// `SO_LINGER`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert_eq!(c.linger().unwrap(), None);
    /// });
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(&self.source).linger()
    }

    /// Sets the kernel's receive and send buffer sizes (`SO_RCVBUF`,
    /// `SO_SNDBUF`); `None` leaves one unchanged.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     c.set_buffer_sizes(Some(64 * 1024), Some(64 * 1024)).unwrap();
    ///     assert!(c.buffer_sizes().unwrap().0 >= 64 * 1024);
    /// });
    /// ```
    pub fn set_buffer_sizes(&self, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
        crate::net::buffers::set(SockRef::from(&self.source), recv, send)
    }

    /// The kernel's (receive, send) buffer sizes.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (r, s) = c.buffer_sizes().unwrap();
    ///     assert!(r > 0 && s > 0);
    /// });
    /// ```
    pub fn buffer_sizes(&self) -> io::Result<(usize, usize)> {
        crate::net::buffers::get(SockRef::from(&self.source))
    }

    /// Reads without removing the data from the socket's queue.
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (s, _) = l.accept().unwrap();
    ///     c.write_all(b"x").unwrap();
    ///     let mut b = [0; 1];
    ///     assert_eq!(s.peek(&mut b).unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv(&self.source, buf, libc::MSG_PEEK)
    }

    /// Sends up to `len` bytes of `file`, starting at `offset`, without
    /// copying them through user space (`sendfile`, or on io_uring a
    /// splice through a pipe, with disk reads off this thread); returns
    /// how many were sent, fewer than `len` only at the end of the file.
    /// The file position is not used or moved. A cancelled fiber unwinds
    /// with a prefix of the range sent.
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-sf-{}", std::process::id()));
    ///     weft::fs::write(&path, "0123456789").unwrap();
    ///     let file = weft::fs::File::open(&path).unwrap();
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let client = weft::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let (server, _) = listener.accept().unwrap();
    ///     assert_eq!(server.send_file(&file, 2, 100).unwrap(), 8); // to the end
    ///     drop(server);
    ///     let mut got = String::new();
    ///     (&client).read_to_string(&mut got).unwrap();
    ///     assert_eq!(got, "23456789");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn send_file(&self, file: &crate::fs::File, offset: u64, len: u64) -> io::Result<u64> {
        ops::send_file(file.as_fd(), offset, len, &self.source)
    }

    /// Reads what is available now without waiting: `ErrorKind::WouldBlock`
    /// when nothing is (like tokio's `try_read`). For adapters that drive
    /// the socket from readiness events.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let mut b = [0; 4];
    ///     assert_eq!(c.try_read(&mut b).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::try_recv(&self.source, buf)
    }

    /// Writes what fits now without waiting: `ErrorKind::WouldBlock` when
    /// the send buffer is full.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert_eq!(c.try_write(b"hi").unwrap(), 2);
    /// });
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        ops::try_send(&self.source, buf)
    }

    /// Wraps a connected `std::net::TcpStream` (made non-blocking).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let s = weft::net::TcpStream::from_std(s).unwrap();
    ///     assert!(s.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            source: IoSource::new(OwnedFd::from(stream))?,
        })
    }

    /// Gives the socket back as a `std::net::TcpStream`, still in
    /// non-blocking mode (as tokio's `into_std` does): call
    /// `set_nonblocking(false)` before blocking on it.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let (s, (mut peer, _)) = weft::fiber::both(
    ///         || weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap(),
    ///         || l.accept().unwrap(),
    ///     );
    ///     let mut std_stream = s.into_std().unwrap();
    ///     std_stream.set_nonblocking(false).unwrap();
    ///     std_stream.write_all(b"plain std").unwrap();
    ///     let mut got = [0u8; 9];
    ///     peer.read_exact(&mut got).unwrap();
    ///     assert_eq!(&got, b"plain std");
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(std::net::TcpStream::from(self.source.into_fd()))
    }

    /// `IP_TTL`: the time-to-live of outgoing packets.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     c.set_ttl(42).unwrap();
    ///     assert_eq!(c.ttl().unwrap(), 42);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        SockRef::from(&self.source).set_ttl_v4(ttl)
    }

    /// The `IP_TTL` of outgoing packets.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert!(c.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        SockRef::from(&self.source).ttl_v4()
    }

    /// The pending socket error (`SO_ERROR`), cleared by reading it.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     assert!(c.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        SockRef::from(&self.source).take_error()
    }
}

impl TcpStream {
    /// See `__private::tcp_recv_waits_first`.
    pub(crate) fn recv_drained(&self) -> bool {
        self.source.recv_drained()
    }
}

impl Read for &TcpStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv_stream(&self.source, buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        ops::read_vectored(&self.source, bufs)
    }
}

impl Write for &TcpStream {
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

impl Read for TcpStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for TcpStream {
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

macro_rules! fd_impls {
    ($t:ty) => {
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
    };
}

fd_impls!(TcpListener);
fd_impls!(TcpStream);
