//! [`TcpSocket`]: a TCP socket configured before it connects or listens
//! (tokio's `TcpSocket`), for the options that must be set first: the
//! local address of an outgoing connection, `SO_REUSEPORT`, buffer sizes.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{TcpListener, TcpStream};
use crate::backend::ops;

/// A TCP socket that has not connected or listened yet. Set options,
/// maybe [`bind`](TcpSocket::bind), then turn it into a stream with
/// [`connect`](TcpSocket::connect) (suspends the fiber until connected)
/// or into a listener with [`listen`](TcpSocket::listen).
///
/// ```
/// use std::io::{Read, Write};
/// use weft::net::TcpSocket;
///
/// weft::run(|_env| {
///     let server = TcpSocket::new_v4().unwrap();
///     server.set_reuseaddr(true).unwrap();
///     server.bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let listener = server.listen(128).unwrap();
///     let addr = listener.local_addr().unwrap();
///     let (mut client, (mut conn, _)) = weft::fiber::both(
///         || TcpSocket::new_v4().unwrap().connect(addr).unwrap(),
///         || listener.accept().unwrap(),
///     );
///     client.write_all(b"hi").unwrap();
///     let mut got = [0u8; 2];
///     conn.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"hi");
/// });
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    socket: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (non-blocking, close-on-exec).
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// assert!(!s.reuseaddr().unwrap());
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket (non-blocking, close-on-exec).
    ///
    /// ```
    /// // Fails only where the system has no IPv6 at all.
    /// if let Ok(s) = weft::net::TcpSocket::new_v6() {
    ///     s.set_nodelay(true).unwrap();
    /// }
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let socket = Socket::new(
            domain,
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )?;
        Ok(TcpSocket { socket })
    }

    /// `SO_REUSEADDR`: bind to an address in `TIME_WAIT` (off by default).
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.set_reuseaddr(true).unwrap();
    /// assert!(s.reuseaddr().unwrap());
    /// ```
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.socket.set_reuse_address(reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// ```
    /// assert!(!weft::net::TcpSocket::new_v4().unwrap().reuseaddr().unwrap());
    /// ```
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.socket.reuse_address()
    }

    /// `SO_REUSEPORT`: several sockets may listen on one port, and the
    /// kernel spreads connections over them.
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.set_reuseport(true).unwrap();
    /// assert!(s.reuseport().unwrap());
    /// ```
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.socket.set_reuse_port(reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// ```
    /// assert!(!weft::net::TcpSocket::new_v4().unwrap().reuseport().unwrap());
    /// ```
    pub fn reuseport(&self) -> io::Result<bool> {
        self.socket.reuse_port()
    }

    /// `SO_SNDBUF`: the send buffer size to ask for (Linux doubles it and
    /// caps it at `net.core.wmem_max`).
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.set_send_buffer_size(64 * 1024).unwrap();
    /// assert!(s.send_buffer_size().unwrap() >= 64 * 1024);
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.socket.set_send_buffer_size(size as usize)
    }

    /// The send buffer size the kernel uses.
    ///
    /// ```
    /// assert!(weft::net::TcpSocket::new_v4().unwrap().send_buffer_size().unwrap() > 0);
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.socket.send_buffer_size().map(saturate)
    }

    /// `SO_RCVBUF`: the receive buffer size to ask for (Linux doubles it
    /// and caps it at `net.core.rmem_max`).
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.set_recv_buffer_size(64 * 1024).unwrap();
    /// assert!(s.recv_buffer_size().unwrap() >= 64 * 1024);
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.socket.set_recv_buffer_size(size as usize)
    }

    /// The receive buffer size the kernel uses.
    ///
    /// ```
    /// assert!(weft::net::TcpSocket::new_v4().unwrap().recv_buffer_size().unwrap() > 0);
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.socket.recv_buffer_size().map(saturate)
    }

    /// `SO_LINGER`: `Some(t)` makes closing wait up to `t` for unsent
    /// data (`Some(ZERO)` resets the connection on close instead).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.set_linger(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(s.linger().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.socket.set_linger(dur)
    }

    /// The `SO_LINGER` setting.
    ///
    /// ```
    /// assert_eq!(weft::net::TcpSocket::new_v4().unwrap().linger().unwrap(), None);
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.socket.linger()
    }

    /// `SO_KEEPALIVE` with the system's probe timing.
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.set_keepalive(true).unwrap();
    /// assert!(s.keepalive().unwrap());
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.socket.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// ```
    /// assert!(!weft::net::TcpSocket::new_v4().unwrap().keepalive().unwrap());
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        self.socket.keepalive()
    }

    /// `TCP_NODELAY`: send small writes at once (no Nagle delay); the
    /// connected stream keeps it.
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.set_nodelay(true).unwrap();
    /// assert!(s.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// assert!(!weft::net::TcpSocket::new_v4().unwrap().nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.socket.tcp_nodelay()
    }

    /// Binds the socket to a local address: for a listener its address,
    /// for an outgoing connection the address (and port) it leaves from.
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().port() != 0);
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.socket.bind(&SockAddr::from(addr))
    }

    /// The local address (after [`bind`](TcpSocket::bind)).
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_std_addr(&self.socket.local_addr()?)
    }

    /// The pending socket error (`SO_ERROR`), cleared by reading it.
    ///
    /// ```
    /// assert!(weft::net::TcpSocket::new_v4().unwrap().take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.take_error()
    }

    /// Connects to `addr`, suspending the fiber (not the thread) until the
    /// connection is made or fails. Cancelling the fiber closes the socket.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = weft::net::TcpSocket::new_v4().unwrap();
    ///     s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let from = s.local_addr().unwrap();
    ///     let (_stream, (_conn, peer)) = weft::fiber::both(
    ///         || s.connect(l.local_addr().unwrap()).unwrap(),
    ///         || l.accept().unwrap(),
    ///     );
    ///     assert_eq!(peer, from, "the connection leaves from the bound address");
    /// });
    /// ```
    #[track_caller]
    pub fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_socket(self.socket, addr)
    }

    /// Starts listening, with room for `backlog` connections waiting to be
    /// accepted (capped at `net.core.somaxconn`).
    ///
    /// ```
    /// let s = weft::net::TcpSocket::new_v4().unwrap();
    /// s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let l = s.listen(64).unwrap();
    /// assert!(l.local_addr().unwrap().port() != 0);
    /// ```
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.socket.listen(backlog)?;
        Ok(TcpListener::from_listening(self.socket))
    }

    /// Takes over a connected `std` stream's socket (made non-blocking),
    /// e.g. to read its options.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_stream = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s = weft::net::TcpSocket::from_std_stream(std_stream);
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        let socket = Socket::from(stream);
        // fcntl(F_SETFL) fails only on a closed descriptor, and an owned
        // stream's is open: the result carries no information.
        let _ = socket.set_nonblocking(true);
        TcpSocket { socket }
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.socket.into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// # Safety
    ///
    /// `fd` must be an open TCP socket that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        // SAFETY: the caller hands over ownership of an open socket.
        let socket = Socket::from(unsafe { OwnedFd::from_raw_fd(fd) });
        // Fails only on a closed descriptor, which the contract excludes.
        let _ = socket.set_nonblocking(true);
        TcpSocket { socket }
    }
}
