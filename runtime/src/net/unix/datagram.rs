//! [`UnixDatagram`]: a Unix datagram socket.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{SockAddr, SockRef, Type};

use super::{new_socket, pair, recv_with_fds, UnixListener, UnixStream};
use crate::backend::{ops, IoSource};

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
    pub(super) source: IoSource,
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
    /// [`TruncatedFds`](super::TruncatedFds), with the ones that arrived closed. A cancellation
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
