//! UDP: [`UdpSocket`], datagrams on fibers.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use super::addr::{each_addr, ToSocketAddrs};
use crate::backend::{ops, IoSource};

/// A UDP socket. Receiving suspends the calling fiber (not the thread)
/// until a datagram arrives; sending suspends it while the socket's send
/// buffer is full. All methods take `&self`, so several fibers may share
/// one socket.
///
/// ```
/// use weft::net::UdpSocket;
///
/// weft::run(|_env| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from, a.local_addr().unwrap());
/// });
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    source: IoSource,
}

impl UdpSocket {
    /// Creates a socket bound to `addr` (tries each resolved address in
    /// turn). Port 0 picks a free port.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    ///     assert_ne!(s.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| {
            let socket = Socket::new(
                Domain::for_address(*a),
                Type::DGRAM.nonblocking().cloexec(),
                Some(Protocol::UDP),
            )?;
            socket.bind(&SockAddr::from(*a))?;
            Ok(UdpSocket {
                source: IoSource::new_nonblocking(OwnedFd::from(socket)),
            })
        })
    }

    /// Wraps a `std::net::UdpSocket` (made non-blocking).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let s = weft::net::UdpSocket::from_std(std_socket).unwrap();
    ///     assert!(s.local_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            source: IoSource::new(OwnedFd::from(socket))?,
        })
    }

    /// The address this socket is bound to.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(s.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_std_addr(&SockRef::from(&self.source).local_addr()?)
    }

    /// The address this socket is connected to (`NotConnected` if none).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(a.peer_addr().is_err());
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.connect(b.local_addr().unwrap()).unwrap();
    ///     assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ops::to_std_addr(&SockRef::from(&self.source).peer_addr()?)
    }

    /// Sets the default destination for [`UdpSocket::send`] and accepts
    /// datagrams only from it (tries each resolved address in turn).
    /// Sends no packet; it never waits for the network.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.connect(b.local_addr().unwrap()).unwrap();
    ///     a.send(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     assert_eq!(b.recv(&mut buf).unwrap(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| ops::connect(&self.source, &SockAddr::from(*a)))
    }

    /// Sends one datagram to the connected peer. Waits while the send
    /// buffer is full. A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     // Not connected: send has no destination.
    ///     assert!(a.send(b"x").is_err());
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        ops::send(&self.source, buf)
    }

    /// Receives one datagram from the connected peer (or from anyone, if
    /// not connected). Bytes beyond `buf.len()` are discarded. A
    /// cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.send_to(b"hello", b.local_addr().unwrap()).unwrap();
    ///     let mut small = [0; 2];
    ///     assert_eq!(b.recv(&mut small).unwrap(), 2); // truncated datagram
    ///     assert_eq!(&small, b"he");
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv(&self.source, buf, 0)
    }

    /// Sends one datagram to `target` (its first resolved address). A
    /// cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let port = b.local_addr().unwrap().port();
    ///     assert_eq!(a.send_to(b"abc", ("127.0.0.1", port)).unwrap(), 3);
    /// });
    /// ```
    #[track_caller]
    pub fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let addrs = target.to_socket_addrs()?;
        let first = addrs.first().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolved to nothing",
            )
        })?;
        ops::send_to(&self.source, buf, &SockAddr::from(*first))
    }

    /// Receives one datagram and the address it came from. A cancellation
    /// point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.send_to(b"x", b.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 8];
    ///     let (n, from) = b.recv_from(&mut buf).unwrap();
    ///     assert_eq!((n, from), (1, a.local_addr().unwrap()));
    /// });
    /// ```
    #[track_caller]
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = ops::recv_from(&self.source, buf, 0)?;
        Ok((n, ops::to_std_addr(&addr)?))
    }

    /// Like [`UdpSocket::recv`], leaving the datagram queued.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.send_to(b"once", b.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.peek(&mut buf).unwrap(), 4);
    ///     assert_eq!(b.recv(&mut buf).unwrap(), 4); // still there
    /// });
    /// ```
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::recv(&self.source, buf, libc::MSG_PEEK)
    }

    /// Like [`UdpSocket::recv_from`], leaving the datagram queued.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.send_to(b"x", b.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 1];
    ///     let (_, from) = b.peek_from(&mut buf).unwrap();
    ///     assert_eq!(from, a.local_addr().unwrap());
    ///     assert_eq!(b.recv_from(&mut buf).unwrap().1, from);
    /// });
    /// ```
    #[track_caller]
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = ops::recv_from(&self.source, buf, libc::MSG_PEEK)?;
        Ok((n, ops::to_std_addr(&addr)?))
    }

    /// `SO_BROADCAST`: allows sending to broadcast addresses.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_broadcast(true).unwrap();
    ///     assert!(s.broadcast().unwrap());
    /// });
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        SockRef::from(&self.source).set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(!s.broadcast().unwrap());
    /// });
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        SockRef::from(&self.source).broadcast()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with
    /// address `interface` (`Ipv4Addr::UNSPECIFIED`: the kernel chooses).
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    ///     let group = Ipv4Addr::new(239, 255, 0, 7);
    ///     s.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
    ///     s.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
    /// });
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        SockRef::from(&self.source).join_multicast_v4(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`UdpSocket::join_multicast_v4`].
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    ///     let group = Ipv4Addr::new(239, 255, 0, 8);
    ///     // Leaving a group never joined is an error.
    ///     assert!(s.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_err());
    /// });
    /// ```
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        SockRef::from(&self.source).leave_multicast_v4(multiaddr, interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface with
    /// index `interface` (0: the kernel chooses).
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("[::]:0").unwrap();
    ///     let group: Ipv6Addr = "ff01::7".parse().unwrap(); // interface-local
    ///     let lo = 1; // the loopback interface's index on Linux
    ///     s.join_multicast_v6(&group, lo).unwrap();
    ///     s.leave_multicast_v6(&group, lo).unwrap();
    /// });
    /// ```
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        SockRef::from(&self.source).join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`UdpSocket::join_multicast_v6`].
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("[::]:0").unwrap();
    ///     let group: Ipv6Addr = "ff01::8".parse().unwrap();
    ///     assert!(s.leave_multicast_v6(&group, 1).is_err()); // never joined
    /// });
    /// ```
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        SockRef::from(&self.source).leave_multicast_v6(multiaddr, interface)
    }

    /// `IP_MULTICAST_IF`: the interface (by address) outgoing IPv4
    /// multicast datagrams leave from.
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    ///     assert_eq!(s.multicast_if_v4().unwrap(), Ipv4Addr::LOCALHOST);
    /// });
    /// ```
    pub fn set_multicast_if_v4(&self, interface: &Ipv4Addr) -> io::Result<()> {
        SockRef::from(&self.source).set_multicast_if_v4(interface)
    }

    /// `IP_MULTICAST_IF`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(s.multicast_if_v4().unwrap().is_unspecified());
    /// });
    /// ```
    pub fn multicast_if_v4(&self) -> io::Result<Ipv4Addr> {
        SockRef::from(&self.source).multicast_if_v4()
    }

    /// `IP_MULTICAST_LOOP`: whether this host's own members of a group
    /// receive what the socket sends to it (default on).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_multicast_loop_v4(false).unwrap();
    ///     assert!(!s.multicast_loop_v4().unwrap());
    /// });
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        SockRef::from(&self.source).set_multicast_loop_v4(on)
    }

    /// `IP_MULTICAST_LOOP`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(s.multicast_loop_v4().unwrap());
    /// });
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        SockRef::from(&self.source).multicast_loop_v4()
    }

    /// `IP_MULTICAST_TTL`: how many hops IPv4 multicast datagrams may
    /// travel (default 1: this network only).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_multicast_ttl_v4(2).unwrap();
    ///     assert_eq!(s.multicast_ttl_v4().unwrap(), 2);
    /// });
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        SockRef::from(&self.source).set_multicast_ttl_v4(ttl)
    }

    /// `IP_MULTICAST_TTL`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert_eq!(s.multicast_ttl_v4().unwrap(), 1);
    /// });
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        SockRef::from(&self.source).multicast_ttl_v4()
    }

    /// `IPV6_MULTICAST_LOOP` (default on).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("[::1]:0").unwrap();
    ///     s.set_multicast_loop_v6(false).unwrap();
    ///     assert!(!s.multicast_loop_v6().unwrap());
    /// });
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        SockRef::from(&self.source).set_multicast_loop_v6(on)
    }

    /// `IPV6_MULTICAST_LOOP`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("[::1]:0").unwrap();
    ///     assert!(s.multicast_loop_v6().unwrap());
    /// });
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        SockRef::from(&self.source).multicast_loop_v6()
    }

    /// Sets `IP_TTL` (IPv4) for unicast datagrams.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_ttl(17).unwrap();
    ///     assert_eq!(s.ttl().unwrap(), 17);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        SockRef::from(&self.source).set_ttl_v4(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(s.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        SockRef::from(&self.source).ttl_v4()
    }

    /// Sets the kernel's receive and send buffer sizes (`SO_RCVBUF`,
    /// `SO_SNDBUF`); `None` leaves one unchanged.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_buffer_sizes(Some(256 * 1024), None).unwrap();
    ///     assert!(s.buffer_sizes().unwrap().0 >= 256 * 1024);
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
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let (r, w) = s.buffer_sizes().unwrap();
    ///     assert!(r > 0 && w > 0);
    /// });
    /// ```
    pub fn buffer_sizes(&self) -> io::Result<(usize, usize)> {
        let sock = SockRef::from(&self.source);
        Ok((sock.recv_buffer_size()?, sock.send_buffer_size()?))
    }

    /// Takes the pending socket error (`SO_ERROR`), such as a connection
    /// refusal reported by ICMP for a connected socket.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(s.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        SockRef::from(&self.source).take_error()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.source.as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.source.as_raw_fd()
    }
}
